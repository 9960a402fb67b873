"""Monitoring objects: in-process build time per release (dashboard + rules + PodMonitor) next to the
query check and to `helm template` rendering the same three objects from the chart.

    .venv/bin/python bench/observability.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
HELM = ROOT / ".tools" / "helm3" / "helm"
RUNS = 20


def _median_s(fn, runs: int = RUNS) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    from aimgen.observability import metrics, promql, queries
    from aimgen.render import monitoring
    from monitoring_fixtures import make_spec

    spec = make_spec()
    build = _median_s(lambda: monitoring.render(spec))
    known = metrics.known_metrics()
    found = queries.dashboard_queries() + queries.alert_queries()
    check = _median_s(lambda: promql.problems(found, known), 5)
    print(f"monitoring objects, in-process   {build * 1e3:8.2f} ms per release")
    print(f"query check ({len(found)} queries)     {check * 1e3:8.2f} ms")
    if HELM.is_file():
        args = [str(HELM), "template", "b", str(ROOT / "charts" / "aim-engine"), "--set", "model=Qwen/Qwen3-8B",
                "--set", "gpu=mi300x", "--set", "monitoring.enabled=true"]
        for t in ("monitoring-podmonitor", "monitoring-configmap", "monitoring-prometheusrule"):
            args += ["--show-only", f"templates/{t}.yaml"]
        helm = _median_s(lambda: subprocess.run(args, capture_output=True, check=True), 5)
        print(f"helm template, same 3 objects    {helm * 1e3:8.2f} ms   (aimgen in-process is {helm / build:,.0f}x faster)")
    else:
        print("helm template: .tools/helm3/helm missing (make tools)")


if __name__ == "__main__":
    main()
