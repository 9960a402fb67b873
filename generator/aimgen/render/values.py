"""DeploymentSpec → Helm values for charts/aim-engine, and the chart's compiled profile table.

A catalog profile is named by its selection keys and looked up by the chart in files/zero-config/<model>--<gpu>.json
(`aimgen chart sync` writes it); anything the table does not hold as-is (a planned model, an overridden
context length) travels inline as `profile:`. Either way the chart renders what `aimgen render` renders.
"""

from __future__ import annotations

from aimgen.constants import API_LLMISVC
from aimgen.sizing import cache_gib
from aimgen.spec import (
    AutoscalingSpec,
    DeploymentSpec,
    DisaggregationSpec,
    HubRepo,
    LocalModelSpec,
    MonitoringSpec,
    PodPolicy,
    RuntimeSpec,
    ServingSpec,
)

SELECTION_KEYS = ("model", "gpu", "gpus", "precision", "backend", "metric")


def runtime_entry(rt: RuntimeSpec) -> dict:
    """The runtime without its name: the chart names it for the release (aimgen.names.runtime_name)."""
    return {
        "baseName": rt.base_name,
        "plugin": rt.plugin,
        "gfx": rt.gfx,
        "engine": rt.engine,
        "engineVersion": rt.engine_version,
        "image": rt.image,
        "command": list(rt.command),
        "port": rt.port,
        "healthPath": rt.health_path,
        "metricsPath": rt.metrics_path,
        "multinode": rt.multinode,
    }


def disaggregation_entry(d: DisaggregationSpec) -> dict:
    """The prefill and decode roles as the chart's llmisvc templates place them (render/llmisvc.py)."""
    return {
        "config": d.config_id,
        "sourceTitle": d.source_title,
        "connector": d.connector,
        **{r.role: {
            "replicas": r.replicas,
            "gpus": r.gpus,
            "tensorParallelSize": r.tensor_parallel_size,
            "port": r.port,
            "args": list(r.args),
            "env": dict(sorted(r.env)),
            "podIpEnv": list(r.pod_ip_env),
            "shmSize": r.shm_size,
        } for r in (d.prefill, d.decode)},
    }


def repo_entries(repos: tuple[HubRepo, ...], mount_path: str) -> list[dict]:
    """Hub repos the engine loads besides the checkpoint, as the chart prefetches them (render/kserve.py
    prefetch_containers) and sizes the claim for them (compose.service_cache_gib; 0: size unknown)."""
    from aimgen.cache.plan import extra_cache_gib, prefetch_args

    return [{"repo": r.repo, "revision": r.revision or "", "cacheGiB": extra_cache_gib(r.size_bytes),
             "prefetchArgs": prefetch_args(r.repo, r.revision or "main", mount_path)} for r in repos]


def profile_entry(svc: ServingSpec, rt: RuntimeSpec, mount_path: str, api: str = "isvc",
                  pod: PodPolicy = PodPolicy()) -> dict:
    """Everything about one served model that depends neither on the node pool nor on the release. A profile
    compiled for llmisvc says so (its argv and port are KServe's LLMInferenceService's), and carries its
    prefill/decode roles when it has them."""
    from aimgen.cache.plan import prefetch_args

    entry = {
        "id": svc.profile_id,
        "model": svc.model,
        "checkpoint": svc.checkpoint,
        "revision": svc.revision or "",
        "source": svc.source,
        "sourceTitle": svc.source_title,
        "gpu": svc.gpu,
        "gpus": svc.gpus,
        "precision": svc.precision,
        "backend": svc.backend,
        "metric": svc.metric,
        "nodes": svc.nodes,
        "tensorParallelSize": svc.tensor_parallel_size,
        "pipelineParallelSize": svc.pipeline_parallel_size,
        "parallelism": svc.shape.as_dict(),
        "runtime": runtime_entry(rt),
        # The profile's own command line; the chart appends the words of each feature the values switch on.
        "args": list(svc.without_features(svc.args)),
        "workerArgs": list(svc.without_features(svc.worker_args)),
        "features": {name: list(words) for name, words in svc.features},
        "env": dict(sorted(svc.env)),
        "compileCacheEnv": dict(svc.compile_env),
        "prefetchArgs": list(prefetch_args(svc.checkpoint, svc.revision or "main", mount_path)),
        "shmSize": svc.shm_size,
        "startupFailureThreshold": svc.probes.startup_failure_threshold,
        "cacheGiB": cache_gib(svc.cache_bytes),
        "weightsBytes": svc.weights_bytes,
        "disruptionBudget": pod.disruption_budget(svc.nodes),
        **({"derivedFrom": svc.derived_from} if svc.derived_from else {}),
    }
    # Repos the engine loads besides the checkpoint (a draft model): the profile's own, and each feature's.
    if svc.repos:
        entry["extraRepos"] = repo_entries(svc.repos, mount_path)
    if any(repos for _, repos in svc.feature_repos):
        entry["featureRepos"] = {name: repo_entries(repos, mount_path) for name, repos in svc.feature_repos if repos}
    if svc.storage_uri:
        entry["storageUri"] = svc.storage_uri
    if api == API_LLMISVC:
        entry["api"] = api
    if svc.disaggregation:
        entry["disaggregation"] = disaggregation_entry(svc.disaggregation)
    return entry


def selection(entry: dict) -> dict:
    """The keys a deployment names its profile by. `gpus` is the replica's GPUs in all, as `--gpus` and recipes
    count them; the entry's own `gpus` is per pod (a multi-node group's pods split the replica)."""
    return {**{k: entry[k] for k in SELECTION_KEYS}, "gpus": entry["parallelism"]["worldSize"]}


