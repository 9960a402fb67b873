"""Leases: which process on which host downloads a given file, safe on a shared ReadWriteMany volume.

flock/fcntl locks are not reliable on NFS (and not shared between pods on some drivers), so a lease is a plain file:

- acquire: create it with O_CREAT|O_EXCL (atomic on local file systems and NFSv3+), holding {owner, ttl, beat}.
- heartbeat: the holder rewrites the file every ttl/4 (a background thread), after checking it still owns it.
- expiry: a waiter that sees the same bytes for a full ttl, measured on its own monotonic clock, judges the holder
  dead. Clocks of different nodes are never compared, and reading the content (not the mtime) is what NFS
  close-to-open consistency makes fresh.
- takeover: the waiter renames the lease to a unique name (one rename wins) and checks it took the stale bytes it
  judged; if it displaced a fresh lease instead, it links it back. Then it creates its own with O_EXCL.

A holder that was only paused (not dead) finds on its next heartbeat that it lost the lease and stops writing; the
download it abandons is caught anyway because a file is published only after its size and digest check out.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable

from aimgen.console import console


class LeaseLost(Exception):
    """Raised inside a download when its lease was taken over: stop writing and let the new holder finish."""


@dataclass(eq=False)
class Lease:
    key: str
    path: Path
    lost: bool = False
    beats: int = 0


@dataclass
class _Seen:
    raw: bytes
    since: float


@dataclass
class LeaseKeeper:
    directory: Path
    ttl: float = 60.0
    # For short critical sections (the index) a lease older than this by its mtime is broken at once, so a crashed
    # holder cannot block warm starts for a full observation period. Needs roughly synchronised clocks (NTP).
    stale_after_wall: float | None = None
    clock: Callable[[], float] = time.monotonic
    token: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}")

    def __post_init__(self) -> None:
        self._seen: dict[str, _Seen] = {}
        self._held: set[Lease] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- acquisition -------------------------------------------------------------------------------------------
    def path(self, key: str) -> Path:
        return self.directory / f"{key}.lease"

    def try_acquire(self, key: str) -> Lease | None:
        """Take the lease if it is free or its holder is gone; never blocks."""
        path = self.path(key)
        lease = self._create(key, path)
        if lease is not None:
            return lease
        raw = _read(path)
        if raw is None:  # released in between: try again on the next poll
            return None
        now = self.clock()
        with self._lock:
            seen = self._seen.get(key)
            if seen is None or seen.raw != raw:
                self._seen[key] = _Seen(raw, now)
                if not self._wall_stale(path):
                    return None
            elif now - seen.since < _declared_ttl(raw, self.ttl) and not self._wall_stale(path):
                return None
            self._seen.pop(key, None)
        if not self._break(path, raw):
            return None
        previous = _parse(raw)
        console.warning(f"taking over {key}: holder {previous.get('owner', '?')} stopped its heartbeat",
                        event="cache.lease_takeover", key=key, previous_owner=previous.get("owner"))
        return self._create(key, path)

    def acquire(self, key: str, *, wait: float, poll: float = 0.05) -> Lease | None:
        deadline = self.clock() + wait
        while True:
            lease = self.try_acquire(key)
            if lease is not None or self.clock() >= deadline:
                return lease
            time.sleep(poll)

    def holder(self, key: str) -> str | None:
        raw = _read(self.path(key))
        return None if raw is None else _parse(raw).get("owner")

    def release(self, lease: Lease) -> None:
        with self._lock:
            self._held.discard(lease)
        if lease.lost:
            return
        raw = _read(lease.path)
        if raw is not None and _parse(raw).get("owner") == self.token:
            try:
                os.unlink(lease.path)
            except FileNotFoundError:
                pass

    # --- heartbeat ---------------------------------------------------------------------------------------------
    def __enter__(self) -> LeaseKeeper:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for lease in list(self._held):
            self.release(lease)

    def _ensure_heartbeat(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._heartbeat, name="lease-heartbeat", daemon=True)
            self._thread.start()

    def _heartbeat(self) -> None:
        interval = max(0.05, self.ttl / 4)
        while not self._stop.wait(interval):
            with self._lock:
                held = list(self._held)
            for lease in held:
                self._beat(lease)

    def _beat(self, lease: Lease) -> None:
        try:
            with open(lease.path, "r+b") as fh:
                if _parse(fh.read()).get("owner") != self.token:
                    lease.lost = True
                    return
                lease.beats += 1
                fh.seek(0)
                fh.write(self._content(lease))
                fh.truncate()
        except FileNotFoundError:
            lease.lost = True
        except OSError:
            pass  # a transient NFS error: the next beat retries well before the ttl runs out

    # --- internals ---------------------------------------------------------------------------------------------
    def _content(self, lease: Lease) -> bytes:
        return json.dumps({"owner": self.token, "key": lease.key, "ttl": self.ttl, "beat": lease.beats,
                           "time": time.time()}).encode()

    def _create(self, key: str, path: Path) -> Lease | None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return None
        lease = Lease(key, path)
        try:
            os.write(fd, self._content(lease))
        finally:
            os.close(fd)
        with self._lock:
            self._held.add(lease)
        self._ensure_heartbeat()
        return lease

    def _wall_stale(self, path: Path) -> bool:
        if self.stale_after_wall is None:
            return False
        try:
            return time.time() - path.stat().st_mtime > self.stale_after_wall
        except OSError:
            return False

    def _break(self, path: Path, stale_raw: bytes) -> bool:
        grave = path.with_name(f"{path.name}.{uuid.uuid4().hex[:12]}.stale")
        try:
            os.rename(path, grave)
        except FileNotFoundError:
            return False
        try:
            if _read(grave) == stale_raw:
                return True
            # We displaced a lease someone took (or refreshed) meanwhile: give it back unless yet another exists.
            try:
                os.link(grave, path)
            except OSError:
                pass
            return False
        finally:
            grave.unlink(missing_ok=True)


def _read(path: Path) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        return None


def _parse(raw: bytes) -> dict:
    try:
        value = json.loads(raw)
        return value if isinstance(value, dict) else {}
    except ValueError:
        return {}


def _declared_ttl(raw: bytes, default: float) -> float:
    # The holder's own ttl decides when it counts as dead (it promises a beat every ttl/4).
    ttl = _parse(raw).get("ttl")
    return float(ttl) if isinstance(ttl, (int, float)) and ttl > 0 else default
