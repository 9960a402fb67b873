"""One prefetch run as a process runs it: SIGTERM unwinds cleanly, file-system failures are one line, and the
outcome is logged once. Shared by `aimgen cache prefetch` and the pod entry point (aimgen.podmain), so the aimgen
image and the bundle an engine image runs behave the same."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from pathlib import Path

from aimgen.cache.fsutil import human_bytes, os_problem
from aimgen.cache.fetch import prefetch
from aimgen.cache.prefetch import PrefetchOptions, PrefetchResult
from aimgen.console import console


@contextmanager
def released_on_sigterm():
    """Kubernetes stops a pod with SIGTERM: unwind normally so leases are released at once (the partial file stays
    for whoever resumes) instead of making the other pods wait a lease ttl."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        console.warning("stopping on SIGTERM; leases released, partial files kept for a resume",
                        event="cache.terminated")
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def cache_io(root: Path):
    """A read-only, full or foreign-owned volume is the environment's problem (exit 4, one line), not a crash."""
    try:
        yield
    except OSError as exc:
        raise os_problem(exc, root) from None


def run_prefetch(options: PrefetchOptions) -> PrefetchResult:
    with released_on_sigterm(), cache_io(Path(options.cache_dir)):
        result = prefetch(options)
    rate = result.downloaded_bytes / result.elapsed_s if result.elapsed_s > 0 else 0
    how = "warm: already complete" if result.warm else f"fetched {human_bytes(result.downloaded_bytes)}"
    console.info(f"{result.model_id}@{result.commit[:12]} ready ({how}; {result.files} files, "
                 f"{human_bytes(result.total_bytes)}, {result.elapsed_s:.2f}s)", event="cache.ready",
                 model=result.model_id, revision=result.revision, commit=result.commit, warm=result.warm,
                 files=result.files, total_bytes=result.total_bytes, downloaded_bytes=result.downloaded_bytes,
                 elapsed_s=round(result.elapsed_s, 3), rate_bytes_per_s=int(rate))
    return result
