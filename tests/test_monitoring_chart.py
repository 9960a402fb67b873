"""The chart's monitoring and autoscaling objects: strictly valid under Helm 3 and 4, equal to `aimgen render`'s,
queries valid, and bad values refused with a message."""

from __future__ import annotations

import json

import pytest

from aimgen.findings import has_errors
from aimgen.observability import metrics, promql
from aimgen.render.autoscaling import keda_scaled_object
from aimgen.validate.documents import validate_documents
from chart_support import HELMS, Case, compare, helm_side, in_parallel, python_side, template

ZERO_CONFIG = ["model=Qwen/Qwen3-8B", "gpu=mi300x"]
ON = ["monitoring.enabled=true", "autoscaling.enabled=true", "autoscaling.maxReplicas=4",
      "monitoring.selectorLabels.release=kube-prometheus-stack"]


def by_kind(docs: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for d in docs:
        out.setdefault(d["kind"], []).append(d)
    return out


@pytest.fixture(scope="module")
def known() -> frozenset[str]:
    return metrics.known_metrics()


@pytest.mark.parametrize("which", sorted(HELMS))
def test_chart_objects_validate_strictly_with_the_scaledobject_kserve_derives(which):
    docs = helm_side(which, "qwen", None, "llm", ZERO_CONFIG + ON)
    kinds = by_kind(docs)
    assert {"PodMonitor", "PrometheusRule", "ConfigMap"} <= kinds.keys()
    scaled = [keda_scaled_object(d) for d in kinds["InferenceService"]]
    findings = validate_documents(docs + scaled, source=f"{which} template")
    assert not has_errors(findings), [f.line() for f in findings]
    assert kinds["PodMonitor"][0]["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    isvc = kinds["InferenceService"][0]
    assert isvc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "keda"
    assert isvc["spec"]["predictor"]["maxReplicas"] == 4


@pytest.mark.parametrize("which", sorted(HELMS))
def test_chart_queries_are_valid_and_name_exported_metrics(which, known):
    kinds = by_kind(helm_side(which, "qwen", None, "llm", ZERO_CONFIG + ON))
    rules = [(r["alert"], r["expr"]) for g in kinds["PrometheusRule"][0]["spec"]["groups"] for r in g["rules"]]
    scaling = [("autoscaling", m["external"]["metric"]["query"])
               for m in kinds["InferenceService"][0]["spec"]["predictor"]["autoScaling"]["metrics"]]
    assert promql.problems(rules + scaling, known) == []
    dashboard = next(c for c in kinds["ConfigMap"] if "data" in c)  # the other one is the aimgen bundle
    (text,) = dashboard["data"].values()
    assert "__AIM_" not in text and json.loads(text)["title"] == "AIM Engine / qwen"


def test_monitoring_off_renders_none_of_it():
    docs = helm_side("helm3", "qwen", None, "llm", ZERO_CONFIG)
    kinds = by_kind(docs)
    assert not {"PodMonitor", "PrometheusRule"} & kinds.keys()
    assert [c["metadata"]["name"] for c in kinds.get("ConfigMap", [])] == ["qwen-aimgen"]  # no dashboard, the bundle
    assert kinds["InferenceService"][0]["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "none"
    assert "autoScaling" not in kinds["InferenceService"][0]["spec"]["predictor"]


QWEN = (("Qwen/Qwen3-8B", None, None, "vllm", "latency", None),)
CASES = [
    Case("monitoring-autoscale", QWEN, gpu="mi300x", release="qwen", namespace="llm",
         options=(("monitoring", True), ("autoscale", (1, 4)))),
    Case("two-models-scale-to-zero", (("Qwen/Qwen3-8B", None, None, "vllm", "latency", "qwen"),
                                      ("meta-llama/Llama-3.1-8B-Instruct", None, None, "vllm", "latency", "llama")),
         gpu="mi300x", release="pair", namespace="serving", options=(("monitoring", True), ("autoscale", (0, 2)))),
    Case("monitoring-fixed-replicas", QWEN, gpu="mi325x", release="fixed", options=(("monitoring", True),)),
    Case("vllm-and-sglang-autoscale", (("Qwen/Qwen3-8B", 1, "bf16", "vllm", "latency", "qwen"),
                                       ("deepseek-ai/DeepSeek-R1", 8, "fp8", "sglang", "throughput", "deepseek")),
         gpu="mi300x", release="mixed", options=(("monitoring", True), ("autoscale", (1, 2)))),
]


@pytest.mark.parametrize("which", sorted(HELMS))
def test_helm_template_of_aimgen_values_equals_aimgen_render(which):
    from aimgen.chart_table import load_table

    table = load_table()

    def one(case):
        exp = python_side(case, table)
        return case.id, compare(exp.docs, helm_side(which, exp.release, exp.values_text, exp.namespace))

    differences = {cid: diff for cid, diff in in_parallel(one, CASES) if diff}
    assert not differences, differences


@pytest.mark.parametrize("sets, message", [
    (["autoscaling.minReplicas=3", "autoscaling.maxReplicas=2"], "minReplicas (3) is above"),
    (["monitoring.scrape=servicemonitor"], "monitoring.scrape"),
    (["monitoring.alerts.kvCacheUsage=1.5"], "kvCacheUsage"),
    (["monitoring.selectorLabels.bad key=x"], "selectorLabels"),
    (["autoscaling.prometheusAddress=prometheus:9090"], "prometheusAddress"),
])
def test_bad_values_are_refused_with_a_message(sets, message):
    result = template("helm3", "bad", sets=ZERO_CONFIG + ["monitoring.enabled=true", "autoscaling.enabled=true"] + sets)
    assert result.returncode != 0 and message in result.stderr, result.stderr


def test_multi_node_deployment_refuses_autoscaling(tmp_path):
    import yaml

    from aimgen.chart_table import load_table

    entry = next(e for e in load_table()["profiles"].values() if e["nodes"] == 2)
    keys = {**{k: entry[k] for k in ("model", "gpu", "precision", "backend", "metric")},
            "gpus": entry["parallelism"]["worldSize"]}
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump({"deployments": [{"name": "big", **keys, "profile": entry}],
                                      "autoscaling": {"enabled": True, "maxReplicas": 2}}))
    result = template("helm3", "big", values_files=[values])
    assert result.returncode != 0 and "spans 2 nodes" in result.stderr, result.stderr
