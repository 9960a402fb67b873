"""`aimgen cache list|stats|prune|evict`: what is in the cache, and taking things out safely.

Removal order keeps the warm path honest: the completion record goes first (so no pod trusts the entry any more),
then the snapshot and refs, then the blobs no remaining snapshot links to. Blobs nobody links to are removed by prune
only after a grace period, because a running prefetch publishes a blob a moment before it links it.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from aimgen.cache import index
from aimgen.cache.fsutil import free_bytes, remove_tree
from aimgen.cache.layout import CacheLayout, check_model_id, is_commit, model_from_folder, read_ref
from aimgen.cache.record import list_records
from aimgen.errors import InvalidInput, UsageError

ORPHAN_GRACE_S = 3600.0
ABANDONED_PARTIAL_S = 86400.0
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True)
class Entry:
    model_id: str
    commit: str
    revisions: tuple[str, ...]
    size_bytes: int
    files: int
    first_fetch: str
    last_use: str
    hits: int
    source: str
    complete: bool

    def as_dict(self) -> dict:
        return {"model": self.model_id, "commit": self.commit, "revisions": list(self.revisions),
                "size_bytes": self.size_bytes, "files": self.files, "first_fetch": self.first_fetch,
                "last_use": self.last_use, "hits": self.hits, "source": self.source, "complete": self.complete}


@dataclass(frozen=True)
class Removal:
    removed: tuple[str, ...]
    freed_bytes: int
    partials: int = 0
    orphans: int = 0


def parse_duration(text: str) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text or "")
    if not match:
        raise UsageError(f"duration {text!r}: expected a number and a unit s/m/h/d/w, e.g. 30d or 12h")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _snapshots(layout: CacheLayout) -> list[tuple[str, str]]:
    out = []
    if not layout.hub.is_dir():
        return out
    for repo in sorted(layout.hub.iterdir()):
        model = model_from_folder(repo.name)
        snaps = repo / "snapshots"
        if model is None or not snaps.is_dir():
            continue
        out += [(model, s.name) for s in sorted(snaps.iterdir()) if s.is_dir()]
    return out


def entries(layout: CacheLayout) -> list[Entry]:
    """Complete entries (with a record) and incomplete ones (a snapshot without a record: interrupted or foreign)."""
    data = index.read_index(layout)["entries"]
    out: dict[tuple[str, str], Entry] = {}
    for record in list_records(layout):
        meta = data.get(index.key(record.model_id, record.commit), {})
        revisions = tuple(meta.get("revisions") or _refs_to(layout, record.model_id, record.commit))
        out[(record.model_id, record.commit)] = Entry(
            record.model_id, record.commit, revisions, record.size_bytes, len(record.fetched),
            meta.get("first_fetch", record.completed_at), meta.get("last_use", record.completed_at),
            int(meta.get("hits", 0)), record.source, True)
    for model, commit in _snapshots(layout):
        if (model, commit) not in out:
            meta = data.get(index.key(model, commit), {})
            size = sum(_size(p) for p in layout.snapshot(model, commit).rglob("*"))
            out[(model, commit)] = Entry(model, commit, tuple(_refs_to(layout, model, commit)), size,
                                         sum(1 for p in layout.snapshot(model, commit).rglob("*") if p.is_file()),
                                         meta.get("first_fetch", ""), meta.get("last_use", ""),
                                         int(meta.get("hits", 0)), meta.get("source", "?"), False)
    return sorted(out.values(), key=lambda e: (e.model_id, e.last_use))


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size if path.is_file() else 0
    except OSError:
        return 0


def _refs_to(layout: CacheLayout, model_id: str, commit: str) -> list[str]:
    refs = layout.repo_dir(model_id) / "refs"
    if not refs.is_dir():
        return []
    return sorted(p.relative_to(refs).as_posix() for p in refs.rglob("*")
                  if p.is_file() and p.read_text().strip() == commit)


def stats(layout: CacheLayout) -> dict:
    all_entries = entries(layout)
    blob_bytes = blob_count = 0
    for blob in layout.hub.glob("models--*/blobs/*") if layout.hub.is_dir() else []:
        blob_bytes += _size(blob)
        blob_count += 1
    partials = list(layout.partial_dir().rglob("*.part")) if layout.partial_dir().is_dir() else []
    leases = [p for p in layout.leases.rglob("*.lease")] if layout.leases.is_dir() else []
    return {
        "cache_dir": str(layout.root),
        "models": len({e.model_id for e in all_entries}),
        "revisions": len(all_entries),
        "complete": sum(1 for e in all_entries if e.complete),
        "incomplete": sum(1 for e in all_entries if not e.complete),
        "blobs": blob_count,
        "blob_bytes": blob_bytes,
        "partial_files": len(partials),
        "partial_bytes": sum(_size(p) for p in partials),
        "leases": len(leases),
        "hits": sum(e.hits for e in all_entries),
        "free_bytes": free_bytes(layout.root),
    }


def _linked_blobs(layout: CacheLayout, model_id: str, commits: list[str] | None = None) -> set[str]:
    out = set()
    snaps = layout.repo_dir(model_id) / "snapshots"
    if not snaps.is_dir():
        return out
    for snap in snaps.iterdir():
        if commits is not None and snap.name not in commits:
            continue
        for path in snap.rglob("*"):
            if path.is_symlink():
                out.add(os.path.basename(os.readlink(path)))
    return out


def remove_entry(layout: CacheLayout, model_id: str, commit: str) -> int:
    """Remove one (model, commit); returns bytes freed."""
    layout.record(model_id, commit).unlink(missing_ok=True)
    linked_here = _linked_blobs(layout, model_id, [commit])
    remove_tree(layout.snapshot(model_id, commit))
    for ref in _refs_to(layout, model_id, commit):
        (layout.repo_dir(model_id) / "refs" / ref).unlink(missing_ok=True)
    still_linked = _linked_blobs(layout, model_id)
    freed = 0
    for name in linked_here - still_linked:
        blob = layout.repo_dir(model_id) / "blobs" / name
        freed += _size(blob)
        blob.unlink(missing_ok=True)
    snaps = layout.repo_dir(model_id) / "snapshots"
    if not snaps.is_dir() or not any(snaps.iterdir()):
        freed += sum(_size(p) for p in (layout.repo_dir(model_id) / "blobs").glob("*"))
        remove_tree(layout.repo_dir(model_id))
    return freed


def evict(layout: CacheLayout, model_id: str, revision: str | None = None) -> Removal:
    check_model_id(model_id)
    targets = [c for m, c in _known(layout) if m == model_id]
    if revision is not None:
        commit = revision if is_commit(revision) else read_ref(layout, model_id, revision)
        targets = [c for c in targets if c == commit]
    if not targets:
        shown = f"{model_id}@{revision}" if revision else model_id
        raise InvalidInput(f"{shown} is not in the cache at {layout.root} (see 'aimgen cache list')")
    freed = sum(remove_entry(layout, model_id, c) for c in targets)
    index.forget(layout, [index.key(model_id, c) for c in targets])
    return Removal(tuple(f"{model_id}@{c}" for c in targets), freed)


def _known(layout: CacheLayout) -> list[tuple[str, str]]:
    found = {(r.model_id, r.commit) for r in list_records(layout)} | set(_snapshots(layout))
    return sorted(found)


def prune(layout: CacheLayout, *, older_than: float | None = None, keep_last: int | None = None,
          dry_run: bool = False, now: float | None = None) -> Removal:
    """Remove entries unused for `older_than` seconds and/or all but the `keep_last` most recently used; always
    clear debris (blobs no snapshot links to, partial downloads abandoned for a day or `older_than`)."""
    if keep_last is not None and keep_last < 0:
        raise UsageError("--keep-last must be 0 or more")
    now = time.time() if now is None else now
    ranked = sorted(entries(layout), key=lambda e: index.epoch(e.last_use) or index.epoch(e.first_fetch),
                    reverse=True)
    doomed = []
    for position, e in enumerate(ranked):
        last = index.epoch(e.last_use) or index.epoch(e.first_fetch)
        if older_than is not None and now - last > older_than or keep_last is not None and position >= keep_last:
            doomed.append(e)
    removed, freed = [], 0
    for e in doomed:
        removed.append(f"{e.model_id}@{e.commit}")
        if not dry_run:
            freed += remove_entry(layout, e.model_id, e.commit)
        else:
            freed += e.size_bytes
    if doomed and not dry_run:
        index.forget(layout, [index.key(e.model_id, e.commit) for e in doomed])
    partials, orphans, debris = _debris(layout, now, older_than or ABANDONED_PARTIAL_S, dry_run)
    return Removal(tuple(removed), freed + debris, partials, orphans)


def _debris(layout: CacheLayout, now: float, partial_age: float, dry_run: bool) -> tuple[int, int, int]:
    partials = orphans = freed = 0
    if layout.partial_dir().is_dir():
        for part in layout.partial_dir().rglob("*.part"):
            lease = layout.leases / part.parent.name / (part.name[: -len(".part")] + ".lease")
            if not lease.exists() and now - _mtime(part) > partial_age:
                partials += 1
                freed += _size(part)
                if not dry_run:
                    part.unlink(missing_ok=True)
    if layout.hub.is_dir():
        for repo in layout.hub.glob("models--*"):
            model = model_from_folder(repo.name)
            if model is None or not (repo / "blobs").is_dir():
                continue
            linked = _linked_blobs(layout, model)
            for blob in (repo / "blobs").iterdir():
                if blob.name not in linked and now - _mtime(blob) > ORPHAN_GRACE_S:
                    orphans += 1
                    freed += _size(blob)
                    if not dry_run:
                        blob.unlink(missing_ok=True)
    return partials, orphans, freed


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return time.time()  # vanished meanwhile: treat as fresh, leave it alone
