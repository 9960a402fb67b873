"""Every call to the Hub (or an HF_ENDPOINT mirror), on huggingface_hub.

Requests made, in order (huggingface_hub 2.x, httpx2 transport):
  1. GET  {endpoint}/api/models/{id}/revision/{rev}?blobs=true   HfApi.model_info(files_metadata=True): the commit
     sha the revision resolves to, and every file with its size, git blob id and LFS sha256.
  2. HEAD {endpoint}/{id}/resolve/{commit}/{file}                get_hf_file_metadata: X-Repo-Commit, ETag /
     X-Linked-Etag, X-Linked-Size, and for LFS files a redirect (Location) to a CDN, or Xet headers.
  3. The bytes: a Xet transfer (huggingface_hub.file_download.xet_get) when the Hub offers one and hf_xet is
     installed, else GET on the Location from step 2 with Range: bytes=N- when resuming.

The plain-HTTP body of step 3 is read with the standard library (urllib: proxies from the environment, redirects,
TLS) in large reads. httpx2 costs 5-10x more CPU per byte (measured here: 1-2.4 s/GB against
0.2 s/GB), which made a prefetch three times slower than curl on a small node. The Authorization header is built by
huggingface_hub and only ever sent to the endpoint's own origin, never to a CDN (also not across redirects).

A failed Xet transfer falls back to plain HTTP for the rest of the run; HF_HUB_DISABLE_XET=1 skips Xet entirely.
huggingface_hub is imported lazily: the warm path never loads it.
"""

from __future__ import annotations

import errno
import functools
import http.client
import os
import random
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from collections.abc import Callable
from urllib.parse import urlsplit

from aimgen import __version__
from aimgen.cache.files import Listing, RepoFile
from aimgen.cache.layout import GIT_OID_RE, SHA256_RE, is_commit, repo_path_problem, tree_problem
from aimgen.cache.lease import Lease, LeaseLost
from aimgen.cache.retry import RetryPolicy
from aimgen.cache.transfer import DigestMismatch, PartialWriter
from aimgen import secrets
from aimgen.console import console
from aimgen.errors import AimgenError, EnvironmentProblem, InvalidInput

RETRY_STATUS = (408, 429, 500, 502, 503, 504)
BODY_BUFFER = 1 << 20
_TRUE = ("1", "true", "yes", "on")
# A file the listing gives no size for is taken only if it is a regular git file up to this size: the Hub stores
# every file above 10 MB in LFS (https://huggingface.co/docs/hub/repositories-recommendations), whose pointers
# always carry the size.
SMALL_FILE_MAX = 10 << 20
INSTALL_HINT = "pip install 'aimgen[cache]'"


class Cancelled(Exception):
    """Raised from a progress callback to stop a download because the run is failing anyway."""


class _Incomplete(Exception):
    """The body ended before the expected size (a dropped or truncated response): resume."""


class _Oversize(Exception):
    """The body runs past the size the listing gave: a broken or hostile server. Never retried, never kept."""


class _Transport(Exception):
    """The connection failed while fetching a body (refused, reset, timed out)."""


class _Status(Exception):
    """A body request answered with an HTTP error status."""

    def __init__(self, code: int, headers):
        super().__init__(f"HTTP {code}")
        self.code = code
        self.headers = headers


def _hf():
    # Telemetry off: otherwise huggingface_hub 2.x asks {endpoint}/api/agent-harnesses for a user-agent tag (an
    # extra request to the mirror) and writes a registry file under HF_HOME.
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    try:
        import huggingface_hub
    except ImportError:
        # An optional extra (`aimgen render` and the warm path never need it): say how to get it, exit 4.
        raise EnvironmentProblem("talking to the Hub needs huggingface_hub, which is not installed: "
                                 f"{INSTALL_HINT}") from None
    from huggingface_hub import constants
    from huggingface_hub.utils import disable_progress_bars, logging

    constants.HF_HUB_DISABLE_TELEMETRY = True  # in case it was imported before us
    # Our console reports progress and retries; huggingface_hub's own bars and warnings would interleave with it.
    disable_progress_bars()
    logging.set_verbosity_error()
    return huggingface_hub


