"""`aimgen cache prefetch`: make a model present and complete in the cache, once, whoever asks first.

Order of work:
  1. warm path: (pinned commit, or a named revision when offline) -> completion record -> stat each file -> done.
     No huggingface_hub import, no token, no network.
  2. resolve the revision to a commit and list files (one API request); warm again if that commit is complete.
  3. select files (patterns, pickle policy), check free space for what is missing, then fetch the missing blobs with
     a pool of workers, one lease per blob, so N processes on N hosts split the files and never fetch one twice.
  4. link snapshots/<commit>/<file> -> ../../blobs/<etag>, write refs/<revision>, then the completion record (last).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from aimgen.cache import index
from aimgen.cache.files import Listing, RepoFile, Selection, select
from aimgen.cache.fsutil import atomic_symlink, atomic_write_bytes, free_bytes, human_bytes
from aimgen.cache.layout import CacheLayout, check_model_id, check_revision, is_commit, read_ref
from aimgen.cache.lease import LeaseKeeper, LeaseLost
from aimgen.cache.plan import cache_size_bytes
from aimgen.cache.progress import Progress
from aimgen.cache.record import Record, WarmHit, warm_check, write_record
from aimgen.cache.remote import Cancelled, Remote, xet_enabled
from aimgen.cache.retry import RetryPolicy
from aimgen.cache.transfer import PartialWriter, blob_complete, publish
from aimgen.console import console
from aimgen.errors import EnvironmentProblem, UsageError

SPACE_MARGIN = 64 << 20  # records, index, links
SOURCES = ("hf", "local")
_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class PrefetchOptions:
    model_id: str
    cache_dir: Path
    revision: str = "main"
    source: str = "hf"
    local_dir: Path | None = None
    allow_patterns: tuple[str, ...] = ()
    exclude_patterns: tuple[str, ...] = ()
    allow_pickle: bool = False
    timeout: float = 30.0
    retries: int = 5
    workers: int = 4
    lease_ttl: float = 60.0
    token_file: Path | None = None
    endpoint: str | None = None
    check_digest: bool = True

    def validate(self) -> None:
        check_model_id(self.model_id)
        check_revision(self.revision)
        if self.source not in SOURCES:
            raise UsageError(f"--source {self.source!r}: expected one of {', '.join(SOURCES)}")
        if self.source == "local" and self.local_dir is None:
            raise UsageError("--source local needs --local-dir PATH (a model folder or a Hugging Face cache)")
        if self.source == "hf" and self.local_dir is not None:
            raise UsageError("--local-dir is only used with --source local")
        for name, value in (("--timeout", self.timeout), ("--lease-ttl", self.lease_ttl)):
            if not value > 0:
                raise UsageError(f"{name} must be positive, got {value}")
        if self.workers < 1 or self.retries < 0:
            raise UsageError("--workers must be at least 1 and --retries at least 0")


@dataclass(frozen=True)
class PrefetchResult:
    model_id: str
    revision: str
    commit: str
    snapshot: Path
    warm: bool
    files: int
    total_bytes: int
    downloaded_bytes: int
    elapsed_s: float
    skipped_pickle: tuple[str, ...] = ()


def offline() -> bool:
    return any(os.environ.get(v, "").lower() in _TRUE for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def read_token(token_file: Path | None) -> str | None:
    """The Hub token, from a mounted Secret file or HF_TOKEN. Read only when the network is needed; never logged."""
    if token_file is not None:
        try:
            token = Path(token_file).read_text().strip()
        except OSError as exc:
            raise EnvironmentProblem(f"--token-file {token_file}: cannot read it ({exc.strerror})") from None
        if not token:
            raise EnvironmentProblem(f"--token-file {token_file}: the file is empty")
        return token
    return os.environ.get("HF_TOKEN") or None


def prefetch(opts: PrefetchOptions) -> PrefetchResult:
    """From the Hub (aimgen.cache.fetch picks the source)."""
    opts.validate()
    layout = CacheLayout(Path(opts.cache_dir))
    started = time.monotonic()
    commit = opts.revision if is_commit(opts.revision) else (
        read_ref(layout, opts.model_id, opts.revision) if offline() else None)
    hit = warm_hit(layout, opts, commit)
    if hit is not None:
        return warm_result(layout, opts, hit, started)
    if offline():
        raise EnvironmentProblem(
            f"{opts.model_id}@{opts.revision} is not complete in {layout.root} and HF_HUB_OFFLINE is set; "
            "run the prefetch (Job) with network access first")

    remote = Remote(endpoint=opts.endpoint or os.environ.get("HF_ENDPOINT") or None, token=read_token(opts.token_file),
                    timeout=opts.timeout, policy=RetryPolicy.from_env(opts.retries), use_xet=xet_enabled())
    try:
        listing = remote.listing(opts.model_id, opts.revision)
    except EnvironmentProblem as exc:
        # The Hub is unreachable: a named revision that is complete locally still starts (with a warning).
        cached = read_ref(layout, opts.model_id, opts.revision)
        hit = warm_hit(layout, opts, cached) if cached else None
        if hit is None:
            raise
        console.warning(f"{exc.message}; using the cached commit {cached} of {opts.revision}",
                        event="cache.stale_ref", commit=cached)
        return warm_result(layout, opts, hit, started)

    hit = warm_hit(layout, opts, listing.commit)
    if hit is not None:
        write_ref(layout, opts.model_id, opts.revision, listing.commit)
        return warm_result(layout, opts, hit, started)

    selection = select(listing.files, allow=opts.allow_patterns, exclude=opts.exclude_patterns,
                       allow_pickle=opts.allow_pickle)
    if selection.skipped_pickle:
        console.info(f"skipping {len(selection.skipped_pickle)} pickle file(s) (safetensors present; "
                     "--allow-pickle to take them)", event="cache.skip_pickle", files=list(selection.skipped_pickle))
    downloaded = fetch_blobs(layout, listing, selection, opts, remote)
    record = finalize(layout, listing, selection, opts.revision, source="hf")
    index.note_use(layout, record, opts.revision, hit=False)
    return PrefetchResult(opts.model_id, opts.revision, listing.commit, layout.snapshot(opts.model_id, listing.commit),
                          False, len(selection.files), selection.total_bytes, downloaded, time.monotonic() - started,
                          selection.skipped_pickle)


def warm_hit(layout: CacheLayout, opts: PrefetchOptions, commit: str | None,
             fingerprint: str | None = None) -> WarmHit | None:
    if commit is None:
        return None
    return warm_check(layout, opts.model_id, commit, allow=opts.allow_patterns, exclude=opts.exclude_patterns,
                      allow_pickle=opts.allow_pickle, fingerprint=fingerprint)


def warm_result(layout: CacheLayout, opts: PrefetchOptions, hit: WarmHit, started: float) -> PrefetchResult:
    index.note_use(layout, hit.record, opts.revision, hit=True)
    return PrefetchResult(opts.model_id, opts.revision, hit.record.commit,
                          layout.snapshot(opts.model_id, hit.record.commit), True, len(hit.selection.files),
                          hit.selection.total_bytes, 0, time.monotonic() - started)


def write_ref(layout: CacheLayout, model_id: str, revision: str, commit: str) -> None:
    if not is_commit(revision) and read_ref(layout, model_id, revision) != commit:
        atomic_write_bytes(layout.ref(model_id, revision), commit.encode(), durable=False)


def check_space(layout: CacheLayout, model_id: str, need: int, total: int) -> None:
    free = free_bytes(layout.root)
    if need + SPACE_MARGIN > free:
        raise EnvironmentProblem(
            f"{model_id} needs {human_bytes(need)} more ({human_bytes(total)} in all) but {layout.root} has "
            f"{human_bytes(free)} free; enlarge the volume (suggested size for this model: "
            f"{human_bytes(cache_size_bytes(total))}) or free space with 'aimgen cache prune'")


def finalize(layout: CacheLayout, listing: Listing, selection: Selection, revision: str, *, source: str,
             fingerprint: str | None = None) -> Record:
    """Link every selected file into its snapshot, record the ref, then write the completion record, last."""
    model_id, commit = listing.model_id, listing.commit
    for f in selection.files:
        link = layout.snapshot_file(model_id, commit, f.name)
        atomic_symlink(os.path.relpath(layout.blob(model_id, f.etag), link.parent), link)
    write_ref(layout, model_id, revision, commit)
    return write_record(layout, listing, selection.files, source=source, fingerprint=fingerprint)


def _partial_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def fetch_blobs(layout: CacheLayout, listing: Listing, selection: Selection, opts: PrefetchOptions,
                remote: Remote) -> int:
    """Download every missing blob of the selection; returns the bytes this process transferred."""
    model_id = listing.model_id
    unique: dict[str, RepoFile] = {}
    for f in selection.files:
        unique.setdefault(f.etag, f)  # identical files share one blob
    missing = [f for f in unique.values() if not blob_complete(layout.blob(model_id, f.etag), f)]
    if not missing:
        return 0
    need = sum(max(0, f.size - _partial_size(layout.partial(model_id, f.etag))) for f in missing)
    check_space(layout, model_id, need, selection.total_bytes)
    console.info(f"fetching {len(missing)} file(s), {human_bytes(sum(f.size for f in missing))}, of "
                 f"{model_id}@{listing.commit[:12]} into {layout.root}", event="cache.fetch_start",
                 model=model_id, commit=listing.commit, files=len(missing), bytes=sum(f.size for f in missing))
    with LeaseKeeper(layout.leases, ttl=opts.lease_ttl) as keeper, \
            Progress(label=model_id, total_bytes=sum(f.size for f in missing), files_total=len(missing)) as progress:
        _Scheduler(layout, listing, missing, keeper, remote, progress, opts).run()
    return progress.ours


class _Scheduler:
    """Worker threads that take blobs one lease at a time; blobs leased elsewhere are waited for, and taken over
    when their holder's heartbeat stops."""

    def __init__(self, layout, listing, missing, keeper, remote, progress, opts):
        self.layout: CacheLayout = layout
        self.listing: Listing = listing
        self.todo: list[RepoFile] = list(missing)
        self.active: set[str] = set()
        self.keeper: LeaseKeeper = keeper
        self.remote: Remote = remote
        self.progress: Progress = progress
        self.opts: PrefetchOptions = opts
        self.error: BaseException | None = None
        self.lock = threading.Lock()
        self.poll = min(1.0, max(0.05, opts.lease_ttl / 8))

    def run(self) -> None:
        workers = [threading.Thread(target=self._worker, name=f"fetch-{i}", daemon=True)
                   for i in range(min(self.opts.workers, len(self.todo)))]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        if self.error is not None:
            raise self.error

    def _key(self, f: RepoFile) -> str:
        return self.layout.lease_key(self.listing.model_id, f.etag)

    def _blob(self, f: RepoFile) -> Path:
        return self.layout.blob(self.listing.model_id, f.etag)

    def _next(self):
        while True:
            with self.lock:
                if self.error is not None or not self.todo:
                    return None
                candidates = [f for f in self.todo if f.etag not in self.active]
                if not candidates:
                    return None  # the rest is in the hands of this process's other workers
                for f in candidates:
                    if blob_complete(self._blob(f), f):
                        self.todo.remove(f)
                        self.progress.file_done(by_others=f.size)
                        continue
                    lease = self.keeper.try_acquire(self._key(f))
                    if lease is not None:
                        self.active.add(f.etag)
                        return f, lease
                self.progress.set_waiting(len([f for f in self.todo if f.etag not in self.active]))
            time.sleep(self.poll)

    def _worker(self) -> None:
        try:
            self._work()
        except BaseException as exc:  # noqa: BLE001 - e.g. a lease dir that cannot be created: the caller re-raises
            with self.lock:
                self.error = self.error or exc

    def _work(self) -> None:
        while (job := self._next()) is not None:
            f, lease = job
            done = False
            try:
                if not blob_complete(self._blob(f), f):
                    self._download(f, lease)
                    done = True
                else:
                    self.progress.file_done(by_others=f.size)
                with self.lock:
                    self.todo.remove(f)
                if done:
                    self.progress.file_done()
            except LeaseLost:
                console.warning(f"{f.name}: lease taken over by another process; waiting for it instead",
                                event="cache.lease_lost", file=f.name)
            except Cancelled:
                pass  # another worker failed; the partial file stays for a later resume
            except BaseException as exc:  # noqa: BLE001 - handed to the caller thread, which re-raises it
                with self.lock:
                    self.error = self.error or exc
            finally:
                with self.lock:
                    self.active.discard(f.etag)
                self.keeper.release(lease)

    def _on_bytes(self, n: int) -> None:
        if self.error is not None:
            raise Cancelled()
        self.progress.add(n)

    def _download(self, f: RepoFile, lease) -> None:
        model_id = self.listing.model_id
        partial = self.layout.partial(model_id, f.etag)
        writer = PartialWriter(partial, f, check_digest=self.opts.check_digest)
        try:
            if writer.offset:
                console.info(f"{f.name}: resuming at byte {writer.offset}", event="cache.resume", file=f.name,
                             offset=writer.offset)
                self.progress.present(writer.offset)
            self.remote.download(model_id, self.listing.commit, f, writer, lease=lease, on_bytes=self._on_bytes)
        finally:
            writer.close()
        if lease.lost:
            raise LeaseLost(f.name)
        publish(partial, self._blob(f))
