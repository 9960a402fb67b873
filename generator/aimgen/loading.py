"""Read one of our YAML inputs, schema-check it and fail with every finding at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from aimgen import paths
from aimgen.errors import InvalidInput
from aimgen.schema_check import check
from aimgen.yamlio import MAX_DOCUMENT_CHARS, load_with_lines


class InvalidDocument(InvalidInput):
    """A document failed its schema: carries all findings; the message is the first one."""

    def __init__(self, findings):
        self.findings = list(findings)
        first = self.findings[0]
        more = f" (+{len(self.findings) - 1} more)" if len(self.findings) > 1 else ""
        super().__init__(f"{first.path}: {first.message}{more}", file=first.file)


def read_text(path: Path, what: str) -> str:
    """A regular file's text, at most MAX_DOCUMENT_CHARS: /dev/zero, a FIFO or a directory is refused at once,
    before anything is read (opened non-blocking, so a FIFO without a writer cannot hang the open either)."""
    import os
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InvalidInput(f"{what} file not found", file=str(path)) from None
    except IsADirectoryError:
        raise InvalidInput(f"{what} path is a directory, expected a YAML file", file=str(path)) from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {what} file: {exc.strerror}", file=str(path)) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InvalidInput(f"{what} path is a directory, expected a YAML file", file=str(path))
        if not stat.S_ISREG(info.st_mode):
            raise InvalidInput(f"{what} is not a regular file (a device, FIFO or socket); give a file", file=str(path))
        if info.st_size > MAX_DOCUMENT_CHARS:
            raise InvalidInput(f"{what} file is larger than {MAX_DOCUMENT_CHARS // (1024 * 1024)} MiB; is this the "
                               "right file?", file=str(path))
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(MAX_DOCUMENT_CHARS + 1)  # a file that grows while read stops at the limit
    except OSError as exc:
        raise InvalidInput(f"cannot read {what} file: {exc.strerror}", file=str(path)) from None
    finally:
        os.close(fd)
    if len(data) > MAX_DOCUMENT_CHARS:
        raise InvalidInput(f"{what} file is larger than {MAX_DOCUMENT_CHARS // (1024 * 1024)} MiB", file=str(path))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{what} file is not UTF-8 text", file=str(path)) from None


def read_stream(stream, source: str) -> str:
    """stdin, bounded the same way as a file."""
    text = stream.read(MAX_DOCUMENT_CHARS + 1)
    if len(text) > MAX_DOCUMENT_CHARS:
        raise InvalidInput(f"input is larger than {MAX_DOCUMENT_CHARS // (1024 * 1024)} MiB", file=source)
    return text


def load_checked(path: Path, schema: str, what: str,
                 screen: Callable[[Any, str, dict], list] | None = None) -> tuple[Any, dict]:
    """Load YAML (or JSON) from path and check it against schemas/<schema>.schema.json; `screen` (data, file,
    lines) → findings runs first, for what must be refused before any message could quote it (secrets)."""
    text = read_text(path, what)
    remember = paths.shipped(path)
    data, lines = load_with_lines(text, str(path), remember)
    findings = (screen(data, str(path), lines) if screen else []) or check(data, schema, str(path), lines,
                                                                             remember=remember)
    if findings:
        raise InvalidDocument(findings)
    return data, lines