def xet_enabled() -> bool:
    if os.environ.get("HF_HUB_DISABLE_XET", "").lower() in _TRUE:
        return False
    import importlib.util

    return importlib.util.find_spec("hf_xet") is not None


@functools.lru_cache(maxsize=1)
def _hf_transport_errors() -> tuple[type[BaseException], ...]:
    """Connection-level errors of huggingface_hub's transport: httpx2 (2.x), httpx (1.x) or requests (0.x)."""
    import importlib

    found: list[type[BaseException]] = []
    for module, names in (("httpx2", ("TimeoutException", "NetworkError", "RemoteProtocolError")),
                          ("httpx", ("TimeoutException", "NetworkError", "RemoteProtocolError")),
                          ("requests", ("ConnectionError", "Timeout"))):
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        found += [getattr(mod, name) for name in names if hasattr(mod, name)]
    return tuple(found)


@dataclass
class Remote:
    endpoint: str | None
    token: str | None
    timeout: float
    policy: RetryPolicy
    use_xet: bool = True
    _xet_broken: bool = field(default=False, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    # --- errors ------------------------------------------------------------------------------------------------
    def redact(self, text: str) -> str:
        return secrets.redact(text.replace(self.token, "***") if self.token else text)

    def where(self) -> str:
        """The endpoint as messages print it: an HF_ENDPOINT like http://user:hf_...@mirror loses its credentials."""
        return secrets.redact_url(self.endpoint) or "https://huggingface.co"

    def _first_line(self, exc: BaseException) -> str:
        text = self.redact(str(exc)).strip()
        return text.splitlines()[0] if text else type(exc).__name__

    def translate(self, exc: BaseException, what: str) -> AimgenError:
        """A huggingface_hub / transport error as one line with the right exit code (and never the token)."""
        _hf()
        from huggingface_hub import errors

        if isinstance(exc, errors.GatedRepoError):
            return EnvironmentProblem(f"{what}: the repository is gated; accept its terms on the Hub and provide a "
                                      "token (HF_TOKEN or --token-file)")
        if isinstance(exc, errors.RevisionNotFoundError):
            return InvalidInput(f"{what}: revision not found on {self.where()}")
        # RemoteEntryNotFoundError in 1.x+, EntryNotFoundError in 0.x (what engine images carry; see podbundle).
        if isinstance(exc, getattr(errors, "RemoteEntryNotFoundError", None) or errors.EntryNotFoundError):
            return InvalidInput(f"{what}: file not found on {self.where()}")
        status = exc.code if isinstance(exc, _Status) else (
            exc.response.status_code if isinstance(exc, errors.HfHubHTTPError) and exc.response is not None else None)
        if status == 401:
            return EnvironmentProblem(f"{what}: not found or not authorised on {self.where()} (HTTP 401); for a "
                                      "private or gated model provide a token (HF_TOKEN or --token-file)")
        if status == 403:
            return EnvironmentProblem(f"{what}: access refused by {self.where()} (HTTP 403); check the token's "
                                      "permissions")
        if status == 404 or isinstance(exc, errors.RepositoryNotFoundError):
            return InvalidInput(f"{what}: repository not found on {self.where()}")
        if status is not None:
            return EnvironmentProblem(f"{what}: {self.where()} answered HTTP {status}: {self._first_line(exc)}")
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return EnvironmentProblem(f"{what}: no space left on the cache volume")
        if isinstance(exc, (_Transport, _Incomplete, *_hf_transport_errors())):
            return EnvironmentProblem(f"{what}: cannot download from {self.where()}: {self._first_line(exc)}")
        return EnvironmentProblem(f"{what}: {type(exc).__name__}: {self._first_line(exc)}")

    def _retryable(self, exc: BaseException) -> tuple[bool, float | None]:
        from huggingface_hub import errors

        if isinstance(exc, _Status):
            return exc.code in RETRY_STATUS, _retry_after(exc.headers.get("Retry-After"))
        if isinstance(exc, errors.HfHubHTTPError):
            response = exc.response
            if response is not None and response.status_code in RETRY_STATUS:
                return True, _retry_after(response.headers.get("Retry-After"))
            return False, None
        return isinstance(exc, (_Transport, _Incomplete, DigestMismatch, *_hf_transport_errors())), None

    def _with_retries(self, what: str, attempt: Callable[[], object], progress: Callable[[], int] = lambda: 0):
        """Run `attempt` until it succeeds; failures are counted only while `progress()` does not move."""
        failures = 0
        mark = progress()
        while True:
            try:
                return attempt()
            except (LeaseLost, Cancelled, AimgenError, KeyboardInterrupt):
                raise
            except Exception as exc:  # classified below: retry, or one clear line
                retry, retry_after = self._retryable(exc)
                if not retry:
                    raise self.translate(exc, what) from None
                now = progress()
                failures = 1 if now != mark else failures + 1
                mark = now
                if failures > self.policy.retries:
                    raise self.translate(exc, f"{what} (gave up after {self.policy.retries} retries)") from None
                delay = self.policy.delay(failures, random.Random(), retry_after)
                console.warning(f"{what}: {type(exc).__name__}: {self._first_line(exc)}; "
                                f"retry {failures}/{self.policy.retries} in {delay:.1f}s",
                                event="cache.retry", file=what, attempt=failures, delay_s=round(delay, 2))
                time.sleep(delay)

    # --- model info --------------------------------------------------------------------------------------------
    def listing(self, model_id: str, revision: str) -> Listing:
        hf = _hf()
        api = hf.HfApi(endpoint=self.endpoint, token=self.token, library_name="aimgen", library_version=__version__)

        what = f"{model_id}@{revision}"

        def attempt():
            try:
                return api.model_info(model_id, revision=revision, files_metadata=True, timeout=self.timeout,
                                      token=self.token)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                # huggingface_hub's parser met a field missing or of the wrong type (an LFS entry without size).
                raise self._hostile(what, f"model info huggingface_hub cannot read ({type(exc).__name__}: "
                                          f"{self._first_line(exc)[:120]})") from None

        info = self._with_retries(what, attempt)
        if not info.sha or info.siblings is None:
            raise EnvironmentProblem(f"{what}: {self.where()} returned no commit sha or file list; "
                                     "is HF_ENDPOINT a Hub-compatible endpoint?")
        if not isinstance(info.sha, str) or not is_commit(info.sha):
            # The sha names a folder under snapshots/: '../../x' or '/x' would write outside the cache.
            raise self._hostile(what, f"commit {str(info.sha)[:80]!r}, which is not a 40-hex commit sha")
        files = tuple(self._repo_file(what, model_id, info.sha, s) for s in info.siblings)
        problem = tree_problem([f.name for f in files])
        if problem is not None:
            raise self._hostile(what, problem)
        return Listing(model_id, info.sha, files)

    def _hostile(self, what: str, problem: str) -> EnvironmentProblem:
        return EnvironmentProblem(f"{what}: the Hub at {self.where()} returned {problem}; refusing it (a broken "
                                  "or hostile mirror?)")

    def _repo_file(self, what: str, model_id: str, commit: str, sibling) -> RepoFile:
        """One listed file, every field that becomes a path or a limit checked."""
        name = sibling.rfilename
        problem = repo_path_problem(name)
        if problem is not None:
            raise self._hostile(what, problem)
        lfs = sibling.lfs
        sha256 = lfs.sha256 if lfs is not None else None
        blob_id = sibling.blob_id
        if sha256 is not None and not (isinstance(sha256, str) and SHA256_RE.fullmatch(sha256)):
            raise self._hostile(what, f"an LFS sha256 {str(sha256)[:80]!r} for {name!r}")
        if blob_id is not None and not (isinstance(blob_id, str) and GIT_OID_RE.fullmatch(blob_id)):
            raise self._hostile(what, f"a git blob id {str(blob_id)[:80]!r} for {name!r}")
        if sha256 is None and blob_id is None:
            raise self._hostile(what, f"neither a git blob id nor an LFS sha256 for {name!r}")
        size = lfs.size if lfs is not None else sibling.size
        if size is None and lfs is None:
            size = self._small_file_size(what, model_id, commit, name)
        if size is None:
            raise EnvironmentProblem(f"{what}: {self.where()} did not list the size of the LFS file {name!r}; "
                                     "without it a download cannot be capped, so it is refused")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise self._hostile(what, f"a size {str(size)[:40]!r} for {name!r}")
        return RepoFile(name=name, size=size, blob_id=blob_id, sha256=sha256)

    def _small_file_size(self, what: str, model_id: str, commit: str, name: str) -> int:
        """A mirror that lists no size for a regular (non-LFS) file: take the size its HEAD answer gives, up to
        SMALL_FILE_MAX. The Hub keeps every file above 10 MB in LFS, so a larger regular file is not a real repo's."""
        hf = _hf()
        url = hf.hf_hub_url(model_id, name, revision=commit, endpoint=self.endpoint)

        def attempt():
            return hf.get_hf_file_metadata(url, token=self.token, timeout=self.timeout, endpoint=self.endpoint,
                                           library_name="aimgen", library_version=__version__)

        size = self._with_retries(f"{model_id}/{name}", attempt).size
        if not isinstance(size, int) or size > SMALL_FILE_MAX:
            shown = "no size" if not isinstance(size, int) else f"{size} bytes"
            raise EnvironmentProblem(
                f"{what}: {self.where()} did not list the size of {name!r} and its HEAD answer gives {shown}; "
                f"a file without a listed size is accepted only up to {SMALL_FILE_MAX >> 20} MiB (the Hub's limit "
                "for files outside LFS), so that a download can be capped")
        return size

    # --- file download -----------------------------------------------------------------------------------------
    def download(self, model_id: str, commit: str, f: RepoFile, writer: PartialWriter, *, lease: Lease | None,
                 on_bytes: Callable[[int], None]) -> None:
        """Fill `writer` with the file's bytes (resuming from writer.offset) and check them."""
        what = f"{model_id}/{f.name}"

        def attempt():
            if writer.offset < f.size:
                try:
                    self._fetch_once(model_id, commit, f, writer, lease, on_bytes)
                except _Oversize as exc:
                    # Nothing of such a body is trusted: the partial goes, so no run leaves more than the listed size.
                    on_bytes(-writer.offset)
                    writer.reset()
                    writer.path.unlink(missing_ok=True)
                    raise EnvironmentProblem(f"{what}: {self.where()} {exc}; refusing the file (a broken or hostile "
                                             "mirror?)") from None
            if writer.offset != f.size:
                raise _Incomplete(f"body ended at byte {writer.offset} of {f.size}")
            done = writer.offset
            try:
                writer.finish()
            except DigestMismatch:
                on_bytes(-done)  # the writer starts again from an empty file
                raise

        self._with_retries(what, attempt, progress=lambda: writer.offset)

    def _fetch_once(self, model_id, commit, f, writer, lease, on_bytes) -> None:
        hf = _hf()
        from huggingface_hub.utils import build_hf_headers

        url = hf.hf_hub_url(model_id, f.name, revision=commit, endpoint=self.endpoint)
        meta = hf.get_hf_file_metadata(url, token=self.token, timeout=self.timeout, endpoint=self.endpoint,
                                       library_name="aimgen", library_version=__version__)
        self._check_metadata(model_id, commit, f, meta)
        headers = build_hf_headers(token=self.token, library_name="aimgen", library_version=__version__)
        xet = getattr(meta, "xet_file_data", None)  # absent before huggingface_hub 0.30
        if xet is not None and self.use_xet and not self._xet_broken:
            if self._xet(f, meta, writer, headers, on_bytes):
                return
        location = meta.location or url
        if _origin(location) != _origin(url):
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        headers["Accept-Encoding"] = "identity"
        if writer.offset:
            headers["Range"] = f"bytes={writer.offset}-"
        try:
            response = _open(location, headers, self.timeout)
        except _Status as exc:
            if exc.code == 416 and writer.offset:
                on_bytes(-writer.offset)
                writer.reset()
                raise _Incomplete("server refused the resume range; starting over") from None
            raise
        with response:
            if writer.offset and response.status == 200:
                on_bytes(-writer.offset)  # the server ignored the Range: take the body from byte 0
                writer.reset()
            elif writer.offset and not _continues_at(response.headers.get("Content-Range"), writer.offset):
                raise _Incomplete(f"server answered Range bytes={writer.offset}- with "
                                  f"{response.headers.get('Content-Range')!r}")
            room = f.size - writer.offset
            length = response.headers.get("Content-Length")
            if length is not None and length.strip().isdigit() and int(length) > room:
                raise _Oversize(f"announced {length} bytes from byte {writer.offset}, but the listing gives "
                                f"{f.size} in all")
            encoding = response.headers.get("Content-Encoding", "identity").lower()
            if encoding != "identity":
                raise EnvironmentProblem(f"{model_id}/{f.name}: {self.where()} sent a {encoding}-encoded body "
                                         "although identity was asked for")
            while True:
                if lease is not None and lease.lost:
                    raise LeaseLost(f.name)
                try:
                    # read1: whatever one socket read brings (up to 1 MiB), so a slow link still reports
                    # progress and notices a lost lease; readinto would wait for a full buffer.
                    chunk = response.read1(BODY_BUFFER)
                except (OSError, http.client.HTTPException) as exc:
                    raise _Transport(f"{type(exc).__name__}: {exc}") from None
                if not chunk:
                    break
                if len(chunk) > f.size - writer.offset:
                    # Checked before writing: a body with no Content-Length that runs on is cut at the listed size.
                    raise _Oversize(f"sent more than the {f.size} bytes the listing gives")
                writer.write(chunk)
                on_bytes(len(chunk))

    def _check_metadata(self, model_id: str, commit: str, f: RepoFile, meta) -> None:
        etag = (meta.etag or "").strip('"')
        mismatch = []
        if meta.commit_hash and meta.commit_hash != commit:
            mismatch.append(f"commit {meta.commit_hash} != {commit}")
        if etag and etag != f.etag:
            mismatch.append(f"etag {etag} != {f.etag}")
        if meta.size is not None and meta.size != f.size:
            mismatch.append(f"size {meta.size} != {f.size}")
        if mismatch:
            raise InvalidInput(f"{model_id}/{f.name}: {self.where()} serves a different file than it lists "
                               f"({'; '.join(mismatch)}); is the mirror in sync?")

    def _xet(self, f: RepoFile, meta, writer: PartialWriter, headers: dict, on_bytes) -> bool:
        from pathlib import Path

        from huggingface_hub.file_download import xet_get

        on_bytes(-writer.offset)
        writer.reset()
        try:
            xet_get(incomplete_path=Path(writer.path), xet_file_data=meta.xet_file_data, headers=dict(headers),
                    expected_size=f.size, displayed_filename=f.name)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # any Xet failure: plain HTTP still works for the same file
            with self._lock:
                first = not self._xet_broken
                self._xet_broken = True
            if first:
                console.warning(f"Xet transfer failed ({type(exc).__name__}: {self._first_line(exc)[:200]}); "
                                "falling back to plain HTTP for this run (HF_HUB_DISABLE_XET=1 skips Xet)",
                                event="cache.xet_fallback")
            writer.reset()
            return False
        writer.reload()
        on_bytes(writer.offset)
        return True


class _DropAuthOffOrigin(urllib.request.HTTPRedirectHandler):
    """urllib copies every header to a redirect target; the token must not follow a redirect to another host."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and _origin(newurl) != _origin(req.full_url):
            for name in [k for k in new.headers if k.lower() == "authorization"]:
                del new.headers[name]
        return new


_OPENER = urllib.request.build_opener(_DropAuthOffOrigin)


def _open(url: str, headers: dict, timeout: float):
    """GET with redirects, proxies from the environment and TLS; the socket timeout bounds connect and each read."""
    try:
        return _OPENER.open(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise _Status(exc.code, exc.headers) from None
    except (OSError, http.client.HTTPException) as exc:
        raise _Transport(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}") from None


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def _continues_at(content_range: str | None, offset: int) -> bool:
    try:
        return int((content_range or "").split()[1].split("-")[0]) == offset
    except (IndexError, ValueError):
        return False
