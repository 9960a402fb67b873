"""Findings: what a check found, collected and reported once at the CLI edge."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable

from aimgen.console import one_line
from aimgen.secrets import redact

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    level: str  # "error" | "warning"
    code: str  # stable, e.g. "K8S001", "CRD002", "RECIPE010"
    file: str  # file name, or "<stdin>", or a document label such as "InferenceService/qwen3-8b"
    path: str  # field path inside it, e.g. "spec.predictor.model.args[3]"
    message: str  # what is wrong and what would be valid

    def line(self) -> str:
        where = self.file + (f": {self.path}" if self.path else "")
        return one_line(redact(f"{self.level}[{self.code}] {where}: {self.message}"))

    def as_dict(self) -> dict:
        # Reports go to stdout and into CI logs: a schema message may quote a checked value, so redact it.
        return {k: redact(v) if isinstance(v, str) else v for k, v in asdict(self).items()}


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.level == ERROR for f in findings)


def json_path(parts: Iterable[object]) -> str:
    """Render a jsonschema-style path (deque of keys/indexes) as a.b[0].c."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
