"""`aimgen chart sync|check`: keep the chart's profile table in step with recipes/."""

from __future__ import annotations

import typer

from aimgen.cli.main import app, command_group
from aimgen.console import console
from aimgen.errors import InvalidInput

chart_app = command_group(help="Keep charts/aim-engine in step with the recipes.")
app.add_typer(chart_app, name="chart")


@chart_app.command("sync")
def sync_cmd() -> None:
    """Compile recipes/ and the catalog into charts/aim-engine (files/zero-config/: profiles and zero-config answers per model and GPU; files/chart.json; schema enums)."""
    from aimgen.chart_table import chart_files, orphan_files
    from aimgen.output import write_artifact

    files = chart_files()
    for path, text in files:
        if not path.exists() or path.read_text() != text:
            write_artifact(text, str(path))
            console.info(f"wrote {path}", event="chart_sync")
    for path in orphan_files(files):
        path.unlink()
        console.info(f"removed {path}", event="chart_sync")


@chart_app.command("check")
def check_cmd() -> None:
    """Exit 1 when a generated chart file is stale (run `aimgen chart sync`)."""
    from aimgen.chart_table import chart_files, orphan_files

    files = chart_files()
    for path, text in files:
        current = path.read_text() if path.exists() else ""
        if current != text:
            raise InvalidInput("generated chart file is stale: run `aimgen chart sync` and commit the result", file=str(path))
    for path in orphan_files(files):
        raise InvalidInput("generated chart file is no longer wanted: run `aimgen chart sync`", file=str(path))
    console.info("chart profile table and schema enums are up to date", event="chart_check")
