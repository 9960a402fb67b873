"""The usage index: per (model, commit) its size, the revisions it was asked by, first fetch, last use and hits.

One JSON file, rewritten atomically under a short lease. It is advisory (prune and list use it; the warm path does
not depend on it): when the lease cannot be had within a moment, or the volume is read-only, the update is skipped
rather than delaying a pod's start.
"""

from __future__ import annotations

import calendar
import errno
import time
from collections.abc import Callable

from aimgen.cache.fsutil import atomic_write_json, read_json
from aimgen.cache.layout import CacheLayout
from aimgen.cache.lease import LeaseKeeper
from aimgen.cache.record import Record, now_iso
from aimgen.console import console

FORMAT = 1
INDEX_LEASE_TTL = 10.0
INDEX_WAIT = 3.0


def key(model_id: str, commit: str) -> str:
    return f"{model_id}@{commit}"


def read_index(layout: CacheLayout) -> dict:
    data = read_json(layout.index)
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("entries"), dict):
        return {"format": FORMAT, "entries": {}}
    return data


def update_index(layout: CacheLayout, mutate: Callable[[dict], None], *, wait: float = INDEX_WAIT) -> bool:
    try:
        keeper = LeaseKeeper(layout.leases, ttl=INDEX_LEASE_TTL, stale_after_wall=6 * INDEX_LEASE_TTL)
        lease = keeper.acquire("index", wait=wait)
    except OSError as exc:
        return _skip(exc)
    if lease is None:
        console.warning("cache index is busy; usage not recorded this time", event="cache.index_busy")
        return False
    try:
        data = read_index(layout)
        mutate(data)
        atomic_write_json(layout.index, data, durable=False)
        return True
    except OSError as exc:
        return _skip(exc)
    finally:
        keeper.release(lease)
        keeper.close()


def _skip(exc: OSError) -> bool:
    if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
        console.warning(f"cache index not updated: {exc}", event="cache.index_error")
    return False


def note_use(layout: CacheLayout, record: Record, revision: str, *, hit: bool) -> bool:
    def mutate(data: dict) -> None:
        now = now_iso()
        entry = data["entries"].setdefault(key(record.model_id, record.commit), {
            "model": record.model_id, "commit": record.commit, "first_fetch": now, "hits": 0, "revisions": []})
        entry["size_bytes"] = record.size_bytes
        entry["files"] = len(record.fetched)
        entry["source"] = record.source
        entry["last_use"] = now
        if hit:
            entry["hits"] = int(entry.get("hits", 0)) + 1
        if revision not in entry.setdefault("revisions", []):
            entry["revisions"].append(revision)

    return update_index(layout, mutate)


def forget(layout: CacheLayout, keys: list[str]) -> bool:
    def mutate(data: dict) -> None:
        for k in keys:
            data["entries"].pop(k, None)

    return update_index(layout, mutate, wait=INDEX_WAIT * 3)


def epoch(iso: str | None) -> float:
    if not iso:
        return 0.0
    try:
        return float(calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ")))
    except ValueError:
        return 0.0
