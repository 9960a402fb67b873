"""Completion records and the warm check.

A record says "every file listed in `fetched` of (model, commit) is in the cache, with these sizes and digests". It is
written last, atomically, after every blob and snapshot link is in place; it is the only thing the warm path trusts.
The warm check reads one small JSON file and stats each selected file: its cost depends on the number of files, never
on their size, and it needs no network and no token.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from aimgen import __version__
from aimgen.cache.files import Listing, RepoFile, Selection, select
from aimgen.cache.fsutil import atomic_write_json, read_json
from aimgen.cache.layout import CacheLayout, check_repo_path

FORMAT = 1


@dataclass(frozen=True)
class Record:
    listing: Listing
    fetched: frozenset[str]
    source: str
    completed_at: str
    fingerprint: str | None = None  # local sources: identity of the source folder at copy time

    @property
    def model_id(self) -> str:
        return self.listing.model_id

    @property
    def commit(self) -> str:
        return self.listing.commit

    def fetched_files(self) -> tuple[RepoFile, ...]:
        return tuple(f for f in self.listing.files if f.name in self.fetched)

    @property
    def size_bytes(self) -> int:
        return sum(f.size for f in self.fetched_files())

    def as_dict(self) -> dict:
        return {
            "format": FORMAT,
            "model": self.model_id,
            "commit": self.commit,
            "source": self.source,
            "fingerprint": self.fingerprint,
            "files": [f.as_dict() for f in self.listing.files],
            "fetched": sorted(self.fetched),
            "completed_at": self.completed_at,
            "aimgen": __version__,
        }


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def read_record(layout: CacheLayout, model_id: str, commit: str) -> Record | None:
    data = read_json(layout.record(model_id, commit))
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    try:
        files = tuple(RepoFile.from_dict(f) for f in data["files"])
        return Record(
            listing=Listing(data["model"], data["commit"], files),
            fetched=frozenset(data["fetched"]),
            source=data.get("source", "hf"),
            completed_at=data.get("completed_at", ""),
            fingerprint=data.get("fingerprint"),
        )
    except (KeyError, TypeError, ValueError):
        return None


def write_record(layout: CacheLayout, listing: Listing, fetched: tuple[RepoFile, ...], *, source: str,
                 fingerprint: str | None = None) -> Record:
    """Write (or widen) the record; call only once every fetched file is linked in its snapshot."""
    names = {f.name for f in fetched}
    previous = read_record(layout, listing.model_id, listing.commit)
    if previous is not None and previous.source == source and previous.fingerprint == fingerprint:
        names |= previous.fetched  # a later prefetch with other patterns adds to what is there
    record = Record(listing, frozenset(names), source, now_iso(), fingerprint)
    atomic_write_json(layout.record(listing.model_id, listing.commit), record.as_dict())
    return record


def list_records(layout: CacheLayout) -> list[Record]:
    out = []
    base = layout.records_dir()
    if not base.is_dir():
        return out
    for folder in sorted(base.iterdir()):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.json")):
            data = read_json(path)
            if isinstance(data, dict) and "model" in data and "commit" in data:
                record = read_record(layout, data["model"], data["commit"])
                if record is not None:
                    out.append(record)
    return out


@dataclass(frozen=True)
class WarmHit:
    record: Record
    selection: Selection


def missing_or_wrong_size(layout: CacheLayout, model_id: str, commit: str, files: tuple[RepoFile, ...]) -> str | None:
    """The first file whose snapshot entry is absent or has the wrong size (stat only), or None."""
    base = str(layout.snapshot(model_id, commit))
    for f in files:
        try:
            size = os.stat(os.path.join(base, check_repo_path(f.name))).st_size
        except OSError:
            return f.name
        if size != f.size:
            return f.name
    return None


def warm_check(layout: CacheLayout, model_id: str, commit: str, *, allow: tuple[str, ...], exclude: tuple[str, ...],
               allow_pickle: bool, fingerprint: str | None = None) -> WarmHit | None:
    record = read_record(layout, model_id, commit)
    if record is None or (fingerprint is not None and record.fingerprint != fingerprint):
        return None
    selection = select(record.listing.files, allow=allow, exclude=exclude, allow_pickle=allow_pickle)
    if any(f.name not in record.fetched for f in selection.files):
        return None
    if missing_or_wrong_size(layout, model_id, commit, selection.files) is not None:
        return None
    return WarmHit(record, selection)
