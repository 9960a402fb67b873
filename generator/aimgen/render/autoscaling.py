"""Autoscaling through KServe's own KEDA integration: InferenceService fields, no extra object.

With `serving.kserve.io/autoscalerClass: keda`, KServe (RawDeployment) turns predictor.autoScaling into a
KEDA ScaledObject `<isvc>-predictor` targeting the Deployment of the same name and owns its lifecycle.
Each External metric becomes a `prometheus` trigger whose threshold KEDA reads as an average per replica
(KServe sets no metricType; KEDA's default is AverageValue), so desired replicas = ceil(query / target):

- queued requests (vLLM `num_requests_waiting`, SGLang `num_queue_reqs`) per replica: the saturation
  signal, reacts to bursts;
- KV-cache usage (vLLM `kv_cache_usage_perc`, SGLang `token_usage`; summed) per replica: proportional to
  the tokens in flight, so replicas are not handed back the moment the queue drains.

The HPA behind the ScaledObject takes the larger of the two. A replica is one pod holding all of its
tensor-parallel GPUs, so scaling adds or removes whole TP groups. Multi-node groups (a head and its workers)
cannot scale: KServe requires autoscalerClass none for them (aimgen.multinode.check_group refuses first).
See docs/observability.md.
"""

from __future__ import annotations

from aimgen.constants import ANN_AUTOSCALER_CLASS, KEDA_V1ALPHA1
from aimgen.errors import UsageError
from aimgen.observability import template as t
from aimgen.spec import DeploymentSpec, ServingSpec

AUTOSCALER_KEDA = "keda"
AUTOSCALER_NONE = "none"  # KServe then sets the Deployment's replicas to minReplicas and creates no HPA


# Per engine: (queued requests, KV-cache usage 0..1) gauges. Both engines export one series per data-parallel
# rank (SGLang only from attention-TP rank 0), so a sum over the pods counts each queue and cache once.
SCALING_METRICS = {
    "vllm": ("vllm:num_requests_waiting", "vllm:kv_cache_usage_perc"),
    "sglang": ("sglang:num_queue_reqs", "sglang:token_usage"),
    # ATOM's API server exports one series per pod, already summed over its DP ranks (the KV figure a fraction of
    # all blocks): atom/entrypoints/openai/metrics.py at the commit runtimes/atom-rocm pins.
    "atom": ("atom:requests_waiting", "atom:kv_cache_usage_ratio"),
}


def engine_of(spec: DeploymentSpec, svc: ServingSpec) -> str:
    return {rt.name: rt.engine for rt in spec.runtimes}[svc.runtime]


def queries(spec: DeploymentSpec, svc: ServingSpec) -> dict[str, str]:
    """The PromQL each trigger evaluates: totals over this InferenceService's predictor pods."""
    sel = f'namespace="{spec.namespace}", pod=~"{svc.name}-predictor-.*"'
    waiting, kv_cache = SCALING_METRICS[engine_of(spec, svc)]
    return {"waiting": f"sum({waiting}{{{sel}}})", "kv_cache": f"sum({kv_cache}{{{sel}}})"}


def _external(address: str, query: str, target: str) -> dict:
    # KServe reads only target.value for External metrics (its webhook requires it) and passes it to KEDA
    # as the trigger threshold.
    return {
        "type": "External",
        "external": {
            "metric": {"backend": "prometheus", "serverAddress": address, "query": query},
            "target": {"type": "Value", "value": target},
        },
    }


def isvc_annotations(spec: DeploymentSpec) -> dict[str, str]:
    return {ANN_AUTOSCALER_CLASS: AUTOSCALER_KEDA if spec.autoscaling.enabled else AUTOSCALER_NONE}


def predictor_fields(spec: DeploymentSpec, svc: ServingSpec) -> dict:
    """Fields merged into spec.predictor of the InferenceService (nothing when autoscaling is off)."""
    a = spec.autoscaling
    if not a.enabled:
        return {}
    q = queries(spec, svc)
    return {
        "autoScaling": {
            "metrics": [
                _external(a.prometheus_address, q["waiting"], t.number(a.waiting_per_replica)),
                _external(a.prometheus_address, q["kv_cache"], t.number(a.kv_cache_per_replica)),
            ],
            "behavior": {
                "scaleUp": {"stabilizationWindowSeconds": a.scale_up_stabilization_seconds},
                "scaleDown": {"stabilizationWindowSeconds": a.scale_down_stabilization_seconds},
            },
        }
    }


def check(spec: DeploymentSpec) -> list[str]:
    """Raise for what KServe would reject; return warnings for what works but may surprise."""
    a = spec.autoscaling
    if not a.enabled:
        return []
    unknown = sorted({engine_of(spec, s) for s in spec.services} - SCALING_METRICS.keys())
    if unknown:
        raise UsageError(
            f"--autoscale: no scaling metrics known for engine {', '.join(unknown)} (known: "
            f"{', '.join(SCALING_METRICS)}); drop --autoscale for it"
        )
    multi_node = [s.name for s in spec.services if s.nodes > 1]
    if multi_node:
        raise UsageError(
            f"--autoscale: {', '.join(multi_node)} spans several nodes (a KServe multi-node group); KServe scales no "
            "multi-node predictor (autoscalerClass must be none): drop --autoscale or serve on one node"
        )
    if a.min_replicas == 0:
        return [
            "--autoscale 0:N: KEDA scales to zero when idle, but vLLM metrics vanish with the last replica, so "
            "nothing scales it back up; start it with `kubectl scale` or add a trigger on your ingress' request "
            "metric (docs/observability.md)"
        ]
    return []


def keda_scaled_object(isvc: dict) -> dict:
    """The ScaledObject KServe derives from an InferenceService (pkg/controller/v1beta1/inferenceservice/
    reconcilers/keda/keda_reconciler.go), so tests can validate it against KEDA's CRD."""
    meta, predictor = isvc["metadata"], isvc["spec"]["predictor"]
    name = f"{meta['name']}-predictor"
    triggers = []
    for m in predictor.get("autoScaling", {}).get("metrics", []):
        metric, target = m["external"]["metric"], m["external"]["target"]
        triggers.append({
            "type": metric["backend"],
            "metadata": {"serverAddress": metric["serverAddress"], "query": metric["query"],
                         "threshold": f"{float(target['value']):f}"},
        })
    so_spec: dict = {
        "scaleTargetRef": {"name": name},
        "triggers": triggers,
        "minReplicaCount": predictor.get("minReplicas", 1),
        "maxReplicaCount": max(predictor.get("maxReplicas", 0), predictor.get("minReplicas", 1)),
    }
    behavior = predictor.get("autoScaling", {}).get("behavior")
    if behavior:
        so_spec["advanced"] = {"horizontalPodAutoscalerConfig": {"behavior": {
            direction: {"stabilizationWindowSeconds": rules["stabilizationWindowSeconds"]}
            for direction, rules in behavior.items()
        }}}
    return {
        "apiVersion": KEDA_V1ALPHA1,
        "kind": "ScaledObject",
        "metadata": {"name": name, "namespace": meta["namespace"], "labels": dict(meta.get("labels", {}))},
        "spec": so_spec,
    }
