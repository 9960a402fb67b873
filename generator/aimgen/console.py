"""The one console: messages to stderr, artifacts to stdout.

On a terminal messages are human lines (coloured unless NO_COLOR is set); elsewhere (CI logs, pods)
they are JSON lines with stable keys: ts, level, event, message and any fields. AIMGEN_LOG_FORMAT
(text|json) overrides the choice. Callers pass no tokens; every line is still redacted (aimgen.secrets) so that
a credential inside a URL or an error text from a library never reaches a log.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from typing import Any, TextIO

from aimgen.secrets import redact

# Control characters and line separators that a file name, a YAML key or a remote's error text may carry: a
# message stays one line (str.splitlines() splits on \x1c-\x1e, \x85, \u2028 too) and cannot drive the terminal.
_UNPRINTABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")


def one_line(text: str) -> str:
    """text with every control character and line break written as an escape (\\n, \\x1b, ...)."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


_COLOURS = {"error": "\033[31m", "warning": "\033[33m", "info": "", "debug": "\033[2m"}
_RESET = "\033[0m"


class Console:
    def __init__(self, stream: TextIO | None = None, fmt: str | None = None):
        self._stream = stream
        self._fmt = fmt

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stderr

    @property
    def is_terminal(self) -> bool:
        return hasattr(self.stream, "isatty") and self.stream.isatty()

    def format(self) -> str:
        chosen = self._fmt or os.environ.get("AIMGEN_LOG_FORMAT", "").lower()
        if chosen in ("text", "json"):
            return chosen
        return "text" if self.is_terminal else "json"

    def emit(self, level: str, event: str, message: str = "", **fields: Any) -> None:
        message = redact(message)
        fields = {k: redact(v) if isinstance(v, str) else v for k, v in fields.items()}
        if self.format() == "json":
            now = time.time()  # one reading: seconds and milliseconds of the same instant
            record = {
                "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z",
                "level": level,
                "event": event,
            }
            if message:
                record["message"] = message
            # Fields never overwrite the fixed keys a log pipeline parses.
            record.update((k, v) for k, v in fields.items() if k not in record)
            self.stream.write(json.dumps(record, default=str, sort_keys=False) + "\n")
        else:
            text = one_line(message or event)
            extra = one_line(" ".join(f"{k}={v}" for k, v in fields.items()))
            line = f"{text} {extra}".rstrip() if extra else text
            if level in ("error", "warning"):
                line = f"{level}: {line}"
            colour = _COLOURS.get(level, "")
            if colour and self.is_terminal and not os.environ.get("NO_COLOR"):
                line = f"{colour}{line}{_RESET}"
            self.stream.write(line + "\n")
        self.stream.flush()

    def error(self, message: str, event: str = "error", **fields: Any) -> None:
        self.emit("error", event, message, **fields)

    def warning(self, message: str, event: str = "warning", **fields: Any) -> None:
        self.emit("warning", event, message, **fields)

    def info(self, message: str, event: str = "info", **fields: Any) -> None:
        self.emit("info", event, message, **fields)


console = Console()
