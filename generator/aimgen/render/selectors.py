"""Labels that select an LLMInferenceService's engine pods as KServe labels them: what the NetworkPolicy, the
PodDisruptionBudget and the PodMonitor of either renderer match (render/kserve.py and render/llmisvc.py both use
them, so neither imports the other)."""

from __future__ import annotations

from aimgen.constants import LABEL_INSTANCE, LABEL_KSERVE_COMPONENT, LABEL_NAME
from aimgen.spec import DeploymentSpec, ServingSpec

# KServe's value of kserve.io/component on every engine pod of an LLMInferenceService (prefill and decode alike).
WORKLOAD = "workload"


def workload_selector(spec: DeploymentSpec, svc: ServingSpec | None = None) -> dict:
    """The engine pods of the release (or of one model): NetworkPolicy, PodDisruptionBudget, PodMonitor."""
    out = {LABEL_INSTANCE: spec.release, LABEL_KSERVE_COMPONENT: WORKLOAD}
    if svc is not None:
        out[LABEL_NAME] = svc.name  # KServe names the pods' app after the LLMInferenceService
    return out


def group_selector(spec: DeploymentSpec, svc: ServingSpec) -> dict:
    """Every pod of one model's multi-node groups, leaders and workers: KServe labels both with the service's
    name (app.kubernetes.io/name) and copies spec.labels onto both templates (workload_multi_node.go), while
    kserve.io/component: workload marks only the leaders."""
    return {LABEL_INSTANCE: spec.release, LABEL_NAME: svc.name}
