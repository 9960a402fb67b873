"""`aimgen dashboard preview|check`: look at the shipped Grafana dashboard without a Grafana, and check its queries."""

from __future__ import annotations

import typer
from typing_extensions import Annotated

from aimgen.cli import options as o
from aimgen.cli.main import app, command_group
from aimgen.console import console
from aimgen.errors import InvalidInput

dashboard_app = command_group(help="The Grafana dashboard aim-engine ships (monitoring.dashboard).")
app.add_typer(dashboard_app, name="dashboard")


@dashboard_app.command("preview")
def preview_cmd(
    output: Annotated[str, typer.Option("-o", "--output", help="PNG file to write ('-' is stdout).")] = "dashboard.png",
    release: Annotated[str, typer.Option("--release", help="Release name shown in the title.")] = "my-release",
    namespace: Annotated[str, typer.Option("--namespace", help="Namespace shown as the default.")] = "default",
) -> None:
    """Draw the dashboard's layout (panels, titles, the metrics each queries) as a PNG."""
    import json
    import sys

    from aimgen.observability import dashboard
    from aimgen.observability import template as t
    from aimgen.observability.preview import render_png

    model = json.loads(t.fill(dashboard.render_text(), {t.RELEASE: release, t.NAMESPACE: namespace}))
    png = render_png(model)
    if output == "-":
        sys.stdout.buffer.write(png)
        return
    _write_bytes(png, output)
    console.info(f"wrote {output}", event="dashboard_preview", panels=len(model["panels"]))


def _write_bytes(data: bytes, out: str) -> None:
    """Atomically, like aimgen.output.write_artifact (which writes text)."""
    import os
    import tempfile
    from pathlib import Path

    target = Path(out)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise InvalidInput(f"cannot write output: {exc.strerror}", file=str(target), path="-o") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; a picture is for sharing
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dashboard_app.command("check")
def check_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Report as JSON (stable keys).")] = False,
    output_format: o.OutputFormat = "text",
) -> None:
    """Exit 1 when a dashboard or alert query is not valid PromQL or selects a metric the pinned vLLM
    (or AMD's exporter, kube-state-metrics) does not export."""
    as_json = o.wants_json(output_format, as_json)
    from aimgen.observability import metrics, promql, queries

    found = queries.dashboard_queries() + queries.alert_queries()
    problems = promql.problems(found, metrics.known_metrics())
    if as_json:
        import json

        typer.echo(json.dumps({"queries": len(found), "problems": problems}, indent=1))
    for line in problems:
        console.error(line, event="query_problem")
    if problems:
        raise InvalidInput(f"{len(problems)} of {len(found)} queries have problems")
    console.info(f"{len(found)} queries parse and name only exported metrics", event="dashboard_check")
