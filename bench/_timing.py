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


def _cpu(cmd: list[str]) -> float:
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def best_cpu(cmd: list[str], repeat: int = 5) -> float:
    """Least CPU time (user + system, seconds) of `repeat` runs of a command as a child process: unlike wall time,
    what another process's load on a shared machine barely moves."""
    return min(_cpu(cmd) for _ in range(repeat))


def best_cpu_pair(first: list[str], second: list[str], repeat: int = 15) -> tuple[float, float]:
    """Least CPU time of each of two commands, their runs interleaved: a virtual machine's CPU speed drifts by
    tens of percent between seconds, and alternating puts both under the same drift."""
    a, b = [], []
    for _ in range(repeat):
        a.append(_cpu(first))
        b.append(_cpu(second))
    return min(a), min(b)


def best_command(cmd: list[str], repeat: int = 5) -> float:
    return best(lambda: subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), repeat)
