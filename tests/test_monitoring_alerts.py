"""Alert rules: valid PromQL over exported metric names, runbook-style annotations, thresholds from the spec."""

from __future__ import annotations

import re

import pytest

from aimgen.observability import alerts, metrics, promql, queries
from aimgen.render import monitoring
from monitoring_fixtures import make_spec

FOR = re.compile(r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$")
REQUIRED = {"AimEngineEndpointDown", "AimEngineKVCacheNearFull", "AimEngineQueueGrowing", "AimEngineTTFTOverSLO",
            "AimEngineRestarting", "AimEngineOOMKilled", "AimEngineGPUMemoryPressure"}


def rules(spec=None) -> list[dict]:
    rule = monitoring.prometheus_rule(spec or make_spec())
    return [r for g in rule["spec"]["groups"] for r in g["rules"]]


def test_the_issue_s_alerts_are_all_there_once():
    names = [r["alert"] for r in rules()]
    assert len(names) == len(set(names))
    assert REQUIRED <= set(names)


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r["alert"])
def test_rule_is_runbook_style(rule):
    notes = rule["annotations"]
    assert set(notes) == {"summary", "description", "runbook"}
    assert all(len(v) > 20 for v in notes.values())
    assert rule["labels"]["severity"] in ("warning", "critical")
    assert FOR.match(rule.get("for", "0")), rule.get("for")


def test_every_expression_parses_and_names_only_exported_metrics():
    known = metrics.known_metrics()
    found = [(f"alert {r['alert']}", r["expr"]) for r in rules()]
    assert promql.problems(found, known) == []
    # The template with neutral sample values too (what the chart ships).
    assert promql.problems(queries.alert_queries(), known) == []


def test_vllm_and_gpu_rules_select_only_the_release_s_pods():
    spec = make_spec(namespace="team-a")
    for r in rules(spec):
        for name in promql.metric_names(r["expr"]):
            if name.startswith(("vllm:", "gpu_", "up", "kube_pod")):
                assert 'namespace="team-a", pod=~"(qwen3-8b)-predictor-.*"' in r["expr"], r["alert"]


def test_thresholds_come_from_the_spec():
    spec = make_spec(ttft_p95_slo_seconds=0.75, kv_cache_usage_threshold=0.9, waiting_requests_threshold=5,
                     gpu_memory_usage_threshold=0.97, startup_grace_minutes=45)
    by_name = {r["alert"]: r for r in rules(spec)}
    assert by_name["AimEngineTTFTOverSLO"]["expr"].endswith("> 0.75")
    assert "0.75s" in by_name["AimEngineTTFTOverSLO"]["annotations"]["description"]
    assert by_name["AimEngineKVCacheNearFull"]["expr"].endswith("> 0.9")
    assert "> 5)" in by_name["AimEngineQueueGrowing"]["expr"]
    assert by_name["AimEngineGPUMemoryPressure"]["expr"].endswith("> 0.97")
    assert by_name["AimEngineNoReplicaAvailable"]["for"] == "45m"


def test_template_keeps_prometheus_templating_for_alertmanager():
    # {{ $labels.x }} must reach Prometheus as is: the chart reads the file with .Files.Get, never tpl.
    assert "{{ $labels.pod }}" in alerts.render_text()
