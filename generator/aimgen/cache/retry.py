"""Retries with exponential backoff and jitter.

Jitter matters here: N pods starting together and failing together must not retry in lockstep against the Hub.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

BACKOFF_BASE_ENV = "AIMGEN_CACHE_BACKOFF_BASE"  # tests only: a shorter first delay


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 5  # attempts after the first, counted only while no byte arrives
    base: float = 1.0  # first delay, seconds
    cap: float = 30.0  # longest delay, seconds

    @classmethod
    def from_env(cls, retries: int) -> RetryPolicy:
        base = float(os.environ.get(BACKOFF_BASE_ENV) or 1.0)
        return cls(retries=retries, base=base, cap=max(base, 30.0 if base >= 1.0 else base * 8))

    def delay(self, failures: int, rng: random.Random | None = None, retry_after: float | None = None) -> float:
        """Delay before retry number `failures` (1-based): "equal jitter", between half and all of base*2^(n-1),
        capped; a server's Retry-After wins when it asks for longer."""
        ceiling = min(self.cap, self.base * (2 ** max(0, failures - 1)))
        value = ceiling / 2 + (rng or random).uniform(0, ceiling / 2)
        if retry_after is not None:
            value = max(value, min(retry_after, 300.0))
        return value
