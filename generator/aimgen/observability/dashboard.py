"""The Grafana dashboard (classic JSON model) for one release: vLLM serving signals and AMD GPU telemetry.

Built as data, written to the chart as files/dashboard.json by `aimgen chart sync`, filled per release
(uid, title, default namespace) by aimgen.observability.template. Every query names only metrics the
pinned vLLM exports (runtimes/vllm-rocm/snapshots) or AMD's device-metrics-exporter exports
(../shared/amd/amd-gpu-metrics.yaml); tests/test_dashboard_*.py checks each one.

GPU series carry the *workload's* pod and namespace (the exporter reads them from the kubelet's
PodResources API), so filtering them with the same `pod` variable joins GPUs to vLLM replicas.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from aimgen.observability import template as t

# Grafana 12.0's classic-model schema version; later migrations (42: hideFrom overrides, 43: formatTime
# transformations) touch nothing used here.
SCHEMA_VERSION = 41
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
RATE = "$__rate_interval"
VLLM = 'namespace="$namespace", model_name=~"$model", pod=~"$pod"'
GPU = 'namespace="$namespace", pod=~"$pod"'
QUANTILES = (("p50", "0.5"), ("p95", "0.95"), ("p99", "0.99"))
GRID_WIDTH = 24


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    queries: tuple[Query, ...]
    unit: str = "short"
    kind: str = "timeseries"  # timeseries | stat
    width: int = 8
    height: int = 8
    max: float | None = None


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


def _rate(metric: str, sel: str = VLLM) -> str:
    return f"rate({metric}{{{sel}}}[{RATE}])"


def _quantiles(base: str) -> tuple[Query, ...]:
    return tuple(
        Query(f"histogram_quantile({q}, sum by (le, model_name) ({_rate(base + '_bucket')}))", f"{{{{model_name}}}} {name}")
        for name, q in QUANTILES
    )


def _p95(base: str) -> Query:
    return Query(f"histogram_quantile(0.95, sum by (le) ({_rate(base + '_bucket')}))", "p95")


def rows() -> tuple[Row, ...]:
    """The dashboard's content, top to bottom: what an operator reads first comes first."""
    stat = dict(kind="stat", width=4, height=4)
    return (
        Row("Overview", (
            Panel("Replicas scraped", "Predictor pods Prometheus reaches (up == 1) out of those it knows.",
                  (Query(f"sum(up{{{GPU}}})", "up"),), **stat),
            Panel("Requests / s", "Finished requests per second, all finish reasons.",
                  (Query(f"sum({_rate('vllm:request_success_total')})", "req/s"),), unit="reqps", **stat),
            Panel("TTFT p95", "95th percentile time to first token.", (_p95("vllm:time_to_first_token_seconds"),),
                  unit="s", **stat),
            Panel("Inter-token p95", "95th percentile time between output tokens.",
                  (_p95("vllm:inter_token_latency_seconds"),), unit="s", **stat),
            Panel("KV cache (max pod)", "Fullest replica's KV-cache usage; near 100% means preemptions and queueing.",
                  (Query(f"max(vllm:kv_cache_usage_perc{{{VLLM}}})", "max"),), unit="percentunit", max=1, **stat),
            Panel("Waiting requests", "Requests queued for a batch slot, all replicas.",
                  (Query(f"sum(vllm:num_requests_waiting{{{VLLM}}})", "waiting"),), **stat),
        )),
        Row("Traffic", (
            Panel("Request rate", "Finished requests per second by finish reason (stop, length, abort, error).",
                  (Query(f"sum by (finished_reason) ({_rate('vllm:request_success_total')})", "{{finished_reason}}"),),
                  unit="reqps"),
            Panel("Tokens / s", "Prompt (prefill) and generated (decode) tokens per second.",
                  (Query(f"sum({_rate('vllm:prompt_tokens_total')})", "prompt"),
                   Query(f"sum({_rate('vllm:generation_tokens_total')})", "generation")),
                  unit="short"),
            Panel("Running and waiting requests", "In the batch (running) and queued (waiting), per replica.",
                  (Query(f"sum by (pod) (vllm:num_requests_running{{{VLLM}}})", "running {{pod}}"),
                   Query(f"sum by (pod) (vllm:num_requests_waiting{{{VLLM}}})", "waiting {{pod}}"))),
        )),
        Row("Latency", (
            Panel("Time to first token", "TTFT percentiles: queueing plus prefill.",
                  _quantiles("vllm:time_to_first_token_seconds"), unit="s"),
            Panel("Inter-token latency", "Time between consecutive output tokens (decode speed).",
                  _quantiles("vllm:inter_token_latency_seconds"), unit="s"),
            Panel("End-to-end request latency", "From arrival to the last token.",
                  _quantiles("vllm:e2e_request_latency_seconds"), unit="s"),
        )),
        Row("Engine", (
            Panel("KV-cache usage", "Share of the KV-cache blocks in use, per replica.",
                  (Query(f"max by (pod) (vllm:kv_cache_usage_perc{{{VLLM}}})", "{{pod}}"),),
                  unit="percentunit", max=1),
            Panel("Prefix-cache hit rate", "Prompt tokens served from the prefix cache over tokens looked up.",
                  (Query(f"sum by (model_name) ({_rate('vllm:prefix_cache_hits_total')}) / "
                         f"sum by (model_name) ({_rate('vllm:prefix_cache_queries_total')})", "{{model_name}}"),),
                  unit="percentunit", max=1),
            Panel("Preemptions / s", "Requests evicted from the batch for lack of KV cache, per replica.",
                  (Query(f"sum by (pod) ({_rate('vllm:num_preemptions_total')})", "{{pod}}"),)),
        )),
        Row("AMD GPUs (device-metrics-exporter, joined by pod)", (
            Panel("GPU utilization", "Graphics/compute engine busy, per GPU of each replica.",
                  (Query(f"gpu_gfx_activity{{{GPU}}}", "{{pod}} gpu {{gpu_id}}"),), unit="percent", width=6, max=100),
            Panel("VRAM used", "Used over total VRAM. vLLM reserves --gpu-memory-utilization of it at start.",
                  (Query(f"gpu_used_vram{{{GPU}}} / gpu_total_vram{{{GPU}}}", "{{pod}} gpu {{gpu_id}}"),),
                  unit="percentunit", width=6, max=1),
            Panel("Power", "Socket power (MI300-series: gpu_package_power; MI200: gpu_average_package_power).",
                  (Query(f"gpu_package_power{{{GPU}}} or gpu_average_package_power{{{GPU}}}", "{{pod}} gpu {{gpu_id}}"),),
                  unit="watt", width=6),
            Panel("Temperature", "Junction (MI300-series) or edge (MI200) and HBM temperature.",
                  (Query(f"gpu_junction_temperature{{{GPU}}} or gpu_edge_temperature{{{GPU}}}", "{{pod}} gpu {{gpu_id}}"),
                   Query(f"gpu_memory_temperature{{{GPU}}}", "{{pod}} gpu {{gpu_id}} memory")),
                  unit="celsius", width=6),
        )),
    )


