"""A local directory or a mounted PVC as the source (air-gapped clusters): copied into the same HF layout.

The source may be
  - a Hugging Face cache (contains models--org--name/ or hub/models--org--name/): the commit and blob names come
    from its refs and snapshot links, so the copy is identical to a Hub download;
  - a folder of model files (e.g. from `hf download --local-dir`): commit and blob ids come from its
    .cache/huggingface/download/*.metadata when present; otherwise blobs are named by their sha256 and the commit
    is derived from the folder's fingerprint, unless --revision gives a 40-hex commit.

The warm check adds a stat-only fingerprint of the source (names, sizes, mtimes) so a changed source is copied again.
One lease covers the whole copy (the source is local: parallel copies would only compete for the same disks).
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

from aimgen.cache import index
from aimgen.cache.files import Listing, RepoFile, select
from aimgen.cache.layout import BLOB_RE, CacheLayout, is_commit, repo_folder
from aimgen.cache.lease import LeaseKeeper
from aimgen.cache.prefetch import (PrefetchOptions, PrefetchResult, check_space, finalize, warm_hit,
                                    warm_result)
from aimgen.cache.progress import Progress
from aimgen.cache.transfer import READ_CHUNK, PartialWriter, blob_complete, publish
from aimgen.console import console
from aimgen.errors import InvalidInput

SKIP_DIRS = {".cache", ".git", ".huggingface"}


@dataclass(frozen=True)
class LocalEntry:
    name: str
    path: Path
    size: int
    etag: str | None  # known blob id (from an HF cache or download metadata), else computed while copying
    commit: str | None = None


def _repo_in_cache(src: Path, model_id: str) -> Path | None:
    for candidate in (src / repo_folder(model_id), src / "hub" / repo_folder(model_id)):
        if (candidate / "snapshots").is_dir():
            return candidate
    return None


def _walk(root: Path) -> list[tuple[str, Path]]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            out.append((path.relative_to(root).as_posix(), path))
    return out


def _from_hf_cache(repo: Path, revision: str) -> tuple[str, list[LocalEntry]]:
    commit = revision if is_commit(revision) else None
    if commit is None:
        try:
            commit = (repo / "refs" / revision).read_text().strip()
        except OSError:
            raise InvalidInput(f"{repo}: no refs/{revision} in this cache; pass --revision as a commit sha") from None
    snapshot = repo / "snapshots" / commit
    if not snapshot.is_dir():
        raise InvalidInput(f"{repo}: no snapshot for commit {commit}")
    entries = []
    for name, path in _walk(snapshot):
        target = os.path.basename(os.readlink(path)) if path.is_symlink() else None
        entries.append(LocalEntry(name, path, path.stat().st_size,
                                  target if target and BLOB_RE.fullmatch(target) else None, commit))
    return commit, entries


def _from_folder(src: Path) -> list[LocalEntry]:
    entries = []
    for name, path in _walk(src):
        etag = commit = None
        meta = src / ".cache" / "huggingface" / "download" / f"{name}.metadata"
        try:
            lines = meta.read_text().splitlines()
            if len(lines) >= 2 and is_commit(lines[0].strip()) and BLOB_RE.fullmatch(lines[1].strip()):
                commit, etag = lines[0].strip(), lines[1].strip()
        except OSError:
            pass
        entries.append(LocalEntry(name, path, path.stat().st_size, etag, commit))
    return entries


def _fingerprint(entries: list[LocalEntry]) -> str:
    digest = hashlib.sha1()
    for e in entries:
        st = e.path.stat()
        digest.update(f"{e.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _repo_file(e: LocalEntry, sha256: str | None = None) -> RepoFile:
    etag = sha256 or e.etag
    if etag and len(etag) == 64:
        return RepoFile(e.name, e.size, sha256=etag)
    return RepoFile(e.name, e.size, blob_id=etag)


def prefetch_local(opts: PrefetchOptions, layout: CacheLayout, started: float) -> PrefetchResult:
    src = Path(opts.local_dir).expanduser()  # type: ignore[arg-type]
    if not src.is_dir():
        raise InvalidInput(f"--local-dir {src}: not a directory")
    repo = _repo_in_cache(src, opts.model_id)
    if repo is not None:
        commit, entries = _from_hf_cache(repo, opts.revision)
    else:
        entries = _from_folder(src)
        commits = {e.commit for e in entries if e.etag}
        commit = opts.revision if is_commit(opts.revision) else (
            commits.pop() if len(commits) == 1 and all(e.etag for e in entries) else None)
    if not entries:
        raise InvalidInput(f"--local-dir {src}: no files")
    fingerprint = _fingerprint(entries)
    if commit is None:  # a plain folder: its identity is its fingerprint, known before reading any byte
        commit = hashlib.sha1(f"aimgen-local\0{fingerprint}".encode()).hexdigest()
    source = f"local:{src}"

    hit = warm_hit(layout, opts, commit, fingerprint)
    if hit is not None:
        return warm_result(layout, opts, hit, started)

    # Select on names first (sizes are known), so pickle/pattern errors come before any copying.
    draft = {e.name: e for e in entries}
    chosen = select(tuple(RepoFile(e.name, e.size) for e in entries), allow=opts.allow_patterns,
                    exclude=opts.exclude_patterns, allow_pickle=opts.allow_pickle)
    todo = [draft[f.name] for f in chosen.files]
    keeper = LeaseKeeper(layout.leases, ttl=opts.lease_ttl)
    key = layout.lease_key(opts.model_id, "local-copy")
    with keeper:
        while (lease := keeper.try_acquire(key)) is None:
            time.sleep(min(1.0, max(0.05, opts.lease_ttl / 8)))
            hit = warm_hit(layout, opts, commit, fingerprint)
            if hit is not None:  # another pod finished the copy while we waited
                return warm_result(layout, opts, hit, started)
        try:
            files, copied = _copy(layout, opts, todo)
        finally:
            keeper.release(lease)
    # The record lists every file of the source (so a later, wider selection is not mistaken for a warm hit);
    # digests are known for what was copied.
    copied_files = {f.name: f for f in files}
    listing = Listing(opts.model_id, commit, tuple(
        copied_files.get(e.name) or (_repo_file(e) if e.etag else RepoFile(e.name, e.size)) for e in entries))
    selection = replace(chosen, files=tuple(files))
    record = finalize(layout, listing, selection, opts.revision, source=source, fingerprint=fingerprint)
    index.note_use(layout, record, opts.revision, hit=False)
    return PrefetchResult(opts.model_id, opts.revision, commit, layout.snapshot(opts.model_id, commit), False,
                          len(files), selection.total_bytes, copied, time.monotonic() - started,
                          chosen.skipped_pickle)


def _copy(layout: CacheLayout, opts: PrefetchOptions, todo: list[LocalEntry]) -> tuple[list[RepoFile], int]:
    model_id = opts.model_id
    need = sum(e.size for e in todo if not (e.etag and blob_complete(layout.blob(model_id, e.etag), _repo_file(e))))
    check_space(layout, model_id, need, sum(e.size for e in todo))
    files: list[RepoFile] = []
    with Progress(label=model_id, total_bytes=need, files_total=len(todo)) as progress:
        for e in todo:
            known = _repo_file(e) if e.etag else None
            if known is not None and blob_complete(layout.blob(model_id, known.etag), known):
                files.append(known)
                progress.file_done()
                continue
            stem = known.etag if known is not None else "local-" + hashlib.sha1(e.name.encode()).hexdigest()
            partial = layout.partial(model_id, stem)
            # Unknown digest: hash with sha256 (the file then gets its sha256 as blob name); known: check it.
            target = known or RepoFile(e.name, e.size, sha256=None, blob_id=None)
            writer = PartialWriter(partial, target, check_digest=True, algorithm="sha256" if known is None else None)
            try:
                progress.present(writer.offset)
                with open(e.path, "rb") as src:
                    src.seek(writer.offset)
                    while chunk := src.read(READ_CHUNK):
                        writer.write(chunk)
                        progress.add(len(chunk))
                writer.finish()
            finally:
                writer.close()
            f = known or RepoFile(e.name, e.size, sha256=writer.hexdigest())
            publish(partial, layout.blob(model_id, f.etag))
            files.append(f)
            progress.file_done()
    console.info(f"copied {len(todo)} file(s) of {model_id} from {opts.local_dir}", event="cache.local_copied")
    return files, progress.ours
