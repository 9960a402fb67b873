"""Autoscaling through KServe's KEDA integration: InferenceService fields, what KServe derives, CRD validity."""

from __future__ import annotations

import re

import pytest

from aimgen.errors import UsageError
from aimgen.findings import has_errors
from aimgen.observability import metrics, promql
from aimgen.render import autoscaling, kserve
from aimgen.render.values import to_values
from aimgen.validate.documents import validate_documents
from monitoring_fixtures import RUNTIME, SGLANG, make_spec, serving

QUANTITY = re.compile(r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$")


def isvc(spec, i=0):
    return kserve.inference_service(spec, spec.services[i], RUNTIME)


def test_fixed_replicas_use_no_autoscaler():
    doc = isvc(make_spec(monitoring=False))
    # "none": KServe sets the Deployment's replicas itself and creates no CPU HPA for a GPU server.
    assert doc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "none"
    assert "autoScaling" not in doc["spec"]["predictor"]
    assert (doc["spec"]["predictor"]["minReplicas"], doc["spec"]["predictor"]["maxReplicas"]) == (1, 1)


def test_autoscale_sets_keda_class_bounds_and_two_vllm_triggers():
    doc = isvc(make_spec(autoscale=(2, 6)))
    predictor = doc["spec"]["predictor"]
    assert doc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "keda"
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (2, 6)
    metrics_ = predictor["autoScaling"]["metrics"]
    assert [m["type"] for m in metrics_] == ["External", "External"]
    for m in metrics_:
        # What KServe's validating webhook demands of an External metric under KEDA.
        assert m["external"]["metric"]["backend"] == "prometheus" and m["external"]["metric"]["query"]
        assert m["external"]["target"]["type"] == "Value" and QUANTITY.match(m["external"]["target"]["value"])
    assert predictor["autoScaling"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 600


def test_queries_are_per_inference_service_and_use_the_engine_s_exported_metrics():
    spec = make_spec(services=[serving(), serving("llama", "meta-llama/Llama-3.1-8B-Instruct"),
                               serving("dsr1", "deepseek-ai/DeepSeek-R1", backend="sglang", runtime=SGLANG.name)],
                     autoscale=(1, 3))
    for i, svc in enumerate(spec.services):
        doc = kserve.inference_service(spec, svc, {r.name: r for r in spec.runtimes}[svc.runtime])
        qs = [m["external"]["metric"]["query"] for m in doc["spec"]["predictor"]["autoScaling"]["metrics"]]
        assert all(f'pod=~"{svc.name}-predictor-.*"' in q and 'namespace="llm"' in q for q in qs)
        engine = autoscaling.engine_of(spec, svc)
        assert all(q.startswith(f"sum({engine}:") for q in qs)
        assert promql.problems([(svc.name, q) for q in qs], metrics.known_metrics(engine)) == []


def test_an_engine_without_scaling_metrics_is_refused():
    from dataclasses import replace

    spec = make_spec(autoscale=(1, 2))
    spec = replace(spec, runtimes=(replace(RUNTIME, engine="custom"),))
    with pytest.raises(UsageError, match="no scaling metrics known for engine custom"):
        autoscaling.check(spec)


@pytest.mark.parametrize("bounds", [(1, 4), (0, 2), (3, 3)])
def test_isvc_and_the_scaledobject_kserve_derives_validate_strictly(bounds):
    spec = make_spec(autoscale=bounds)
    doc = isvc(spec)
    scaled = autoscaling.keda_scaled_object(doc)
    assert scaled["spec"]["scaleTargetRef"]["name"] == "qwen3-8b-predictor"
    assert (scaled["spec"]["minReplicaCount"], scaled["spec"]["maxReplicaCount"]) == bounds
    assert [t["metadata"]["threshold"] for t in scaled["spec"]["triggers"]] == ["8.000000", "0.800000"]
    findings = validate_documents([doc, scaled], source="autoscaling")
    assert not has_errors(findings), [f.line() for f in findings]


def test_tensor_parallel_replica_is_one_pod_with_all_its_gpus():
    spec = make_spec(services=[serving(gpus=8, tensor_parallel_size=8)], autoscale=(1, 2))
    resources = isvc(spec)["spec"]["predictor"]["model"]["resources"]
    assert resources["limits"]["amd.com/gpu"] == "8"  # scaling adds or removes whole TP groups


def test_multi_node_refuses_autoscaling():
    spec = make_spec(services=[serving(nodes=2, pipeline_parallel_size=2, gpus=8)], autoscale=(1, 2))
    with pytest.raises(UsageError, match="several nodes"):
        autoscaling.check(spec)


def test_scale_to_zero_only_when_asked_and_warned():
    assert autoscaling.check(make_spec(autoscale=(1, 4))) == []
    assert autoscaling.check(make_spec()) == []
    (warning,) = autoscaling.check(make_spec(autoscale=(0, 4)))
    assert "scales it back up" in warning


def test_values_carry_the_autoscaling_settings():
    values = to_values(make_spec(autoscale=(1, 5)), None)["autoscaling"]
    assert values == {
        "enabled": True, "minReplicas": 1, "maxReplicas": 5,
        "prometheusAddress": "http://prometheus-operated.monitoring.svc:9090",
        "waitingPerReplica": 8, "kvCachePerReplica": 0.8,
        "scaleUpStabilizationSeconds": 0, "scaleDownStabilizationSeconds": 600,
    }
