"""The `aimgen validate` core: manifest files (or stdin) in, a report of findings out."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence, TextIO

from aimgen.errors import AimgenError, EnvironmentProblem, UsageError
from aimgen.findings import ERROR, WARNING, Finding, has_errors
from aimgen.validate.documents import load_yaml_documents, validate_documents
from aimgen.validate.serving import serving_findings

YAML_SYNTAX = "YAML001"  # the file is not YAML, or a document is not a mapping
NO_DOCUMENTS = "DOC006"  # a file with no objects (warning)
STDIN = "-"


@dataclass(frozen=True)
class ValidationReport:
    files: tuple[str, ...]
    documents: int
    kube_version: str | None  # None when no built-in kind needed (and kubernetes-validate is absent)
    crd_dirs: tuple[str, ...]
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def valid(self) -> bool:
        return not has_errors(self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "files": list(self.files),
            "documents": self.documents,
            "kube_version": self.kube_version,
            "crd_dirs": list(self.crd_dirs),
            "summary": {
                "error": sum(f.level == ERROR for f in self.findings),
                "warning": sum(f.level == WARNING for f in self.findings),
            },
            "findings": [f.as_dict() for f in self.findings],
        }


def expand_inputs(inputs: Sequence[str]) -> list[str]:
    """Files as given; a directory stands for the *.yaml / *.yml files under it."""
    if not inputs:
        raise UsageError("give one or more manifest files or directories, or - to read stdin")
    out: list[str] = []
    for item in inputs:
        path = Path(item)
        if item == STDIN or path.is_file() or (path.exists() and not path.is_dir()):
            out.append(item)  # a FIFO or device too: reading refuses it, as one finding
        elif path.is_dir():
            found = sorted(str(p) for p in {*path.rglob("*.yaml"), *path.rglob("*.yml")} if p.is_file())
            if not found:
                raise UsageError(f"{item}: directory holds no *.yaml or *.yml files")
            out += found
        else:
            raise UsageError(f"{item}: no such file or directory")
    return out


def _read(item: str, stdin: TextIO) -> str:
    from aimgen.loading import read_stream, read_text

    if item == STDIN:
        return read_stream(stdin, "<stdin>")
    return read_text(Path(item), "manifest")


def _resolved_kube_version(requested: str | None) -> str | None:
    from aimgen.validate.kubernetes import resolve_kube_version

    try:
        return resolve_kube_version(requested)
    except EnvironmentProblem:
        if requested:
            raise
        return None


def validate_files(
    inputs: Sequence[str],
    *,
    crd_dirs: Sequence[Path | str] | None = None,
    kube_version: str | None = None,
    stdin: TextIO | None = None,
) -> ValidationReport:
    """Validate every document of every input; syntax errors become findings so all files get checked."""
    from aimgen.paths import default_crd_dirs

    files = expand_inputs(inputs)
    resolved = _resolved_kube_version(kube_version)  # a bad --kube-version fails before any file is read
    dirs = list(default_crd_dirs() if crd_dirs is None else crd_dirs)
    findings: list[Finding] = []
    loaded: list[tuple[str, dict]] = []
    documents = 0
    for item in files:
        source = "<stdin>" if item == STDIN else item
        try:
            docs = load_yaml_documents(_read(item, stdin or sys.stdin), source)
        except AimgenError as exc:
            if isinstance(exc, EnvironmentProblem):
                raise
            findings.append(Finding(ERROR, YAML_SYNTAX, source, "", exc.message))
            continue
        if not docs:
            findings.append(Finding(WARNING, NO_DOCUMENTS, source, "", "no Kubernetes objects in this file"))
        documents += len(docs)
        findings += validate_documents(docs, source=source, crd_dirs=dirs, kube_version=resolved)
        loaded += [(source, doc) for doc in docs]
    # Across files: an InferenceService and the runtime it names may come in different files.
    findings += serving_findings(loaded)
    return ValidationReport(
        files=tuple("<stdin>" if f == STDIN else f for f in files),
        documents=documents,
        kube_version=resolved,
        crd_dirs=tuple(str(d) for d in dirs),
        findings=tuple(findings),
    )