def _targets(queries: tuple[Query, ...]) -> list[dict]:
    return [
        {"refId": chr(ord("A") + i), "datasource": DATASOURCE, "expr": q.expr, "legendFormat": q.legend or "__auto",
         "range": True, "editorMode": "code"}
        for i, q in enumerate(queries)
    ]


def _field_config(p: Panel) -> dict:
    defaults: dict = {"unit": p.unit, "min": 0, "color": {"mode": "palette-classic"}}
    if p.max is not None:
        defaults["max"] = p.max
    if p.kind == "timeseries":
        defaults["custom"] = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never",
                              "spanNulls": False}
    return {"defaults": defaults, "overrides": []}


def _options(p: Panel) -> dict:
    if p.kind == "stat":
        return {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "colorMode": "value", "graphMode": "area", "textMode": "auto", "justifyMode": "auto",
                "orientation": "auto"}
    return {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"}}


def _panel(p: Panel, pid: int, x: int, y: int) -> dict:
    return {
        "id": pid, "type": p.kind, "title": p.title, "description": p.description, "datasource": DATASOURCE,
        "gridPos": {"h": p.height, "w": p.width, "x": x, "y": y},
        "fieldConfig": _field_config(p), "options": _options(p), "targets": _targets(p.queries),
    }


def _layout() -> list[dict]:
    """Rows and panels with unique ids and a gap-free grid (panels wrap at 24 columns)."""
    out: list[dict] = []
    pid, y = 1, 0
    for row in rows():
        out.append({"id": pid, "type": "row", "title": row.title, "collapsed": False, "panels": [],
                    "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": y}})
        pid, y, x, line = pid + 1, y + 1, 0, 0
        for p in row.panels:
            if x + p.width > GRID_WIDTH:
                x, y = 0, y + line
            out.append(_panel(p, pid, x, y))
            pid, x, line = pid + 1, x + p.width, max(line, p.height)
        y += line
    return out


def _query_variable(name: str, label: str, query: str, *, all_: bool, current: dict) -> dict:
    return {
        "name": name, "label": label, "type": "query", "datasource": DATASOURCE,
        "query": query, "definition": query, "refresh": 2, "sort": 1, "regex": "",
        "includeAll": all_, "multi": all_, "current": current, "hide": 0, "options": [],
    }


def _variables() -> list[dict]:
    every = {"selected": True, "text": ["All"], "value": ["$__all"]}
    return [
        {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus", "regex": "",
         "current": {}, "hide": 0, "includeAll": False, "multi": False, "options": [], "refresh": 1},
        _query_variable("namespace", "Namespace", "label_values(vllm:num_requests_running, namespace)", all_=False,
                        current={"selected": True, "text": t.NAMESPACE, "value": t.NAMESPACE}),
        _query_variable("model", "Model", 'label_values(vllm:num_requests_running{namespace="$namespace"}, model_name)',
                        all_=True, current=every),
        _query_variable("pod", "Replica",
                        'label_values(vllm:num_requests_running{namespace="$namespace", model_name=~"$model"}, pod)',
                        all_=True, current=every),
    ]


def build() -> dict:
    """The dashboard model with placeholders for the release (see aimgen.observability.template)."""
    return {
        "id": None,
        "uid": t.DASHBOARD_UID,
        "title": f"AIM Engine / {t.RELEASE}",
        "description": "vLLM serving and AMD GPU telemetry for one aim-engine release.",
        "tags": ["aim-engine", "vllm", "amd-gpu"],
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "timezone": "browser",
        "time": {"from": "now-3h", "to": "now"},
        "refresh": "30s",
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "links": [],
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True, "hide": True,
            "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard",
        }]},
        "templating": {"list": _variables()},
        "panels": _layout(),
    }


def render_text(dashboard: dict | None = None) -> str:
    """The dashboard as the chart ships it (files/dashboard.json) and the ConfigMap holds it."""
    return json.dumps(build() if dashboard is None else dashboard, indent=1) + "\n"
