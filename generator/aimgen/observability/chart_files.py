"""The chart's copies of the dashboard and alert texts (charts/aim-engine/files/), written by
`aimgen chart sync` and compared by `aimgen chart check` (through aimgen.chart_table.chart_files)."""

from __future__ import annotations

from pathlib import Path

from aimgen import paths
from aimgen.observability import alerts, dashboard

DASHBOARD_FILE = ("files", "dashboard.json")
ALERTS_FILE = ("files", "alerts.json")


def chart_files(chart: Path | None = None) -> list[tuple[Path, str]]:
    root = chart or paths.chart_dir()
    return [
        (root.joinpath(*DASHBOARD_FILE), dashboard.render_text()),
        (root.joinpath(*ALERTS_FILE), alerts.render_text()),
    ]
