"""`aimgen cache verify`: re-hash every cached file against the digest its source listed.

LFS files are checked against their sha256, regular files against their git blob id. This reads every byte (the
warm path never does); blobs are hashed in parallel, each once even when several revisions share it.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from aimgen.cache.files import RepoFile
from aimgen.cache.layout import CacheLayout, is_commit, read_ref
from aimgen.cache.record import Record, list_records
from aimgen.cache.transfer import expected_digest, file_digest
from aimgen.errors import InvalidInput
from aimgen.findings import ERROR, WARNING, Finding


@dataclass(frozen=True)
class VerifyReport:
    records: int
    files: int
    bytes: int
    findings: tuple[Finding, ...]
    repaired: tuple[str, ...] = ()


def select_records(layout: CacheLayout, model_id: str | None, revision: str | None) -> list[Record]:
    records = list_records(layout)
    if model_id is not None:
        records = [r for r in records if r.model_id == model_id]
        if revision is not None:
            commit = revision if is_commit(revision) else read_ref(layout, model_id, revision)
            records = [r for r in records if r.commit == commit]
        if not records:
            shown = f"{model_id}@{revision}" if revision else model_id
            raise InvalidInput(f"{shown} is not in the cache at {layout.root} (see 'aimgen cache list')")
    return records


def _check(path: Path, f: RepoFile) -> tuple[str, str] | None:
    """(code, message) of what is wrong with the file at `path`, or None."""
    try:
        size = os.stat(path).st_size
    except OSError:
        return "CACHE001", "missing from the cache (snapshot link or blob gone)"
    if size != f.size:
        return "CACHE002", f"size {size} bytes, expected {f.size}"
    want = expected_digest(f)
    if want is None:
        return None
    got = file_digest(path, f)
    if got != want:
        kind = "sha256" if f.sha256 else "git blob id"
        return "CACHE003", f"{kind} {got} does not match the recorded {want} (corrupted)"
    return None


def verify(layout: CacheLayout, model_id: str | None = None, revision: str | None = None, *, repair: bool = False,
           workers: int | None = None) -> VerifyReport:
    records = select_records(layout, model_id, revision)
    jobs: dict[Path, tuple[RepoFile, list[tuple[Record, RepoFile]]]] = {}
    findings: list[Finding] = []
    for record in records:
        for f in record.fetched_files():
            link = layout.snapshot_file(record.model_id, record.commit, f.name)
            blob = layout.blob(record.model_id, f.etag)
            if not os.path.exists(link) or os.path.realpath(link) != os.path.realpath(blob):
                findings.append(Finding(ERROR, "CACHE001", f"{record.model_id}@{record.commit[:12]}", f.name,
                                        "snapshot link missing or not pointing at its blob"))
                continue
            jobs.setdefault(blob, (f, []))[1].append((record, f))
            if expected_digest(f) is None:
                findings.append(Finding(WARNING, "CACHE004", f"{record.model_id}@{record.commit[:12]}", f.name,
                                        "no digest recorded for this file; only its size is checked"))
    bad: set[tuple[str, str]] = set()
    with ThreadPoolExecutor(max_workers=workers or min(8, (os.cpu_count() or 2))) as pool:
        results = dict(zip(jobs, pool.map(lambda blob: _check(blob, jobs[blob][0]), jobs), strict=True))
    for blob, problem in results.items():
        if problem is None:
            continue
        for record, f in jobs[blob][1]:
            findings.append(Finding(ERROR, problem[0], f"{record.model_id}@{record.commit[:12]}", f.name, problem[1]))
            bad.add((record.model_id, record.commit))
        if repair:
            blob.unlink(missing_ok=True)
    for f in findings:
        if f.code == "CACHE001":
            model, _, short = f.file.partition("@")
            bad |= {(r.model_id, r.commit) for r in records if r.model_id == model and r.commit.startswith(short)}
    repaired = []
    if repair:
        # Dropping the record makes the next prefetch fetch what is missing (and only that).
        for model, commit in sorted(bad):
            layout.record(model, commit).unlink(missing_ok=True)
            repaired.append(f"{model}@{commit}")
    nbytes = sum(f.size for f, _ in jobs.values())
    return VerifyReport(len(records), len(jobs), nbytes, tuple(findings), tuple(repaired))
