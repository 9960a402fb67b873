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


def best_cpu(cmd: list[str], repeat: int = 5) -> float:
    """Least CPU time (user + system, seconds) of `repeat` runs of a command as a child process: unlike wall time,
    what another process's load on a shared machine barely moves."""
    import resource

    times = []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        times.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(times)


def best_command(cmd: list[str], repeat: int = 5) -> float:
    return best(lambda: subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), repeat)
