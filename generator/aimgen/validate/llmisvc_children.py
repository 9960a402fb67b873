"""The objects KServe v0.20's controller creates from an LLMInferenceService, replayed offline and held to their
own CRDs: the InferencePool and HTTPRoute of the router, the LeaderWorkerSet of a multi-node group.

aimgen renders none of them (docs/llmisvc.md, "Which router objects aimgen renders"): KServe builds them from its
presets and our spec, so a value of ours that their CRDs refuse (a model name that is no path, a Gateway reference
the route cannot carry) fails only in the cluster, after the apply. The rules restate kserve/kserve tag v0.20.0,
pkg/controller/v1alpha2/llmisvc/:
- config_merge.go combineBaseRefsConfig: router.scheduler without pool.ref adds kserve-config-llm-scheduler,
  router.route without http.refs kserve-config-llm-router-route; their Go templates are filled from the service
  (ReplaceVariables) and the ingress config; gateway.refs replace the route's parentRefs (ToParentRefs).
- scheduler.go: the InferencePool <name>-inference-pool from router.scheduler.pool.spec; router.go: the HTTPRoute
  <name>-kserve-route from router.route.http.spec.
- workload_multi_node.go expectedMainMultiNodeLWS: the LeaderWorkerSet <name>-kserve-mn, `replicas` groups of
  GetSize() pods, the leader from `template`, the workers from `worker`.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

from aimgen.validate.llmisvc_pod import group_size, merged_spec, preset_spec, services

LLM_CHILD = "LLM006"  # an object KServe would create from the service fails its own CRD
# KServe's ingress config defaults (pkg/apis/serving/v1beta1/configmap.go; config/configmap/inferenceservice.yaml):
# kserveIngressGateway kserve/kserve-ingress-gateway, DefaultModelBasedRoutingHeaderName.
INGRESS_GATEWAY = ("kserve-ingress-gateway", "kserve")
MODEL_HEADER = "X-Gateway-Model-Name"
GATEWAY_GROUP = "gateway.networking.k8s.io"
INFERENCE_POOL_V1 = "inference.networking.k8s.io/v1"
LWS_V1 = "leaderworkerset.x-k8s.io/v1"
MAX_NAME = 63  # knative kmeta.ChildName hashes longer names: not modelled, the object is left unchecked

_CHILD = re.compile(r"\{\{\s*ChildName \.ObjectMeta\.Name `([^`]*)`\s*\}\}")


def _fill(node: Any, values: dict[str, str], name: str) -> Any:
    """The presets' Go templates that the router sections use, filled as ReplaceVariables fills them."""
    def escaped(value: str):
        return lambda _: json.dumps(value)[1:-1]  # a value as it stands inside a JSON string, never a regex template

    text = json.dumps(node)
    text = _CHILD.sub(lambda m: json.dumps(name + json.loads(f'"{m.group(1)}"'))[1:-1], text)
    for expr, value in values.items():
        text = re.sub(r"\{\{\s*" + re.escape(expr) + r"\s*\}\}", escaped(value), text)
    return json.loads(text)


def _presets(spec: dict) -> list[dict]:
    router = spec.get("router") or {}
    names = []
    if "scheduler" in router and not ((router.get("scheduler") or {}).get("pool") or {}).get("ref"):
        names.append("scheduler")
    if "route" in router and not (((router.get("route") or {}).get("http") or {}).get("refs")):
        names.append("route")
    return [preset_spec(n) for n in names]


def children(service: dict, docs: Iterable[dict]) -> list[dict]:
    """The InferencePool, HTTPRoute and LeaderWorkerSet KServe would create for `service` (those it creates)."""
    from aimgen.validate.llmisvc_pod import merge_specs

    meta = service.get("metadata") or {}
    name, namespace = str(meta.get("name") or ""), str(meta.get("namespace") or "default")
    if not name or len(name) + len("-inference-pool") > MAX_NAME:
        return []
    merged, missing = merged_spec(service, docs)
    merged = merge_specs([*_presets(merged), merged])
    model = str((merged.get("model") or {}).get("name") or name)
    values = {".ObjectMeta.Name": name, ".ObjectMeta.Namespace": namespace, ".Spec.Model.Name": model,
              ".GlobalConfig.IngressGatewayName": INGRESS_GATEWAY[0],
              ".GlobalConfig.IngressGatewayNamespace": INGRESS_GATEWAY[1],
              ".GlobalConfig.ModelBasedRoutingHeaderName": MODEL_HEADER}
    out = []
    router = merged.get("router") or {}
    pool = ((router.get("scheduler") or {}).get("pool") or {}).get("spec")
    if pool and "scheduler" in router:
        out.append({"apiVersion": INFERENCE_POOL_V1, "kind": "InferencePool",
                    "metadata": {"name": f"{name}-inference-pool", "namespace": namespace},
                    "spec": _fill(pool, values, name)})
    route = ((router.get("route") or {}).get("http") or {}).get("spec")
    if route and "route" in router:
        route = _fill(route, values, name)
        refs = (router.get("gateway") or {}).get("refs")
        if refs:
            route["parentRefs"] = [{"group": GATEWAY_GROUP, "kind": "Gateway", "name": r.get("name"),
                                    **({"namespace": r["namespace"]} if r.get("namespace") else {})} for r in refs]
        out.append({"apiVersion": f"{GATEWAY_GROUP}/v1", "kind": "HTTPRoute",
                    "metadata": {"name": f"{name}-kserve-route", "namespace": namespace}, "spec": route})
    if merged.get("worker") and not missing and not merged.get("prefill"):
        out.append({"apiVersion": LWS_V1, "kind": "LeaderWorkerSet",
                    "metadata": {"name": f"{name}-kserve-mn", "namespace": namespace},
                    "spec": {"replicas": merged.get("replicas", 1),
                             "leaderWorkerTemplate": {
                                 "size": group_size(merged.get("parallelism")),
                                 "leaderTemplate": {"spec": _fill(merged.get("template") or {}, values, name)},
                                 "workerTemplate": {"spec": _fill(merged["worker"], values, name)},
                                 "restartPolicy": "RecreateGroupOnPodRestart"},
                             "rolloutStrategy": {"type": "RollingUpdate"},
                             "startupPolicy": "LeaderCreated"}})
    # A preset expression this replay does not fill: KServe would, the CRD check here cannot.
    return [o for o in out if "{{" not in json.dumps(o)]


def children_findings(docs: list[dict], crds: Any, source: str) -> list:
    """Each created object against its CRD (skipped where ../shared holds no CRD for it)."""
    from aimgen.findings import ERROR, Finding
    from aimgen.validate.messages import describe

    out = []
    for doc, label in services(docs):
        try:
            made = children(doc, docs)
        except (AttributeError, KeyError, TypeError, ValueError, IndexError):
            continue  # a manifest of the wrong shape: the schema findings already say what is wrong with it
        for child in made:
            validator, _ = crds.validator(child["apiVersion"], child["kind"])
            if validator is None:
                continue
            what = f"the {child['kind']} {child['metadata']['name']} KServe creates"
            for error in validator.iter_errors(child):
                for path, message in describe(error):
                    out.append(Finding(ERROR, LLM_CHILD, source, f"{label} ({what}) {path}".strip(), message))
    return sorted(set(out), key=lambda f: (f.path, f.message))
