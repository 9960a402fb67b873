"""The one normalized deployment spec: everything the renderers need, decided; nothing left to infer.

Selection and planning produce it (aimgen.compose); the KServe renderer and the Helm values renderer read it;
the chart renders the same objects from the values. Field names follow the Helm values (camelCase there).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aimgen.parallel import Parallelism, or_plain


@dataclass(frozen=True)
class Probes:
    path: str = "/health"
    period_seconds: int = 10
    startup_failure_threshold: int = 60  # sized to the weights: see compose.startup_failure_threshold
    readiness_failure_threshold: int = 3
    liveness_period_seconds: int = 30
    liveness_failure_threshold: int = 5
    timeout_seconds: int = 5


def _prefetch_resources() -> dict:
    # `aimgen cache prefetch` streams files: a few cores for hashing, memory for the transfer buffers.
    return {
        "requests": {"cpu": "1", "memory": "2Gi", "ephemeral-storage": "1Gi"},
        "limits": {"cpu": "4", "memory": "4Gi", "ephemeral-storage": "2Gi"},
    }


def _test_resources() -> dict:
    # The `helm test` pod runs `aimgen wait` and `aimgen smoke`: HTTP clients, a fraction of a core each.
    return {
        "requests": {"cpu": "100m", "memory": "256Mi", "ephemeral-storage": "64Mi"},
        "limits": {"cpu": "1", "memory": "512Mi", "ephemeral-storage": "256Mi"},
    }


@dataclass(frozen=True)
class PodPolicy:
    """The fixed settings of every pod the release runs, decided here once: the renderers build from it and
    `aimgen chart sync` ships what they build (files/chart.json "pod"), so no chart template restates them."""

    # A high UID that maps to no user on the node (checkov CKV_K8S_40): a container escape lands on nobody's files.
    run_as_user: int = 10001
    # GIDs that own /dev/kfd and /dev/dri/renderD* on common GPU node images (video=44; render=109/110 on
    # Ubuntu 22.04/24.04). Non-root engines need them to open the devices the device plugin mounts.
    device_groups: tuple[int, ...] = (44, 109, 110)
    termination_grace_seconds: int = 120  # in-flight requests finish; the engine drains on SIGTERM
    tmp_size: str = "20Gi"  # /tmp of a serving pod: HOME and scratch
    job_tmp_size: str = "2Gi"  # /tmp of a prefetch Job
    job_backoff_limit: int = 6
    job_ttl_seconds: int = 86400  # a finished prefetch Job stays a day for its logs
    pdb_max_unavailable: int = 1  # voluntary evictions take one replica of a model at a time
    token_file_mode: int = 0o440  # owner root, group fsGroup: readable by the non-root user, by nobody else
    prefetch_resources: dict = field(default_factory=_prefetch_resources, hash=False, compare=False)
    # The chart's `helm test` pod (templates/tests/): its containers, its /tmp, how long it waits for each endpoint
    # (the first start of a large model downloads and loads weights for minutes).
    test_resources: dict = field(default_factory=_test_resources, hash=False, compare=False)
    test_tmp_size: str = "256Mi"
    test_wait_seconds: int = 600

    def disruption_budget(self, nodes: int) -> dict:
        """The PodDisruptionBudget's budget for a replica of `nodes` pods. One replica at a time; a multi-node group
        is one replica whose pods all must run (losing a worker stops the head's engine), so none of its pods may be
        evicted voluntarily: drain by deleting the group. The renderers and the chart (each compiled profile's
        disruptionBudget) place this answer; neither restates it."""
        return {"minAvailable": nodes} if nodes > 1 else {"maxUnavailable": self.pdb_max_unavailable}


@dataclass(frozen=True)
class RuntimeSpec:
    """One ServingRuntime / ClusterServingRuntime object."""

    name: str  # object name, release-scoped: aimgen.names.runtime_name(), e.g. qwen3-8b-vllm-rocm-gfx942
    plugin: str  # runtimes/<plugin>/
    engine: str  # vllm | sglang
    engine_version: str
    image: str  # repository:tag or repository@sha256:...
    command: tuple[str, ...]
    port: int
    health_path: str
    metrics_path: str
    multinode: bool = False  # carries KServe's workerSpec (worker-container) and the mp executor annotation
    gfx: str = ""  # the GPU generation the image is built for (part of the runtime's name)

    @property
    def base_name(self) -> str:
        """The runtime's name before the release scopes it: plugin, GPU generation and, for a group runtime, its
        kind (a workerSpec must not change the runtime single-node models use)."""
        return f"{self.plugin}-{self.gfx}{'-multinode' if self.multinode else ''}"


@dataclass(frozen=True)
class RoleSpec:
    """One side of a prefill/decode split: KServe's `prefill` section or the decode `template` of an
    LLMInferenceService, each with its own parallelism, replica count and engine argv."""

    role: str  # prefill | decode
    replicas: int
    gpus: int  # GPUs per pod
    tensor_parallel_size: int
    port: int  # where this role's engine listens
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    shm_size: str
    pod_ip_env: tuple[str, ...] = ()  # env vars set to the pod's IP (the KV connector's side channel)


@dataclass(frozen=True)
class DisaggregationSpec:
    """Prefill/decode disaggregation from a cited P/D configuration (aimgen.planning.disagg)."""

    config_id: str
    source_title: str
    connector: str  # vLLM kv_connector, e.g. NixlConnector
    prefill: RoleSpec
    decode: RoleSpec


@dataclass(frozen=True)
class HubRepo:
    """A Hub repository the engine loads besides its checkpoint (a speculative-decoding draft model, found by
    aimgen.planning.drafts): the cache prefetches it beside the checkpoint, and the engine reads it offline."""

    repo: str
    revision: str | None = None  # None: the default branch
    size_bytes: int | None = None  # on disk, where the catalog knows it; None: unknown, not in the claim's size


@dataclass(frozen=True)
class ServingSpec:
    """One model served by one InferenceService."""

    name: str
    model: str  # catalog id (also the served model name)
    checkpoint: str  # Hugging Face repo loaded
    revision: str | None
    profile_id: str
    source: str  # "recipe" | "derived" | "planner" (docs/selection.md)
    source_title: str
    gpu: str
    gpus: int  # GPUs per pod
    precision: str
    backend: str
    metric: str
    nodes: int
    tensor_parallel_size: int
    pipeline_parallel_size: int
    runtime: str  # RuntimeSpec.name
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    shm_size: str
    weights_bytes: int
    cache_bytes: int
    probes: Probes = field(default_factory=Probes)
    fallbacks: tuple[str, ...] = ()  # what selection changed on open dimensions, said on the InferenceService
    derived_from: str = ""  # the cited profile a derived one comes from
    min_replicas: int = 1
    max_replicas: int = 1
    disaggregation: DisaggregationSpec | None = None  # llmisvc only: prefill/decode split
    parallelism: Parallelism | None = None  # the whole split; None: TP x PP over `nodes` as the fields say
    worker_args: tuple[str, ...] = ()  # nodes > 1: the worker pods' argv (args holds the head's)
    # KServe's storageUri when the weights come from elsewhere (aimgen.sources): the engine loads /mnt/models
    storage_uri: str = ""
    # Every recipe feature this profile offers, with the argv words it appends (recipes/features.py), and the
    # ones switched on, in the order asked: args and worker_args end with their words.
    features: tuple[tuple[str, tuple[str, ...]], ...] = ()
    switched_on: tuple[str, ...] = ()
    # Hub repos the engine loads besides the checkpoint: those the profile's own args name, and those each offered
    # feature's words add (none named already), as `features` lists them. The cache prefetches `extra_repos`.
    repos: tuple[HubRepo, ...] = ()
    feature_repos: tuple[tuple[str, tuple[HubRepo, ...]], ...] = ()

    @property
    def shape(self) -> Parallelism:
        return or_plain(self.parallelism, self.tensor_parallel_size, self.pipeline_parallel_size, self.nodes)

    @property
    def multinode(self) -> bool:
        return self.nodes > 1

    def without_features(self, argv: tuple[str, ...]) -> tuple[str, ...]:
        """args or worker_args as the profile spells them, before the switched-on features' words."""
        words = dict(self.features)
        return argv[:len(argv) - sum(len(words[name]) for name in self.switched_on)] if argv else argv

    @property
    def extra_repos(self) -> tuple[HubRepo, ...]:
        """Every Hub repo the engine loads besides the checkpoint: the profile's, then each switched-on feature's."""
        added = dict(self.feature_repos)
        return self.repos + sum((added.get(name, ()) for name in self.switched_on), ())
    # The engine's compile/JIT cache dirs on the cache volume, keyed by image and gfx (cache.plan.compile_cache_env)
    compile_env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Placement:
    node_selector: tuple[tuple[str, str], ...] = ()
    device_ids: tuple[str, ...] = ()  # node affinity on amd.com/gpu.device-id
    tolerations: tuple[dict, ...] = ()
    priority_class_name: str | None = None
    cpu_per_gpu: int = 8
    memory_gib_per_gpu: int = 64


@dataclass(frozen=True)
class CacheSpec:
    enabled: bool = True
    claim_name: str = ""
    existing_claim: str | None = None  # when set, no PVC is created
    size: str = "100Gi"
    storage_class: str | None = None
    access_mode: str = "ReadWriteMany"
    mount_path: str = "/models"
    prefetch_job: bool = False
    init_container: bool = True
    image: str = ""  # aimgen image that runs `aimgen cache prefetch`; "": the engine image runs the aimgen bundle


@dataclass(frozen=True)
class LocalModelSpec:
    """KServe's node-local model cache (render/localmodel.py): one LocalModelNodeGroup over the AMD nodes, whose
    local disks at `host_path` hold every model of the release (a LocalModelCache each)."""

    node_group: str  # the LocalModelNodeGroup's name (cluster-scoped), also the InferenceServices' nodegroup
    host_path: str  # the folder on each node's local disk (the group's local PersistentVolume)
    storage_limit: str  # per node: room for every model of the release
    storage_class: str = "local-storage"  # KServe's docs: the PV and the claims KServe makes bind by this name


@dataclass(frozen=True)
class MonitoringSpec:
    """Scraping, dashboard and alerts (aimgen.render.monitoring; numbers are explained in docs/observability.md)."""

    enabled: bool = False
    scrape: str = "podmonitor"  # podmonitor | annotations (prometheus.io/* on the pods only)
    scrape_interval: str = "30s"
    selector_labels: tuple[tuple[str, str], ...] = ()  # on PodMonitor/PrometheusRule: what the Prometheus selects
    namespace: str = "monitoring"  # where Prometheus runs: let through the NetworkPolicy to the metrics port
    dashboards: bool = True
    dashboard_labels: tuple[tuple[str, str], ...] = (("grafana_dashboard", "1"),)  # what Grafana's sidecar watches
    alerts: bool = True
    ttft_p95_slo_seconds: float = 2.0
    kv_cache_usage_threshold: float = 0.95
    waiting_requests_threshold: int = 32
    gpu_memory_usage_threshold: float = 0.98
    startup_grace_minutes: int = 30  # no replica available for this long: alert (sized to the slowest startup)


@dataclass(frozen=True)
class AutoscalingSpec:
    """KServe-managed KEDA scaling on vLLM signals (aimgen.render.autoscaling)."""

    enabled: bool = False
    min_replicas: int = 1
    max_replicas: int = 1
    waiting_per_replica: int = 8  # queued requests per replica (vllm:num_requests_waiting)
    kv_cache_per_replica: float = 0.8  # KV-cache usage per replica (vllm:kv_cache_usage_perc, 0..1)
    prometheus_address: str = "http://prometheus-operated.monitoring.svc:9090"
    scale_up_stabilization_seconds: int = 0
    scale_down_stabilization_seconds: int = 600  # replicas take minutes to start: give them back slowly


@dataclass(frozen=True)
class ExposureSpec:
    """Who may reach the serving port, and how traffic enters from outside the namespace."""

    network_policy: bool = True
    allowed_namespaces: tuple[str, ...] = ()  # namespaces (by kubernetes.io/metadata.name) allowed in
    allowed_pod_labels: tuple[tuple[str, str], ...] = ()  # pods in the release namespace allowed in
    pdb: bool = True
    ingress_host: str | None = None
    ingress_class: str | None = None
    tls_secret: str | None = None
    gateway: tuple[str, str] | None = None  # (gateway name, namespace) for an HTTPRoute, or llmisvc's gateway ref


@dataclass(frozen=True)
class DeploymentSpec:
    release: str  # app.kubernetes.io/instance
    namespace: str
    runtimes: tuple[RuntimeSpec, ...]
    services: tuple[ServingSpec, ...]
    cluster_runtime: bool = False
    cache: CacheSpec = field(default_factory=CacheSpec)
    placement: Placement = field(default_factory=Placement)
    hf_token_secret: tuple[str, str] | None = None  # (secret name, key)
    local_model: LocalModelSpec | None = None  # KServe LocalModelCache on the nodes' disks
    storage_secret: str = ""  # Secret with a bucket's credentials for KServe's storage initializer (s3://)
    hf_endpoint: str = ""  # a Hub mirror (HF_ENDPOINT) for every container that talks to the Hub; "": huggingface.co
    service_account: str = ""
    monitoring: MonitoringSpec = field(default_factory=MonitoringSpec)
    autoscaling: AutoscalingSpec = field(default_factory=AutoscalingSpec)
    exposure: ExposureSpec = field(default_factory=ExposureSpec)
    pod: PodPolicy = field(default_factory=PodPolicy)
    explanations: tuple[str, ...] = ()
    api: str = "isvc"  # isvc (InferenceService + ServingRuntime) | llmisvc (LLMInferenceService + its config)
    router: str = "scheduler"  # llmisvc only: scheduler (EPP + InferencePool + HTTPRoute + Gateway) | none
