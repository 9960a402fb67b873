"""Pod start to engine exec, for the part that runs on this machine: the serving pod's init container, i.e. the
aimgen bundle as the engine image runs it (`python3 /opt/aimgen/aimgen.pyz cache prefetch MODEL --revision main`),
with a cold and a warm model cache, against the fake Hub (its own process, 127.0.0.1).

    .venv/bin/python bench/podstart.py        (AIMGEN_BENCH_FILE_MB, default 64: size of each of the 4 shards)

Not measured, and why: image pull, volume attach, and the engine's own start (weights load; torch.compile,
Triton and AITER JIT, which the compile caches on the volume save; docs/cache.md "Warm restarts"). Those need the
ROCm engine image on an AMD Instinct node; this machine has no AMD GPU and cannot run the engine image, so any
number for them here would be invented.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "generator"))

from cache import MODEL, _serve  # noqa: E402 (bench/cache.py: the fake Hub in a child process)

SHARDS = 4


def _init_container(bundle: Path, cache: Path, url: str, revision: str = "main") -> float:
    """Seconds from the container's process start to its exit (then the kubelet starts the engine)."""
    env = {**os.environ, "HF_ENDPOINT": url, "AIMGEN_LOG_FORMAT": "json", "HF_HUB_DISABLE_TELEMETRY": "1"}
    start = time.perf_counter()
    subprocess.run([sys.executable, str(bundle), "cache", "prefetch", MODEL, "--revision", revision, "--cache-dir",
                    str(cache)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def main() -> None:
    from aimgen import podbundle

    file_mb = int(os.environ.get("AIMGEN_BENCH_FILE_MB", "64"))
    queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=_serve, args=(file_mb, SHARDS, queue), daemon=True)
    server.start()
    url, commit, _ = queue.get(timeout=120)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            bundle = Path(tmp) / podbundle.CONFIGMAP_KEY
            bundle.write_bytes(podbundle.build())
            cold = _init_container(bundle, Path(tmp) / "cache", url)
            warm = min(_init_container(bundle, Path(tmp) / "cache", url) for _ in range(5))
            pinned = min(_init_container(bundle, Path(tmp) / "cache", url, commit) for _ in range(5))
    finally:
        server.terminate()
    print(f"pod start to engine exec, init container only ({SHARDS} x {file_mb} MB, fake Hub on loopback):")
    print(f"  cold cache (download, hash, publish)   {cold:8.2f} s")
    print(f"  warm cache (one API call, stat only)   {warm:8.2f} s   (best of 5)")
    print(f"  warm cache, pinned commit (no network) {pinned:8.2f} s   (best of 5)")
    print("  engine start (weights, JIT/compile caches): not measurable here, no AMD GPU (see bench/podstart.py)")


if __name__ == "__main__":
    main()
