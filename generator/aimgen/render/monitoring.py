"""DeploymentSpec → monitoring objects: PodMonitor, Grafana dashboard ConfigMap, PrometheusRule.

The dashboard and the rules are the texts the chart ships (aimgen.observability), filled with this
release's values the same way the chart fills them; so both paths produce identical objects.
"""

from __future__ import annotations

import hashlib
import json
import re

from aimgen.constants import API_LLMISVC, LABEL_ROLE, MONITORING_V1
from aimgen.names import dns_label
from aimgen.observability import template as t
from aimgen.render import k8s, kserve
from aimgen.spec import DeploymentSpec

# The workloads KServe makes, by API: RawDeployment InferenceService <isvc>-predictor; LLMInferenceService
# <name>-kserve and, with prefill/decode, <name>-kserve-prefill (llmisvc workload_single_node.go, mainDeploymentName
# and prefillDeploymentName), or for a multi-node group the LeaderWorkerSet <name>-kserve-mn(-prefill)
# (workload_multi_node.go mainLWSName, prefillLWSName), whose leader StatefulSet has its name. Pods add
# -<replicaset hash>-<pod hash>, or -<group>[-<worker index>].
DEPLOYMENT_SUFFIX = {"isvc": "-predictor", API_LLMISVC: "-kserve(-mn)?(-prefill)?"}
# A multi-node InferenceService adds its workers' Deployment <isvc>-predictor-worker (constants
# .PredictorWorkerServiceName), whose pods the pod regex already matches: a group with no available worker serves
# nothing either.
WORKER_SUFFIX = {"isvc": "(-worker)?", API_LLMISVC: ""}


def pods_regex(spec: DeploymentSpec) -> str:
    return f"({'|'.join(s.name for s in spec.services)}){DEPLOYMENT_SUFFIX[spec.api]}-.*"


def deployments_regex(spec: DeploymentSpec) -> str:
    return f"({'|'.join(s.name for s in spec.services)}){DEPLOYMENT_SUFFIX[spec.api]}{WORKER_SUFFIX[spec.api]}"


def metrics_endpoints(spec: DeploymentSpec) -> list[dict]:
    """Where the engines serve metrics. A prefill/decode pair has two engine ports (prefill's on 8000, decode's
    behind its routing sidecar on 8001): one endpoint per role, each keeping only pods of its llm-d role."""
    runtimes = {rt.name: rt for rt in spec.runtimes}
    interval = spec.monitoring.scrape_interval
    used: set[tuple[int, str, str | None]] = set()
    for s in spec.services:
        path = runtimes[s.runtime].metrics_path
        if s.disaggregation:
            used |= {(r.port, path, r.role) for r in (s.disaggregation.prefill, s.disaggregation.decode)}
        else:
            used.add((runtimes[s.runtime].port, path, None))
    out = []
    for port, path, role in sorted(used, key=lambda u: (u[0], u[1], u[2] or "")):
        endpoint = {"portNumber": port, "path": path, "scheme": "http", "interval": interval}
        if role:
            from aimgen.render.llmisvc import LABEL_LLMD_ROLE

            endpoint["relabelings"] = [{
                "action": "keep",
                # Prometheus turns every character of a label name outside [a-zA-Z0-9_] into "_".
                "sourceLabels": ["__meta_kubernetes_pod_label_" + re.sub(r"[^a-zA-Z0-9_]", "_", LABEL_LLMD_ROLE)],
                "regex": role,
            }]
        out.append(endpoint)
    return out


def dashboard_uid(spec: DeploymentSpec) -> str:
    """Stable, unique per release, within Grafana's 40-character limit."""
    return "aim-engine-" + hashlib.sha256(f"{spec.namespace}/{spec.release}".encode()).hexdigest()[:16]


def fill_values(spec: DeploymentSpec) -> dict[str, str]:
    m = spec.monitoring
    return {
        t.RELEASE: spec.release,
        t.NAMESPACE: spec.namespace,
        t.DASHBOARD_UID: dashboard_uid(spec),
        t.SELECTOR: f'namespace="{spec.namespace}", pod=~"{pods_regex(spec)}"',
        t.DEPLOYMENTS: deployments_regex(spec),
        t.TTFT_P95_SECONDS: t.number(m.ttft_p95_slo_seconds),
        t.KV_CACHE_USAGE: t.number(m.kv_cache_usage_threshold),
        t.WAITING_REQUESTS: t.number(m.waiting_requests_threshold),
        t.GPU_MEMORY_USAGE: t.number(m.gpu_memory_usage_threshold),
        t.STARTUP_GRACE: f"{m.startup_grace_minutes}m",
    }


def _metadata(spec: DeploymentSpec, name: str, component: str, extra_labels: dict) -> dict:
    meta = k8s.metadata(spec, dns_label(name), component)
    meta["labels"].update(extra_labels)
    return meta


def pod_monitor(spec: DeploymentSpec) -> dict:
    return {
        "apiVersion": MONITORING_V1,
        "kind": "PodMonitor",
        "metadata": _metadata(spec, f"{spec.release}-metrics", "monitoring", dict(spec.monitoring.selector_labels)),
        "spec": {
            # The workers of a multi-node group serve no HTTP (vLLM --headless): the head reports for all ranks.
            "selector": {"matchLabels": kserve.engine_pods(spec),
                         "matchExpressions": [{"key": LABEL_ROLE, "operator": "DoesNotExist"}]},
            "namespaceSelector": {"matchNames": [spec.namespace]},
            # job = the (LLM)InferenceService name: the pod label KServe keeps from predictor.labels, or sets itself.
            "jobLabel": "app.kubernetes.io/name",
            "podMetricsEndpoints": metrics_endpoints(spec),
        },
    }


def dashboard_configmap(spec: DeploymentSpec) -> dict:
    from aimgen.observability import dashboard  # with --monitoring only: its builders cost a render's start-up

    text = t.fill(dashboard.render_text(), fill_values(spec))
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(spec, f"{spec.release}-dashboard", "dashboard", dict(spec.monitoring.dashboard_labels)),
        "data": {f"aim-engine-{spec.release}.json": text},
    }


def prometheus_rule(spec: DeploymentSpec) -> dict:
    return {
        "apiVersion": MONITORING_V1,
        "kind": "PrometheusRule",
        "metadata": _metadata(spec, f"{spec.release}-alerts", "alerts", dict(spec.monitoring.selector_labels)),
        "spec": json.loads(t.fill(_alerts_text(), fill_values(spec))),
    }


def render(spec: DeploymentSpec) -> list[dict]:
    m = spec.monitoring
    if not m.enabled:
        return []
    docs = [pod_monitor(spec)] if m.scrape == "podmonitor" else []
    if m.dashboards:
        docs.append(dashboard_configmap(spec))
    if m.alerts:
        docs.append(prometheus_rule(spec))
    return docs


def _alerts_text() -> str:
    from aimgen.observability import alerts  # with --monitoring only

    return alerts.render_text()
