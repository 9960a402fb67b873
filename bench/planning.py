"""Planning time per catalog model (µs, in-process) next to `aimgen --version` cold start: planning should be noise."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AIMGEN = ROOT / ".venv" / "bin" / "aimgen"
RUNS = 20


def _median_s(fn, runs: int) -> float:
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def main() -> None:
    sys.path.insert(0, str(ROOT / "generator"))
    from aimgen.catalog.gpus import load_gpus
    from aimgen.catalog.models import load_models
    from aimgen.catalog.nodepool import default_pool
    from aimgen.errors import AimgenError
    from aimgen.planning import plan

    startup = _median_s(lambda: subprocess.run([str(AIMGEN), "--version"], check=True, stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL), 5)
    print(f"  aimgen --version (cold CLI start)   {startup * 1e6:12,.0f} µs")
    pool = default_pool(load_gpus()["mi300x"])
    times = []
    for model in load_models().values():
        def one(model=model):
            try:
                plan(model, pool, metric="throughput")
            except AimgenError:
                pass
        one()  # warm the catalog caches
        t = _median_s(one, RUNS)
        times.append(t)
        print(f"  plan {model.id:<40} {t * 1e6:10,.0f} µs   {startup / t:7.0f}x faster than CLI start")
    worst = max(times)
    print(f"  slowest plan / CLI start-up          {worst / startup:12.3%}")


if __name__ == "__main__":
    main()
