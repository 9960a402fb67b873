"""Alert rules for one release (PrometheusRule `spec`), as data with placeholders for the release.

Each rule carries runbook-style annotations: `summary` (one line), `description` (what is wrong and why
it matters) and `runbook` (what to check, in order). Selectors use only what every series of the release
has: the predictor pods' namespace and name prefix (`<isvc>-predictor-`), which vLLM series (scraped by
the PodMonitor), AMD GPU series (the exporter labels them with the workload pod) and kube-state-metrics
series share. Thresholds come from aimgen.spec.MonitoringSpec / the chart's monitoring.alerts values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from aimgen.observability import template as t

SEL = t.SELECTOR
DEPLOY = f'namespace="{t.NAMESPACE}", deployment=~"{t.DEPLOYMENTS}"'
# A multi-node LLMInferenceService runs as a LeaderWorkerSet, whose leaders are one StatefulSet named after it
# (<name>-kserve-mn; each group's workers are StatefulSet <name>-kserve-mn-<group>, which the anchored regex leaves
# out): a leader turns ready only once its group serves.
STATEFULSET = f'namespace="{t.NAMESPACE}", statefulset=~"{t.DEPLOYMENTS}"'


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    duration: str  # "" fires at once
    severity: str
    summary: str
    description: str
    runbook: str


ALERTS: tuple[Alert, ...] = (
    Alert(
        "AimEngineEndpointDown",
        f"(up{{{SEL}}} == 0) and on (namespace, pod) (max_over_time(up{{{SEL}}}[1h]) == 1)",
        "5m", "critical",
        "Replica {{ $labels.pod }} stopped answering on its metrics endpoint",
        "Prometheus scraped {{ $labels.namespace }}/{{ $labels.pod }} successfully in the last hour but has not "
        "for 5 minutes: the engine process hung or died, and requests routed to it fail.",
        "1. kubectl -n {{ $labels.namespace }} describe pod {{ $labels.pod }} (restarts, probe failures, events). "
        "2. kubectl logs --previous -c kserve-container: a HIP/ROCm error or 'out of memory' means the engine "
        "crashed. 3. If the pod is Running but silent, check the GPU (gpu_health, dmesg on the node) and "
        "delete the pod to reschedule it.",
    ),
    Alert(
        "AimEngineNoReplicaAvailable",
        f"(kube_deployment_status_replicas_available{{{DEPLOY}}} == 0) "
        f"and on (namespace, deployment) (kube_deployment_spec_replicas{{{DEPLOY}}} > 0) "
        f"or (kube_statefulset_status_replicas_ready{{{STATEFULSET}}} == 0) "
        f"and on (namespace, statefulset) (kube_statefulset_replicas{{{STATEFULSET}}} > 0)",
        t.STARTUP_GRACE, "critical",
        "{{ $labels.deployment }}{{ $labels.statefulset }} has no available replica",
        "No replica of {{ $labels.namespace }}/{{ $labels.deployment }}{{ $labels.statefulset }} has been ready "
        "for longer than the "
        "slowest expected model start (download, load, compile): the model is not being served.",
        "1. kubectl -n {{ $labels.namespace }} get pods: Pending means no node has free amd.com/gpu matching "
        "the affinity (check the node pool and the AMD device plugin). 2. Init container still running: the "
        "model cache is being filled (check its logs and the PVC). 3. Startup probe failing: read the engine "
        "log for the load error (unsupported dtype, VRAM too small for max-model-len).",
    ),
    Alert(
        "AimEngineKVCacheNearFull",
        f"max by (namespace, pod, model_name) (avg_over_time(vllm:kv_cache_usage_perc{{{SEL}}}[5m])) "
        f"> {t.KV_CACHE_USAGE}",
        "10m", "warning",
        "KV cache of {{ $labels.pod }} is {{ $value | humanizePercentage }} full",
        "The KV cache of {{ $labels.model_name }} on {{ $labels.pod }} stays nearly full: new requests wait "
        "and running ones are preempted, so latency rises.",
        "1. Compare running/waiting requests and preemptions on the dashboard. 2. Add replicas (or enable "
        "autoscaling). 3. Lower --max-num-seqs or --max-model-len, or serve on more GPUs (TP) or FP8 KV cache "
        "to fit more tokens.",
    ),
    Alert(
        "AimEngineQueueGrowing",
        f"(vllm:num_requests_waiting{{{SEL}}} > {t.WAITING_REQUESTS}) "
        f"and (deriv(vllm:num_requests_waiting{{{SEL}}}[10m]) > 0)",
        "10m", "warning",
        "Request queue of {{ $labels.pod }} keeps growing ({{ $value }} waiting)",
        "More requests arrive at {{ $labels.model_name }} on {{ $labels.pod }} than it finishes: the waiting "
        "queue is long and still rising, so time to first token grows without bound.",
        "1. Check the KV-cache and TTFT panels: a full KV cache means capacity, not a stuck engine. 2. Scale out "
        "(raise maxReplicas if autoscaling is at its maximum). 3. If throughput dropped while load did not, "
        "look for GPU throttling (power, temperature) or a degraded replica.",
    ),
    Alert(
        "AimEngineTTFTOverSLO",
        f"histogram_quantile(0.95, sum by (le, namespace, model_name) "
        f"(rate(vllm:time_to_first_token_seconds_bucket{{{SEL}}}[5m]))) > {t.TTFT_P95_SECONDS}",
        "10m", "warning",
        "TTFT p95 of {{ $labels.model_name }} is {{ $value | humanizeDuration }}",
        "95% of requests to {{ $labels.model_name }} should see their first token within the SLO of "
        f"{t.TTFT_P95_SECONDS}s; for 10 minutes they have not.",
        "1. Waiting requests high: scale out. 2. Waiting low but TTFT high: long prompts; check prompt "
        "tokens/s and consider chunked prefill or a latency profile. 3. One replica slow: compare per-pod "
        "panels and GPU clocks/temperature.",
    ),
    Alert(
        "AimEngineRestarting",
        f"increase(kube_pod_container_status_restarts_total{{{SEL}}}[30m]) >= 2",
        "", "warning",
        "{{ $labels.pod }} restarted {{ $value | humanize }} times in 30 minutes",
        "Container {{ $labels.container }} of {{ $labels.namespace }}/{{ $labels.pod }} keeps restarting: "
        "each restart reloads the model and drops the requests in flight.",
        "1. kubectl logs --previous -c {{ $labels.container }}. 2. Liveness probe kills during long requests: "
        "raise the liveness failure threshold. 3. GPU errors: check the node's GPU health and the exporter's "
        "gpu_health.",
    ),
    Alert(
        "AimEngineOOMKilled",
        f"(kube_pod_container_status_last_terminated_reason{{{SEL}, reason=\"OOMKilled\"}} == 1) "
        f"and on (namespace, pod, container) (increase(kube_pod_container_status_restarts_total{{{SEL}}}[30m]) > 0)",
        "", "warning",
        "{{ $labels.pod }} was OOM-killed (host memory)",
        "Container {{ $labels.container }} exceeded its memory limit and the kernel killed it. This is host "
        "RAM, not VRAM: a GPU out-of-memory shows as an engine error in the log instead.",
        "1. Raise the node pool's memory per GPU (memoryGiBPerGpu) or the container limit. 2. Large models "
        "load through host memory: check /dev/shm size and --max-model-len. 3. Look for leaked processes "
        "if usage grows slowly between restarts.",
    ),
    Alert(
        "AimEngineGPUMemoryPressure",
        f"max by (namespace, pod, gpu_id) (gpu_used_vram{{{SEL}}} / gpu_total_vram{{{SEL}}}) > {t.GPU_MEMORY_USAGE}",
        "10m", "warning",
        "GPU {{ $labels.gpu_id }} of {{ $labels.pod }} has {{ $value | humanizePercentage }} of VRAM in use",
        "vLLM reserves --gpu-memory-utilization of VRAM up front, so 90-95% is normal; above the threshold "
        "little headroom remains for activations, graphs and other processes, and the engine may fail with "
        "a HIP out-of-memory error.",
        "1. Check for a second process on the GPU (another pod sharing the device, a stale process). "
        "2. Lower --gpu-memory-utilization or --max-num-seqs. 3. Check the engine log for HIP OOM.",
    ),
    Alert(
        "AimEngineGPUUnhealthy",
        f"gpu_health{{{SEL}}} == 0",
        "5m", "critical",
        "GPU {{ $labels.gpu_id }} serving {{ $labels.pod }} reports unhealthy",
        "AMD's exporter marks the GPU unhealthy (RAS/ECC errors or a hang); the replica on it will fail or "
        "give wrong results.",
        "1. Cordon the node. 2. Check ECC counters (gpu_ecc_uncorrect_total) and the node's dmesg. "
        "3. Delete the pod so it is rescheduled on a healthy GPU.",
    ),
)


def rule(a: Alert) -> dict:
    out = {"alert": a.name, "expr": a.expr}
    if a.duration:
        out["for"] = a.duration
    out["labels"] = {"severity": a.severity}
    out["annotations"] = {"summary": a.summary, "description": a.description, "runbook": a.runbook}
    return out


def build() -> dict:
    """PrometheusRule spec with placeholders (see aimgen.observability.template)."""
    return {"groups": [{"name": f"aim-engine.{t.RELEASE}", "rules": [rule(a) for a in ALERTS]}]}


def render_text(spec: dict | None = None) -> str:
    return json.dumps(build() if spec is None else spec, indent=1) + "\n"
