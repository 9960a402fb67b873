"""Every PromQL query we ship, as (where, plain PromQL), for checks: dashboard panels and variables, alert rules."""

from __future__ import annotations

import json

from aimgen.observability import alerts, dashboard, promql
from aimgen.observability import template as t

# Representative values: what the placeholders become for a release (types matter, not names).
SAMPLE = {
    t.RELEASE: "demo", t.NAMESPACE: "llm", t.DASHBOARD_UID: "aim-engine-0000000000000000",
    t.SELECTOR: 'namespace="llm", pod=~"(demo)-predictor-.*"', t.DEPLOYMENTS: "(demo)-predictor(-worker)?",
    t.TTFT_P95_SECONDS: "2", t.KV_CACHE_USAGE: "0.95", t.WAITING_REQUESTS: "32", t.GPU_MEMORY_USAGE: "0.98",
    t.STARTUP_GRACE: "30m",
}


def dashboard_queries(model: dict | None = None) -> list[tuple[str, str]]:
    model = model or dashboard.build()
    out = [(f"dashboard variable {v['name']}", promql.from_grafana(v["query"]))
           for v in model["templating"]["list"] if v["type"] == "query"]
    for panel in model["panels"]:
        for target in panel.get("targets", []):
            out.append((f"dashboard panel {panel['id']} {panel['title']!r} {target['refId']}",
                        promql.from_grafana(target["expr"])))
    return out


def alert_queries(rule_spec: dict | None = None) -> list[tuple[str, str]]:
    rule_spec = rule_spec or json.loads(t.fill(alerts.render_text(), SAMPLE))
    return [(f"alert {r['alert']}", r["expr"]) for g in rule_spec["groups"] for r in g["rules"]]
