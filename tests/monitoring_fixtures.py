"""A DeploymentSpec built by hand for the monitoring/autoscaling/dashboard tests (no recipes or planner)."""

from __future__ import annotations

from dataclasses import replace

from aimgen.spec import AutoscalingSpec, CacheSpec, DeploymentSpec, MonitoringSpec, Probes, RuntimeSpec, ServingSpec

RUNTIME = RuntimeSpec(
    name="aim-vllm-rocm-gfx942", plugin="vllm-rocm", engine="vllm", engine_version="0.33.0",
    image="docker.io/rocm/vllm:test", command=("vllm", "serve"), port=8080, health_path="/health",
    metrics_path="/metrics",
)
SGLANG = RuntimeSpec(
    name="aim-sglang-rocm-gfx942", plugin="sglang-rocm", engine="sglang", engine_version="0.5.12",
    image="docker.io/lmsysorg/sglang:test", command=("python3", "-m", "sglang.launch_server"), port=8080,
    health_path="/health", metrics_path="/metrics",
)


def serving(name: str = "qwen3-8b", model: str = "Qwen/Qwen3-8B", **kw) -> ServingSpec:
    base = dict(
        name=name, model=model, checkpoint=model, revision="main", profile_id=f"{name}-mi300x", source="recipe",
        source_title="test", gpu="mi300x", gpus=1, precision="bf16", backend="vllm", metric="latency", nodes=1,
        tensor_parallel_size=1, pipeline_parallel_size=1, runtime=RUNTIME.name, args=(model, "--port=8080"),
        env=(), shm_size="8Gi", weights_bytes=16 * 2**30, cache_bytes=20 * 2**30, probes=Probes(),
    )
    base.update(kw)
    return ServingSpec(**base)


def make_spec(*, services=None, monitoring=True, autoscale=None, namespace="llm", release="qwen", **mon) -> DeploymentSpec:
    services = tuple(services or (serving(),))
    if autoscale:
        services = tuple(replace(s, min_replicas=autoscale[0], max_replicas=autoscale[1]) for s in services)
    autoscaling = AutoscalingSpec(enabled=True, min_replicas=autoscale[0], max_replicas=autoscale[1]) \
        if autoscale else AutoscalingSpec()
    return DeploymentSpec(
        release=release, namespace=namespace, runtimes=(RUNTIME, SGLANG), services=services,
        # No init container: its argv belongs to the cache area; these tests look at other fields.
        cache=CacheSpec(claim_name=f"{release}-cache", init_container=False),
        service_account=f"{release}-serving", monitoring=MonitoringSpec(enabled=monitoring, **mon),
        autoscaling=autoscaling,
    )
