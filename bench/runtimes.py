"""Runtimes benchmark: the engine-config check and the launcher's planning, next to what they replace.

    .venv/bin/python bench/runtimes.py

1. check_engine_config on one profile: the first call (reads and indexes the ~300 KB snapshot) and a warm
   call (cached), per call.
2. Checking every shipped recipe profile with the snapshot, next to parsing them with the real vLLM parser
   (`make test-engines`, minutes: it installs vLLM) — the reason rendering uses the snapshot.
3. `aimgen launch --dry-run` as a cold process on the recorded MI300X x8 node: detection (fake amd-smi),
   matching, profile, argv.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def _per_call(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def main() -> None:
    from aimgen.runtimes import snapshot
    from aimgen.runtimes.flags import check_engine_config
    from aimgen.runtimes.registry import get_runtime, runtime_for_backend

    vllm = get_runtime("vllm-rocm")
    args = {"max-model-len": 32768, "gpu-memory-utilization": 0.9, "kv-cache-dtype": "fp8", "tensor-parallel-size": 8}
    env = {"VLLM_ROCM_USE_AITER": "1", "HSA_NO_SCRATCH_RECLAIM": "1"}
    snapshot._load.cache_clear()
    start = time.perf_counter()
    check_engine_config(vllm, args, env, file="bench", path="p")
    cold = time.perf_counter() - start
    warm = _per_call(lambda: check_engine_config(vllm, args, env, file="bench", path="p"), 2000)
    print(f"  check one profile: first call {cold * 1e3:.1f} ms (loads the snapshot) | warm {warm * 1e6:.0f} µs")

    profiles = []
    for path in sorted((ROOT / "recipes" / "models").glob("*.yaml")):
        profiles += (yaml.safe_load(path.read_text()) or {}).get("profiles") or []
    start = time.perf_counter()
    for p in profiles:
        check_engine_config(runtime_for_backend(p.get("backend", "vllm")), p.get("args") or {}, p.get("env") or {},
                            file="bench", path="p")
    print(f"  check all {len(profiles)} shipped profiles: {(time.perf_counter() - start) * 1e3:.1f} ms "
          f"| real parser in make test-engines: minutes (installs the engines)")

    from launch_support import RECIPES, replay_env

    with tempfile.TemporaryDirectory() as tmp:
        env = replay_env("mi300x-x8", Path(tmp) / "bin")
        aimgen = str(ROOT / ".venv" / "bin" / "aimgen")
        times = []
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run([aimgen, "launch", "--recipes", str(RECIPES), "--dry-run"], env=env, check=True,
                           capture_output=True)
            times.append(time.perf_counter() - start)
    print(f"  aimgen launch --dry-run (cold process, MI300X x8 replay): best of 3 {min(times) * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
