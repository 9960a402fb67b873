"""Resumable writes into a partial file, checked before they are published as a blob.

A partial file lives under aimgen/partial/, never under its final name. It is opened in append mode, so if a
paused holder and its successor ever write at once the size comes out wrong and the file is refused. A blob is
published (renamed into blobs/) only when its size and digest match what the source listed.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from aimgen.cache.files import RepoFile

READ_CHUNK = 8 << 20


class DigestMismatch(Exception):
    pass


def new_hasher(f: RepoFile, algorithm: str | None = None):
    """sha256 for LFS files (the Hub lists it); git's blob sha1 for regular files (the Hub's ETag)."""
    if f.sha256 or algorithm == "sha256":
        return hashlib.sha256()
    git = hashlib.sha1()
    git.update(f"blob {f.size}\0".encode())
    return git


def expected_digest(f: RepoFile) -> str | None:
    return f.sha256 or f.blob_id


def file_digest(path: Path, f: RepoFile) -> str:
    hasher = new_hasher(f)
    with open(path, "rb") as fh:
        while chunk := fh.read(READ_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


class PartialWriter:
    """Append-only writer with a running digest. `offset` is where a resumed download continues."""

    def __init__(self, path: Path, f: RepoFile, *, check_digest: bool = True, algorithm: str | None = None):
        self.path = path
        self.file = f
        self.check_digest = check_digest
        self.algorithm = algorithm
        self._open()

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "ab")
        self.offset = self._fh.tell()
        if self.offset > self.file.size:  # not a prefix of this file: start over
            self.reset()
        self._hasher = new_hasher(self.file, self.algorithm) if self.check_digest else None
        if self._hasher is not None and self.offset:
            with open(self.path, "rb") as fh:
                remaining = self.offset
                while remaining and (chunk := fh.read(min(READ_CHUNK, remaining))):
                    self._hasher.update(chunk)
                    remaining -= len(chunk)

    def reload(self) -> None:
        """Re-read the file after something else (a Xet transfer) wrote it."""
        self.close()
        self._open()

    def write(self, chunk: bytes) -> None:
        self._fh.write(chunk)
        if self._hasher is not None:
            self._hasher.update(chunk)
        self.offset += len(chunk)

    def reset(self) -> None:
        self._fh.flush()
        os.ftruncate(self._fh.fileno(), 0)
        self._fh.seek(0)
        self.offset = 0
        self._hasher = new_hasher(self.file, self.algorithm) if self.check_digest else None

    def hexdigest(self) -> str | None:
        return self._hasher.hexdigest() if self._hasher is not None else None

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()

    def finish(self) -> None:
        """Check size (from the file system, which catches a concurrent writer) and digest; make it durable.
        On a mismatch the bytes are thrown away and the writer starts again from an empty file."""
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        size = os.stat(self.path).st_size
        problem = None
        want = expected_digest(self.file)
        if size != self.file.size:
            problem = f"{self.file.name}: got {size} bytes, expected {self.file.size}"
        elif self._hasher is not None and want and self._hasher.hexdigest() != want:
            problem = f"{self.file.name}: content digest {self._hasher.hexdigest()} != {want}"
        if problem:
            self.path.unlink(missing_ok=True)
            self._open()
            raise DigestMismatch(problem)

    def __enter__(self) -> PartialWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def publish(partial: Path, blob: Path) -> None:
    blob.parent.mkdir(parents=True, exist_ok=True)
    os.replace(partial, blob)


def blob_complete(blob: Path, f: RepoFile) -> bool:
    try:
        return os.stat(blob).st_size == f.size
    except OSError:
        return False
