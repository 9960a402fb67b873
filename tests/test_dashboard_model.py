"""The Grafana dashboard: a well-formed classic model, every query valid PromQL over exported metric names."""

from __future__ import annotations

import json

import pytest

from aimgen.observability import dashboard, metrics, promql, queries
from aimgen.observability import template as t
from aimgen.observability.chart_files import chart_files

MODEL = dashboard.build()
PANELS = [p for p in MODEL["panels"] if p["type"] != "row"]
DATASOURCE_REF = {"type": "prometheus", "uid": "${datasource}"}


@pytest.fixture(scope="module")
def known() -> frozenset[str]:
    return metrics.known_metrics()


def test_schema_version_is_a_current_grafana_one():
    # 39 = Grafana 11.0; Grafana 12 reads up to 42 and migrates anything older.
    assert 39 <= MODEL["schemaVersion"] <= 42
    assert MODEL["id"] is None and MODEL["uid"] == t.DASHBOARD_UID


def test_panel_ids_are_unique_positive_integers():
    ids = [p["id"] for p in MODEL["panels"]]
    assert len(ids) == len(set(ids)) and all(isinstance(i, int) and i > 0 for i in ids)


def test_datasource_is_a_variable_and_every_panel_and_target_uses_it():
    variables = {v["name"]: v for v in MODEL["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    for p in PANELS:
        assert p["datasource"] == DATASOURCE_REF, p["title"]
        assert p["targets"], p["title"]
        for target in p["targets"]:
            assert target["datasource"] == DATASOURCE_REF, p["title"]
    for name in ("namespace", "model", "pod"):
        assert variables[name]["type"] == "query" and variables[name]["datasource"] == DATASOURCE_REF


def test_grid_fits_24_columns_without_overlap():
    cells = set()
    for p in MODEL["panels"]:
        g = p["gridPos"]
        assert g["x"] >= 0 and g["w"] > 0 and g["x"] + g["w"] <= 24, p["title"]
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not cells & mine, f"panel {p['title']!r} overlaps another"
        cells |= mine


def test_required_signals_have_panels():
    titles = " | ".join(p["title"].lower() for p in PANELS)
    for signal in ("request rate", "time to first token", "inter-token", "end-to-end", "running and waiting",
                   "kv-cache", "tokens / s", "prefix-cache hit", "preemptions", "gpu utilization", "vram",
                   "power", "temperature"):
        assert signal in titles, signal


def test_gpu_panels_join_replicas_by_pod():
    gpu = [tg["expr"] for p in PANELS for tg in p["targets"] if "gpu_" in tg["expr"]]
    assert len(gpu) >= 4
    assert all('pod=~"$pod"' in e and 'namespace="$namespace"' in e for e in gpu)


def test_every_query_parses_and_names_only_exported_metrics(known):
    found = queries.dashboard_queries(MODEL)
    assert len(found) > 20
    assert promql.problems(found, known) == []


def test_the_check_catches_a_renamed_metric(known):
    # The rename the issue mentions: dashboards that still query the old name show nothing.
    bad = [("panel", "avg(vllm:gpu_cache_usage_perc)"), ("panel", "sum(rate(up[5m]")]
    found = promql.problems(bad, known)
    assert len(found) == 2 and "vllm:gpu_cache_usage_perc" in found[0] and "not valid PromQL" in found[1]


def test_filled_dashboard_has_no_placeholder_and_a_valid_uid():
    text = t.fill(dashboard.render_text(), queries.SAMPLE)
    model = json.loads(text)
    assert "__AIM_" not in text
    assert len(model["uid"]) <= 40 and model["title"] == "AIM Engine / demo"


def test_chart_copy_is_in_sync():
    for path, text in chart_files():
        assert path.read_text() == text, f"{path} is stale: run `aimgen chart sync`"


def test_amd_exporter_names_come_from_the_shared_facts():
    names = metrics.amd_gpu_metrics()
    assert {"gpu_gfx_activity", "gpu_used_vram", "gpu_total_vram", "gpu_package_power", "gpu_junction_temperature",
            "gpu_health"} <= names
    assert len(names) > 150


def test_the_pinned_vllm_exports_the_renamed_kv_cache_metric_not_the_old_one():
    series = metrics.engine_metrics("vllm")
    assert "vllm:kv_cache_usage_perc" in series and "vllm:gpu_cache_usage_perc" not in series
    assert {"vllm:time_to_first_token_seconds_bucket", "vllm:request_success_total"} <= series
