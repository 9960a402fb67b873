"""How long, how big: the sizing policy of a serving pod (startup allowance, shared memory, alert grace). Pure
numbers from a decided shape; aimgen.compose writes them into the spec, renderers and the chart only place them."""

from __future__ import annotations

import math

from aimgen.constants import GIB

# Startup allowance: kernel JIT/graph capture take minutes on a cold node; weights load at >= 256 MiB/s from a PVC.
STARTUP_BASE_SECONDS = 600
STARTUP_SECONDS_PER_GIB = 4
SHM_GIB_PER_GPU = 8
SHM_MAX_GIB = 64
# A cold node pulls weights at a few hundred MiB/s; the startup probe's allowance covers load and compile.
DOWNLOAD_BYTES_PER_SECOND = 200 * 2**20
GRACE_MARGIN_MINUTES = 10


def startup_failure_threshold(weights_bytes: int, period_seconds: int) -> int:
    seconds = STARTUP_BASE_SECONDS + STARTUP_SECONDS_PER_GIB * weights_bytes / GIB
    return max(30, math.ceil(seconds / period_seconds))


def shm_size(gpus: int) -> str:
    return f"{min(SHM_MAX_GIB, SHM_GIB_PER_GPU * gpus)}Gi"


def cache_gib(cache_bytes: int) -> int:
    return max(1, math.ceil(cache_bytes / GIB))


def startup_grace_minutes(services) -> int:
    """How long a deployment may have no available replica before it is an alert: the slowest model's
    download plus its startup-probe allowance, plus a margin, rounded up to 5 minutes."""
    worst = max(
        (s.weights_bytes / DOWNLOAD_BYTES_PER_SECOND + s.probes.startup_failure_threshold * s.probes.period_seconds
         for s in services),
        default=0,
    )
    minutes = math.ceil(worst / 60) + GRACE_MARGIN_MINUTES
    return max(15, 5 * math.ceil(minutes / 5))
