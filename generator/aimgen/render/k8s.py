"""Small builders for the Kubernetes pieces every object shares: labels, security contexts, probes, placement."""

from __future__ import annotations

from aimgen import __version__
from aimgen.constants import (
    GPU_RESOURCE,
    LABEL_COMPONENT,
    LABEL_GPU_DEVICE_ID,
    LABEL_INSTANCE,
    LABEL_MANAGED_BY,
    LABEL_NAME,
    LABEL_PART_OF,
    LABEL_VERSION,
    PART_OF,
)
from aimgen.spec import DeploymentSpec, Placement, PodPolicy, Probes


def labels(spec: DeploymentSpec, component: str, name: str | None = None) -> dict:
    out = {
        LABEL_NAME: name or "aim-engine",
        LABEL_INSTANCE: spec.release,
        LABEL_COMPONENT: component,
        LABEL_PART_OF: PART_OF,
        LABEL_VERSION: __version__,
        LABEL_MANAGED_BY: "aimgen",
    }
    return out


def selector_labels(spec: DeploymentSpec, component: str, name: str | None = None) -> dict:
    return {LABEL_NAME: name or "aim-engine", LABEL_INSTANCE: spec.release, LABEL_COMPONENT: component}


def metadata(spec: DeploymentSpec, name: str, component: str, app: str | None = None, *, namespaced: bool = True,
             annotations: dict | None = None) -> dict:
    meta = {"name": name}
    if namespaced:
        meta["namespace"] = spec.namespace
    meta["labels"] = labels(spec, component, app)
    if annotations:
        meta["annotations"] = annotations
    return meta


def client_pod_security_context(pod: PodPolicy) -> dict:
    """A pod that opens no GPU device and writes no shared volume (the chart's `helm test` pod): the non-root user
    alone, no device groups, no fsGroup."""
    return {
        "runAsNonRoot": True,
        "runAsUser": pod.run_as_user,
        "runAsGroup": pod.run_as_user,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security_context(pod: PodPolicy) -> dict:
    """The client's, plus the device groups and fsGroup a serving or prefetch pod needs (seccomp stays last)."""
    user = client_pod_security_context(pod)
    seccomp = user.pop("seccompProfile")
    return {
        **user,
        "fsGroup": pod.run_as_user,
        "fsGroupChangePolicy": "OnRootMismatch",
        "supplementalGroups": list(pod.device_groups),
        "seccompProfile": seccomp,
    }


def container_security_context(read_only_root: bool) -> dict:
    # ROCm needs no Linux capabilities: the device plugin mounts /dev/kfd and /dev/dri; the SYS_PTRACE and
    # unconfined seccomp in AMD's docker examples serve profilers and debuggers, not serving.
    return {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": read_only_root,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def http_probe(path: str, port: int, period: int, failures: int, timeout: int) -> dict:
    return {
        "httpGet": {"path": path, "port": port, "scheme": "HTTP"},
        "periodSeconds": period,
        "failureThreshold": failures,
        "timeoutSeconds": timeout,
        "successThreshold": 1,
    }


def probes(p: Probes, port: int) -> dict:
    return {
        "startupProbe": http_probe(p.path, port, p.period_seconds, p.startup_failure_threshold, p.timeout_seconds),
        "readinessProbe": http_probe(p.path, port, p.period_seconds, p.readiness_failure_threshold, p.timeout_seconds),
        "livenessProbe": http_probe(p.path, port, p.liveness_period_seconds, p.liveness_failure_threshold, p.timeout_seconds),
    }


def gpu_resources(placement: Placement, gpus: int) -> dict:
    amounts = {
        "cpu": str(placement.cpu_per_gpu * gpus),
        "memory": f"{placement.memory_gib_per_gpu * gpus}Gi",
        GPU_RESOURCE: str(gpus),
    }
    return {"requests": dict(amounts), "limits": dict(amounts)}


def placement_fields(placement: Placement) -> dict:
    out: dict = {}
    if placement.node_selector:
        out["nodeSelector"] = dict(placement.node_selector)
    if placement.device_ids:
        out["affinity"] = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": LABEL_GPU_DEVICE_ID, "operator": "In", "values": list(placement.device_ids)}]}
                    ]
                }
            }
        }
    if placement.tolerations:
        out["tolerations"] = [dict(t) for t in placement.tolerations]
    if placement.priority_class_name:
        out["priorityClassName"] = placement.priority_class_name
    return out


def env_list(pairs) -> list[dict]:
    return [{"name": k, "value": v} for k, v in pairs]