def profile_key(entry: dict) -> str:
    keys = selection(entry)
    return "|".join(str(keys[k]) for k in SELECTION_KEYS)


def deployment_values(svc: ServingSpec, entry: dict, table: dict | None) -> dict:
    out: dict = {"name": svc.name}
    out.update(selection(entry))
    if svc.fallbacks:
        out["fallbacks"] = list(svc.fallbacks)
    if svc.switched_on:
        out["features"] = list(svc.switched_on)
    if table is None or table.get("profiles", {}).get(profile_key(entry)) != entry:
        out["profile"] = entry
    return out


def monitoring_values(m: MonitoringSpec) -> dict:
    return {
        "enabled": m.enabled,
        "scrape": m.scrape,
        "scrapeInterval": m.scrape_interval,
        "selectorLabels": dict(m.selector_labels),
        "prometheusNamespace": m.namespace,
        "dashboard": {"enabled": m.dashboards, "labels": dict(m.dashboard_labels)},
        "alerts": {
            "enabled": m.alerts,
            "ttftP95Seconds": m.ttft_p95_slo_seconds,
            "kvCacheUsage": m.kv_cache_usage_threshold,
            "waitingRequests": m.waiting_requests_threshold,
            "gpuMemoryUsage": m.gpu_memory_usage_threshold,
            "startupGraceMinutes": m.startup_grace_minutes,
        },
    }


def autoscaling_values(a: AutoscalingSpec) -> dict:
    return {
        "enabled": a.enabled,
        "minReplicas": a.min_replicas,
        "maxReplicas": a.max_replicas,
        "prometheusAddress": a.prometheus_address,
        "waitingPerReplica": a.waiting_per_replica,
        "kvCachePerReplica": a.kv_cache_per_replica,
        "scaleUpStabilizationSeconds": a.scale_up_stabilization_seconds,
        "scaleDownStabilizationSeconds": a.scale_down_stabilization_seconds,
    }


def local_model_values(spec: DeploymentSpec) -> dict:
    """render/localmodel.py's node group: the chart names it and its caches from the release, as Python does."""
    local = spec.local_model
    return {
        "enabled": local is not None,
        "hostPath": local.host_path if local else "",
        "storageClass": local.storage_class if local else LocalModelSpec.storage_class,
        "storageLimit": local.storage_limit if local else "",
    }


def to_values(spec: DeploymentSpec, table: dict | None) -> dict:
    """Helm values that make charts/aim-engine render exactly what `aimgen render` renders for this spec."""
    runtimes = {rt.name: rt for rt in spec.runtimes}
    p, c, e, m, a = spec.placement, spec.cache, spec.exposure, spec.monitoring, spec.autoscaling
    host = e.ingress_host or ""
    llmisvc = spec.api == API_LLMISVC
    # With llmisvc the named Gateway is the router's (llmisvc.gateway), not an HTTPRoute of ours.
    gateway_name, gateway_ns = (e.gateway or ("", "")) if not llmisvc else ("", "")
    router_gateway, router_gateway_ns = (e.gateway or ("", "")) if llmisvc else ("", "")
    values: dict = {
        "deployments": [
            deployment_values(svc, profile_entry(svc, runtimes[svc.runtime], c.mount_path, spec.api, spec.pod), table)
            for svc in spec.services
        ],
        "clusterRuntime": spec.cluster_runtime,
        "nodePool": {
            "cpuPerGpu": p.cpu_per_gpu,
            "memoryGiBPerGpu": p.memory_gib_per_gpu,
            "nodeSelector": dict(p.node_selector),
            "matchDeviceIds": bool(p.device_ids),
            "tolerations": [dict(t) for t in p.tolerations],
            "priorityClassName": p.priority_class_name or "",
        },
        "cache": {
            "enabled": c.enabled,
            "existingClaim": c.existing_claim or "",
            "size": c.size,
            "storageClass": c.storage_class or "",
            "accessMode": c.access_mode,
            "initContainer": c.init_container,
            "prefetchJob": c.prefetch_job,
            "image": c.image,
        },
        "localModelCache": local_model_values(spec),
        "storageSecret": spec.storage_secret,
        "huggingface": {
            "endpoint": spec.hf_endpoint,
            "tokenSecret": {
                "name": spec.hf_token_secret[0] if spec.hf_token_secret else "",
                "key": spec.hf_token_secret[1] if spec.hf_token_secret else "token",
            }
        },
        "networkPolicy": {
            "enabled": e.network_policy,
            "allowedNamespaces": list(e.allowed_namespaces),
            "allowedPodLabels": dict(e.allowed_pod_labels),
        },
        "podDisruptionBudget": {"enabled": e.pdb},
        # render/exposure.py: an HTTPRoute when a Gateway is named, else an Ingress when a host is given.
        "ingress": {
            "enabled": bool(host) and not e.gateway,
            "className": e.ingress_class or "",
            "host": "" if e.gateway else host,
            "tls": {"secretName": e.tls_secret or ""},
        },
        "httpRoute": {
            "enabled": bool(gateway_name),
            "host": host if gateway_name else "",
            "gateway": {"name": gateway_name, "namespace": gateway_ns or ""},
        },
        "monitoring": monitoring_values(m),
        "autoscaling": autoscaling_values(a),
        "api": spec.api,
        # render/llmisvc.py: the router KServe builds (scheduler) or none, and the Gateway it attaches to.
        "llmisvc": {
            "router": spec.router,
            "gateway": {"name": router_gateway, "namespace": router_gateway_ns or ""},
        },
        "disaggregation": {"enabled": any(svc.disaggregation for svc in spec.services)},
    }
    return values
