"""Read one of our YAML inputs, schema-check it and fail with every finding at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aimgen.errors import InvalidInput
from aimgen.schema_check import check
from aimgen.yamlio import load_with_lines


class InvalidDocument(InvalidInput):
    """A document failed its schema: carries all findings; the message is the first one."""

    def __init__(self, findings):
        self.findings = list(findings)
        first = self.findings[0]
        more = f" (+{len(self.findings) - 1} more)" if len(self.findings) > 1 else ""
        super().__init__(f"{first.path}: {first.message}{more}", file=first.file)


def read_text(path: Path, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"{what} file not found", file=str(path)) from None
    except IsADirectoryError:
        raise InvalidInput(f"{what} path is a directory, expected a YAML file", file=str(path)) from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{what} file is not UTF-8 text", file=str(path)) from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {what} file: {exc.strerror}", file=str(path)) from None


def load_checked(path: Path, schema: str, what: str) -> tuple[Any, dict]:
    """Load YAML (or JSON) from path and check it against schemas/<schema>.schema.json."""
    text = read_text(path, what)
    data, lines = load_with_lines(text, str(path))
    findings = check(data, schema, str(path), lines)
    if findings:
        raise InvalidDocument(findings)
    return data, lines
