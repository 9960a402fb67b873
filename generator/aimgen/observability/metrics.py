"""The metric names our queries may use, from their sources: the pinned vLLM's snapshot, AMD's exporter facts,
kube-state-metrics and Prometheus itself. Tests check every dashboard, alert and scaling query against these.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from aimgen import paths
from aimgen.errors import EnvironmentProblem

PROMETHEUS_BUILTINS = frozenset({"up"})  # synthesized per scrape target by Prometheus
# kube-state-metrics (docs/metrics/workload/{deployment,statefulset,pod}-metrics.md): the ones the alerts use.
KUBE_STATE_METRICS = frozenset({
    "kube_deployment_spec_replicas",
    "kube_deployment_status_replicas_available",
    "kube_statefulset_replicas",
    "kube_statefulset_status_replicas_ready",
    "kube_pod_container_status_restarts_total",
    "kube_pod_container_status_last_terminated_reason",
})
AMD_FACTS = ("amd", "amd-gpu-metrics.yaml")


def amd_gpu_metrics(shared: Path | None = None) -> frozenset[str]:
    """Every metric name of AMD's device-metrics-exporter (no name prefix configured: its default)."""
    path = (shared or paths.shared_dir()).joinpath(*AMD_FACTS)
    if not path.exists():
        raise EnvironmentProblem(f"{path} not found: set AIM_SHARED_DIR to the shared data folder")
    doc = yaml.safe_load(path.read_text())
    return frozenset(
        entry["name"]
        for key, value in doc.items()
        if key.endswith("_metrics") and isinstance(value, list)
        for entry in value
        if isinstance(entry, dict) and "name" in entry
    )


def snapshot_path(backend: str = "vllm") -> Path:
    """The snapshot of the engine version the backend's runtime pins (runtimes/<plugin>/snapshots/)."""
    from aimgen.runtimes.registry import runtime_for_backend

    runtime = runtime_for_backend(backend)
    if runtime.snapshot_path is None or not runtime.snapshot_path.exists():
        raise EnvironmentProblem(f"runtime {runtime.name} has no snapshot of {runtime.engine} {runtime.engine_version}: "
                                 "generate the engine snapshots")
    return runtime.snapshot_path


def engine_metrics(backend: str = "vllm") -> frozenset[str]:
    """Every series name (with _total/_bucket/_sum/_count) the pinned engine exports, from its snapshot."""
    from aimgen.runtimes.snapshot import load_snapshot

    path = snapshot_path(backend)
    series = load_snapshot(path).metric_series
    if not series:
        raise EnvironmentProblem(f"{path} lists no metrics: regenerate the engine snapshot")
    return series


def known_metrics(engine: str = "vllm") -> frozenset[str]:
    """Everything a dashboard, alert or scaling query for this engine may select."""
    return engine_metrics(engine) | amd_gpu_metrics() | KUBE_STATE_METRICS | PROMETHEUS_BUILTINS
