"""Findings to stderr: one human line each on a terminal / with AIMGEN_LOG_FORMAT=text, JSON lines otherwise."""

from __future__ import annotations

from typing import Iterable

from aimgen.console import Console, console
from aimgen.findings import Finding


def emit_findings(findings: Iterable[Finding], out: Console = console) -> None:
    for finding in findings:
        if out.format() == "text":
            out.stream.write(finding.line() + "\n")
        else:
            out.emit(finding.level, "finding", finding.message, code=finding.code, file=finding.file, path=finding.path)
    out.stream.flush()
