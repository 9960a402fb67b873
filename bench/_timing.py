"""Timing helpers shared by the benchmarks (scripts/bench.py skips files starting with '_')."""

from __future__ import annotations

import subprocess
import time
from typing import Callable


def best(fn: Callable[[], object], repeat: int = 5) -> float:
    """Fastest of `repeat` runs, in seconds: the least disturbed by other load on a shared machine."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def best_command(cmd: list[str], repeat: int = 5) -> float:
    return best(lambda: subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), repeat)
