"""File-system primitives that keep the cache consistent on local disks and NFS alike.

Readers on other hosts must only ever see complete files: everything is written under a unique temporary name in
the destination directory and renamed into place (rename is atomic on POSIX file systems, NFS included).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import uuid
from pathlib import Path
from typing import Any

from aimgen.errors import EnvironmentProblem, InvalidInput

FREE_BYTES_ENV = "AIMGEN_CACHE_FREE_BYTES"  # tests only: pretend the volume has this many free bytes


def unique_suffix() -> str:
    return f"{socket.gethostname()[:32]}.{os.getpid()}.{uuid.uuid4().hex[:8]}"


def atomic_write_bytes(path: Path, data: bytes, *, durable: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{unique_suffix()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_json(path: Path, value: Any, *, durable: bool = True) -> None:
    atomic_write_bytes(path, (json.dumps(value, indent=1, sort_keys=True) + "\n").encode(), durable=durable)


def read_json(path: Path) -> Any | None:
    """The JSON in `path`, or None if it is missing or unreadable (a torn or foreign file is treated as absent)."""
    try:
        with open(path, "rb") as fh:
            return json.loads(fh.read())
    except (OSError, ValueError):
        return None


def atomic_symlink(target: str, link: Path) -> None:
    """Point `link` at `target` (relative), replacing whatever was there, without a moment where it is missing."""
    link.parent.mkdir(parents=True, exist_ok=True)
    try:
        if os.readlink(link) == target:
            return
    except OSError:
        pass
    tmp = link.with_name(f".{link.name}.{unique_suffix()}.lnk")
    os.symlink(target, tmp)
    try:
        os.replace(tmp, link)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def free_bytes(path: Path) -> int:
    """Free space available to us on the volume holding `path` (the nearest existing ancestor)."""
    override = os.environ.get(FREE_BYTES_ENV)
    if override:
        try:
            return int(override)
        except ValueError:
            raise InvalidInput(f"{FREE_BYTES_ENV}={override!r} is not a whole number of bytes") from None
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


_OS_HINTS = {
    errno.EROFS: "the cache volume is mounted read-only; prefetch, prune, evict and repair need it read-write",
    errno.EACCES: "this user may not write there; give the volume to this user (fsGroup) or run as its owner",
    errno.EPERM: "this user may not write there; give the volume to this user (fsGroup) or run as its owner",
    errno.ENOSPC: "no space left on the cache volume; enlarge it or free space with 'aimgen cache prune'",
    errno.EDQUOT: "the disk quota of the cache volume is used up; enlarge it or 'aimgen cache prune'",
    errno.ENAMETOOLONG: "a path is too long for this file system",
}


def os_problem(exc: OSError, root: Path) -> EnvironmentProblem:
    """A file-system failure under the cache as one line (exit 4): what, where, and what would fix it."""
    where = exc.filename or root
    hint = _OS_HINTS.get(exc.errno or 0)
    reason = exc.strerror or type(exc).__name__
    return EnvironmentProblem(f"cache {root}: {where}: {reason}" + (f"; {hint}" if hint else ""))
