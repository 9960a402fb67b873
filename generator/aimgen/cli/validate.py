"""`aimgen validate`: check manifests offline against CRDs and Kubernetes schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from aimgen.cli import options as o
from aimgen.cli.main import app
from aimgen.console import console
from aimgen.errors import InvalidInput


@app.command("validate")
def validate_command(
    files: Optional[List[str]] = typer.Argument(
        None, metavar="[FILE|DIR|-]...", help="Manifests to check (a directory: its *.yaml); - reads stdin."
    ),
    crds: Optional[List[Path]] = typer.Option(
        None, "--crds", metavar="DIR", help="CRD directory (repeatable). Default: AIMGEN_CRD_DIR or ../shared/*/*/crds."
    ),
    kube_version: Optional[str] = typer.Option(
        None, "--kube-version", metavar="X.Y", help="Kubernetes version for built-in kinds. Default: newest known."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON report on stdout instead of lines on stderr."),
    output_format: o.OutputFormat = "text",
) -> None:
    """Validate manifests: exit 0 valid, 1 invalid, 2 usage, 4 missing CRDs or tools."""
    as_json = o.wants_json(output_format, as_json)
    from aimgen.validate.files import validate_files
    from aimgen.validate.report import emit_findings

    report = validate_files(files or [], crd_dirs=crds or None, kube_version=kube_version)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        emit_findings(report.findings)
    counts = report.as_dict()["summary"]
    where = f"{report.documents} document(s) in {len(report.files)} file(s)"
    if not report.valid:
        # Raised, not typer.Exit(1): the top-level handler turns it into one line and exit code 1.
        raise InvalidInput(f"invalid: {counts['error']} error(s), {counts['warning']} warning(s) in {where}")
    if not as_json:
        warnings = f", {counts['warning']} warning(s)" if counts["warning"] else ""
        console.info(f"valid: {where}{warnings}", event="validated")
