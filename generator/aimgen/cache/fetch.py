"""`aimgen cache prefetch`: one entry for every source. The sources build on aimgen.cache.prefetch (the Hub and
the shared steps: warm hits, space checks, records); none imports this module, so the cache has no cycle."""

from __future__ import annotations

import time
from pathlib import Path

from aimgen.cache.layout import CacheLayout
from aimgen.cache.prefetch import PrefetchOptions, PrefetchResult, prefetch as prefetch_hub
from aimgen.cache.source_local import prefetch_local


def prefetch(opts: PrefetchOptions) -> PrefetchResult:
    if opts.source == "local":
        opts.validate()
        return prefetch_local(opts, CacheLayout(Path(opts.cache_dir)), time.monotonic())
    return prefetch_hub(opts)
