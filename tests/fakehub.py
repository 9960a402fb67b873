"""A fake Hugging Face Hub on 127.0.0.1 that speaks the part of the protocol huggingface_hub downloads with.

PYTEST_DONT_REWRITE (a plain helper module, also used by bench/cache.py).

What huggingface_hub (2.x, httpx2 transport) sends, and what this server answers:

- ``GET /api/models/{repo}/revision/{rev}?blobs=true`` (``HfApi.model_info(files_metadata=True)``): JSON with the
  commit ``sha`` and ``siblings`` (``rfilename``, ``size``, ``blobId``, ``lfs{sha256,size,pointerSize}``).
- ``HEAD /{repo}/resolve/{rev}/{file}`` (``get_hf_file_metadata``): ``X-Repo-Commit``, ``ETag`` (git blob id for
  regular files), and for LFS files a 302 to a CDN on *another origin* (``localhost`` instead of ``127.0.0.1``) with
  ``X-Linked-Etag`` (the sha256) and ``X-Linked-Size``. Optional Xet headers (``X-Xet-Hash``, ``Link: rel=xet-auth``).
- ``GET`` on the resolve or CDN URL, honouring ``Range: bytes=N-`` with 206 + ``Content-Range``.
- Errors carry ``X-Error-Code`` (RepoNotFound, RevisionNotFound, EntryNotFound) as the Hub does.

Files are either bytes or generated on the fly from a seed (so 256 MB files are never held in memory). Faults can be
injected per request (status codes, dropped connections, truncated bodies, delays, throttling); every request is
logged with its method, path, Range and Authorization header so tests can count downloads and check secrets.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest

BLOCK = 1 << 20
ENDLESS_GUARD = 256 << 20


class Content:
    size: int

    def iter_range(self, start: int, end: int, piece: int = BLOCK):
        raise NotImplementedError

    def _digests(self) -> tuple[str, str]:
        sha256 = hashlib.sha256()
        git = hashlib.sha1(f"blob {self.size}\0".encode())
        for part in self.iter_range(0, self.size):
            sha256.update(part)
            git.update(part)
        return sha256.hexdigest(), git.hexdigest()

    @property
    def sha256(self) -> str:
        if not hasattr(self, "_sha256"):
            self._sha256, self._git = self._digests()
        return self._sha256

    @property
    def git_oid(self) -> str:
        self.sha256  # noqa: B018 - computes both digests once
        return self._git

    def read_all(self) -> bytes:
        return b"".join(self.iter_range(0, self.size))


class BytesContent(Content):
    def __init__(self, data: bytes):
        self.data = data
        self.size = len(data)

    def iter_range(self, start, end, piece=BLOCK):
        view = memoryview(self.data)
        for pos in range(start, end, piece):
            yield view[pos : min(end, pos + piece)]


class GeneratedContent(Content):
    """`size` bytes made of one pseudo-random 1 MiB block (derived from `seed`) repeated; nothing else in memory."""

    def __init__(self, size: int, seed: str):
        self.size = size
        out = bytearray()
        counter = 0
        while len(out) < BLOCK:
            out += hashlib.sha512(f"{seed}:{counter}".encode()).digest()
            counter += 1
        self.block = bytes(out[:BLOCK]) * 2  # doubled so any offset can take a full piece without wrapping

    def iter_range(self, start, end, piece=BLOCK):
        view = memoryview(self.block)
        pos = start
        while pos < end:
            off = pos % BLOCK
            n = min(piece, end - pos, BLOCK)
            yield view[off : off + n]
            pos += n


def as_content(value) -> Content:
    if isinstance(value, Content):
        return value
    if isinstance(value, str):
        value = value.encode()
    return BytesContent(bytes(value))


@dataclass
class Fault:
    """Applied to the next `times` requests whose method and path match (fnmatch on the path)."""

    kind: str  # status | drop | truncate | delay | throttle | corrupt | ignore_range | endless | oversize
    path: str = "*"
    method: str = "*"
    times: int = 1
    status: int = 503
    after_bytes: int = 0  # truncate: bytes sent before closing
    seconds: float = 0.0  # delay
    rate: float = 0.0  # throttle: bytes per second

    def matches(self, method: str, path: str) -> bool:
        return self.times > 0 and fnmatch.fnmatch(method, self.method) and fnmatch.fnmatch(path, self.path)


@dataclass
class Commit:
    sha: str
    files: dict[str, tuple[Content, bool]]  # name -> (content, is_lfs)


@dataclass
class Repo:
    repo_id: str
    commits: dict[str, Commit] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)


class FakeHub:
    def __init__(self, *, cdn_host: str = "localhost", xet: bool = False, require_token: str | None = None):
        self.repos: dict[str, Repo] = {}
        self.faults: list[Fault] = []
        self.log: list[dict] = []
        self.cdn_host = cdn_host
        self.xet = xet
        self.require_token = require_token
        # Hostile or broken mirrors: edits the model-info JSON before it is sent (a bad sha, '../' names, no sizes).
        self.listing_edit: Callable[[dict], None] | None = None
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- content -----------------------------------------------------------------------------------------------
    def add_repo(self, repo_id: str, files: dict, *, lfs: set[str] | None = None, branch: str = "main",
                 commit: str | None = None) -> str:
        """Add a commit with `files` (name -> bytes/str/Content) and point `branch` at it. Files ending in
        .safetensors/.bin/.pt/.pth/.pkl or any name in `lfs` are LFS files. Returns the commit sha."""
        weights = (".safetensors", ".bin", ".pt", ".pth", ".pkl", ".gguf")
        entries = {}
        for name, value in files.items():
            is_lfs = name.endswith(weights) or (lfs is not None and name in lfs)
            entries[name] = (as_content(value), is_lfs)
        if commit is None:
            digest = hashlib.sha1(repo_id.encode())
            for name in sorted(entries):
                content = entries[name][0]
                digest.update(f"{name}:{content.size}:{content.git_oid}".encode())
            commit = digest.hexdigest()
        repo = self.repos.setdefault(repo_id, Repo(repo_id))
        repo.commits[commit] = Commit(commit, entries)
        repo.refs[branch] = commit
        return commit

    def file(self, repo_id: str, name: str, revision: str = "main") -> Content:
        repo = self.repos[repo_id]
        return repo.commits[repo.refs.get(revision, revision)].files[name][0]

    # --- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> str:
        hub = self

        class Handler(_Handler):
            pass

        Handler.hub = hub
        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fakehub", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeHub:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- faults and log ----------------------------------------------------------------------------------------
    def inject(self, kind: str, **kwargs) -> Fault:
        fault = Fault(kind, **kwargs)
        with self._lock:
            self.faults.append(fault)
        return fault

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    return fault
        return None

    def record(self, entry: dict) -> None:
        with self._lock:
            self.log.append(entry)

    def clear_log(self) -> None:
        with self._lock:
            self.log.clear()

    def requests(self, method: str | None = None, path: str = "*") -> list[dict]:
        with self._lock:
            entries = list(self.log)
        return [e for e in entries if (method is None or e["method"] == method) and fnmatch.fnmatch(e["path"], path)]

    def downloads(self) -> dict[str, int]:
        """File body downloads (GET on resolve or CDN URLs that sent bytes), counted per file sha/name."""
        counts: dict[str, int] = {}
        for e in self.requests("GET"):
            if e.get("file") and e["status"] in (200, 206):
                counts[e["file"]] = counts.get(e["file"], 0) + 1
        return counts


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hub: FakeHub

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    # --- routing -------------------------------------------------------------------------------------------------
    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        path = unquote(split.path)
        entry = {"method": method, "path": path, "range": self.headers.get("Range"),
                 "auth": self.headers.get("Authorization"), "status": None, "file": None, "sent": 0,
                 "time": time.time()}
        self.hub.record(entry)
        try:
            fault = self.hub.take_fault(method, path)
            if fault is not None and fault.kind == "delay":
                time.sleep(fault.seconds)
                fault = None
            if fault is not None and fault.kind == "drop":
                entry["status"] = "dropped"
                self._abort()
                return
            if fault is not None and fault.kind == "status":
                self._send_error(entry, fault.status, "Injected", "injected fault")
                return
            if path.startswith("/api/models/"):
                self._model_info(entry, path[len("/api/models/"):], parse_qs(split.query))
            elif path.startswith("/cdn/"):
                self._cdn(entry, method, path[len("/cdn/"):], fault)
            elif "/resolve/" in path:
                self._resolve(entry, method, path.lstrip("/"), fault)
            else:
                self._send_error(entry, 404, "NotFound", "no such route")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _authorised(self, entry: dict) -> bool:
        token = self.hub.require_token
        if token is None or self.headers.get("Authorization") == f"Bearer {token}":
            return True
        self._send_error(entry, 401, "RepoNotFound", "Invalid credentials in Authorization header")
        return False

    def _lookup(self, entry: dict, repo_id: str, revision: str) -> Commit | None:
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            self._send_error(entry, 404, "RepoNotFound", f"Repository {repo_id} not found")
            return None
        sha = repo.refs.get(revision, revision)
        commit = repo.commits.get(sha)
        if commit is None:
            self._send_error(entry, 404, "RevisionNotFound", f"Invalid rev id: {revision}")
            return None
        return commit

    def _model_info(self, entry: dict, rest: str, query: dict) -> None:
        if "/xet-read-token/" in rest:
            # Xet token refresh: this fake has no Xet storage, so the transfer fails and the client must fall back.
            self._send_error(entry, 404, "NotFound", "xet is not available on this server")
            return
        if not self._authorised(entry):
            return
        if "/tree/" in rest:  # list_repo_tree, what snapshot_download lists a commit with (no pagination here)
            repo_id, revision = rest.split("/tree/", 1)
            commit = self._lookup(entry, repo_id, revision.split("/", 1)[0])
            if commit is not None:
                self._send_json(entry, [_tree_entry(name, content, is_lfs)
                                        for name, (content, is_lfs) in sorted(commit.files.items())])
            return
        if "/revision/" in rest:
            repo_id, revision = rest.split("/revision/", 1)
        else:
            repo_id, revision = rest, "main"
        commit = self._lookup(entry, repo_id, revision)
        if commit is None:
            return
        siblings = []
        for name, (content, is_lfs) in sorted(commit.files.items()):
            sibling = {"rfilename": name, "size": content.size, "blobId": content.git_oid}
            if is_lfs:
                sibling["blobId"] = hashlib.sha1(f"pointer:{content.sha256}".encode()).hexdigest()
                sibling["lfs"] = {"size": content.size, "sha256": content.sha256, "pointerSize": 134}
            siblings.append(sibling)
        info = {"_id": "x", "id": repo_id, "modelId": repo_id, "sha": commit.sha, "private": False,
                "siblings": siblings}
        if self.hub.listing_edit is not None:
            self.hub.listing_edit(info)
        self._send_json(entry, info)

    def _send_json(self, entry: dict, value) -> None:
        body = json.dumps(value).encode()
        entry["status"] = 200
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _resolve(self, entry: dict, method: str, rest: str, fault: Fault | None) -> None:
        if not self._authorised(entry):
            return
        repo_part, tail = rest.split("/resolve/", 1)
        revision, _, name = tail.partition("/")
        commit = self._lookup(entry, repo_part, revision)
        if commit is None:
            return
        if name not in commit.files:
            self._send_error(entry, 404, "EntryNotFound", f"{name} does not exist at {revision}",
                             extra={"X-Repo-Commit": commit.sha})
            return
        content, is_lfs = commit.files[name]
        headers = {"X-Repo-Commit": commit.sha, "Accept-Ranges": "bytes"}
        if self.hub.xet and is_lfs:
            headers["X-Xet-Hash"] = hashlib.sha256(b"xet" + content.sha256.encode()).hexdigest()
            refresh = f"{self.hub.url}/api/models/{repo_part}/xet-read-token/{commit.sha}"
            headers["Link"] = f'<{refresh}>; rel="xet-auth"'
        if is_lfs:
            headers["ETag"] = f'"{hashlib.sha1(content.sha256.encode()).hexdigest()}"'
            headers["X-Linked-Etag"] = f'"{content.sha256}"'
            headers["X-Linked-Size"] = str(content.size)
            location = f"http://{self.hub.cdn_host}:{self.hub.port}/cdn/{content.sha256}?name={quote(name)}"
            headers["Location"] = location
            headers["Content-Length"] = "0"
            entry["status"] = 302
            self.send_response(302)
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            return
        headers["ETag"] = f'"{content.git_oid}"'
        entry["file"] = name
        self._send_body(entry, method, content, headers, fault)

    def _cdn(self, entry: dict, method: str, sha: str, fault: Fault | None) -> None:
        for repo in self.hub.repos.values():
            for commit in repo.commits.values():
                for name, (content, is_lfs) in commit.files.items():
                    if is_lfs and content.sha256 == sha:
                        entry["file"] = name
                        self._send_body(entry, method, content, {"ETag": f'"{sha}"', "Accept-Ranges": "bytes"},
                                        fault)
                        return
        self._send_error(entry, 404, "NotFound", "no such object")

    # --- responses -----------------------------------------------------------------------------------------------
    def _send_body(self, entry: dict, method: str, content: Content, headers: dict, fault: Fault | None) -> None:
        start, end = 0, content.size
        status = 200
        wanted = self.headers.get("Range")
        if fault is not None and fault.kind == "ignore_range":
            wanted = None
        if wanted and wanted.startswith("bytes="):
            first, _, last = wanted[len("bytes="):].partition("-")
            start = int(first or 0)
            end = int(last) + 1 if last else content.size
            if start >= content.size:
                self._send_error(entry, 416, "RangeNotSatisfiable", "range not satisfiable",
                                 extra={"Content-Range": f"bytes */{content.size}"})
                return
            status = 206
            headers = {**headers, "Content-Range": f"bytes {start}-{end - 1}/{content.size}"}
        entry["status"] = status
        if fault is not None and fault.kind == "endless" and method == "GET":
            self._send_endless(entry, status, headers, content)
            return
        extra = 0
        if fault is not None and fault.kind == "oversize":
            extra = fault.after_bytes or BLOCK
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(end - start + extra))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if method == "HEAD":
            return
        limit = end
        if fault is not None and fault.kind == "truncate":
            limit = min(end, start + fault.after_bytes)
        piece = BLOCK
        if fault is not None and fault.kind == "throttle":
            piece = max(1024, int(fault.rate / 20))
        sent = 0
        for part in content.iter_range(start, limit, piece):
            if fault is not None and fault.kind == "corrupt" and sent == 0:
                part = bytes([part[0] ^ 0xFF]) + bytes(part[1:])
            self.wfile.write(part)
            sent += len(part)
            entry["sent"] = sent
            if fault is not None and fault.kind == "throttle":
                time.sleep(len(part) / fault.rate)
        if extra:
            self.wfile.write(b"\0" * extra)
            entry["sent"] = sent + extra
        if limit < end:
            self._close_early()

    def _send_endless(self, entry: dict, status: int, headers: dict, content: Content) -> None:
        """No Content-Length (a close-delimited body) and bytes until the client hangs up: the file's own bytes
        first, then more of the same, as a server that never stops would send."""
        self.close_connection = True
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        sent = 0
        try:
            while sent < ENDLESS_GUARD:  # so a client that never stops reading fails its test instead of hanging
                for part in content.iter_range(0, content.size):
                    self.wfile.write(part)
                    sent += len(part)
                    entry["sent"] = sent
                if not content.size:
                    self.wfile.write(b"\0" * BLOCK)
                    sent += BLOCK
                    entry["sent"] = sent
        except OSError:
            pass  # the client hung up, as it should

    def _send_error(self, entry: dict, status: int, code: str, message: str, extra: dict | None = None) -> None:
        entry["status"] = status
        body = json.dumps({"error": message}).encode()
        self.send_response(status)
        self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _close_early(self) -> None:
        """End the body early with a clean close (FIN): the client sees a short body, as after a proxy cut."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _abort(self) -> None:
        """Close the connection abruptly (RST), like a dropped link."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


# --- test helpers; the fixtures are imported by name (hub_fixture, cache_dir_fixture) into the test modules --------

AIMGEN = str(Path(sys.executable).parent / "aimgen")
CLEAN_ENV = ("HF_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "AIMGEN_CACHE_DIR", "HF_HOME", "HF_HUB_CACHE",
             "HF_HUB_DISABLE_XET", "AIMGEN_CACHE_FREE_BYTES", "HF_ENDPOINT")


def _tree_entry(name: str, content: Content, is_lfs: bool) -> dict:
    entry = {"type": "file", "path": name, "size": content.size, "oid": content.git_oid}
    if is_lfs:
        entry["oid"] = hashlib.sha1(f"pointer:{content.sha256}".encode()).hexdigest()
        entry["lfs"] = {"oid": content.sha256, "size": content.size, "pointerSize": 134}
    return entry


def events(text: str) -> list[dict]:
    """JSON log lines (console output with AIMGEN_LOG_FORMAT=json)."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def subprocess_env(hub_url: str | None, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    env.update({"AIMGEN_LOG_FORMAT": "json", "AIMGEN_CACHE_BACKOFF_BASE": "0.01", "AIMGEN_PROGRESS_INTERVAL": "0.5",
                "HF_HUB_DISABLE_TELEMETRY": "1"})
    if hub_url:
        env["HF_ENDPOINT"] = hub_url
    env.update(extra)
    return env


@pytest.fixture(name="hub")
def hub_fixture():
    server = FakeHub()
    server.start()
    yield server
    server.stop()


@pytest.fixture(name="cache_dir")
def cache_dir_fixture(tmp_path, monkeypatch, hub):
    """An empty cache dir, with the environment pointing huggingface_hub at the fake hub and nothing else."""
    for name in CLEAN_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("AIMGEN_LOG_FORMAT", "json")
    monkeypatch.setenv("AIMGEN_CACHE_BACKOFF_BASE", "0.01")
    monkeypatch.setenv("AIMGEN_PROGRESS_INTERVAL", "0.5")
    path = tmp_path / "cache"
    path.mkdir()
    return path
