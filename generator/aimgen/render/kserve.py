"""DeploymentSpec → KServe and Kubernetes manifests (plain dicts), in apply order."""

from __future__ import annotations

from aimgen.constants import (
    API_ISVC,
    API_LLMISVC,
    ANN_DEPLOYMENT_MODE,
    ANN_DERIVED_FROM,
    ANN_FALLBACKS,
    ANN_MODEL,
    ANN_PROFILE,
    DEPLOYMENT_MODE_RAW,
    KIND_CLUSTER_SERVING_RUNTIME,
    KIND_INFERENCE_SERVICE,
    KIND_SERVING_RUNTIME,
    KSERVE_V1ALPHA1,
    KSERVE_V1BETA1,
    LABEL_COMPONENT,
    LABEL_INSTANCE,
    LABEL_ROLE,
    ROLE_WORKER,
    SERVING_CONTAINER,
    SHM_MOUNT_PATH,
)
from aimgen.multinode import EXECUTOR_ANNOTATION, EXECUTOR_MP, POD_IP_ENV, WORKER_CONTAINER
from aimgen.names import dns_label
from aimgen.render import autoscaling, k8s, localmodel, selectors
from aimgen.sources import hub_egress_ports
from aimgen.spec import DeploymentSpec, RuntimeSpec, ServingSpec

MODEL_FORMAT = "huggingface"
STORAGE_SECRET_ANNOTATION = "serving.kserve.io/storageSecretName"
CACHE_VOLUME = "model-cache"
SHM_VOLUME = "dshm"
TMP_VOLUME = "tmp"
PREFETCH_CONTAINER = "model-prefetch"
# The Hugging Face token reaches the prefetch container as a file from the Secret, never as env: env leaks into
# crash dumps and `kubectl describe`, and the engine itself reads the cache offline without any token.
TOKEN_VOLUME = "hf-token"
TOKEN_DIR = "/var/run/secrets/huggingface"
TOKEN_FILE = f"{TOKEN_DIR}/token"
BUNDLE_VOLUME = "aimgen-bundle"


def service_account(spec: DeploymentSpec) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": k8s.metadata(spec, spec.service_account, "serving"),
        "automountServiceAccountToken": False,
    }


def serving_runtime(spec: DeploymentSpec, rt: RuntimeSpec) -> dict:
    kind = KIND_CLUSTER_SERVING_RUNTIME if spec.cluster_runtime else KIND_SERVING_RUNTIME
    annotations = {"prometheus.kserve.io/port": str(rt.port), "prometheus.kserve.io/path": rt.metrics_path}
    if rt.multinode:
        # KServe reads the executor from the runtime's spec.annotations: "mp" sizes every pod of the group
        # by tensorParallelSize and counts nodes by pipelineParallelSize, with no Ray (aimgen.multinode).
        annotations[EXECUTOR_ANNOTATION] = EXECUTOR_MP
    runtime_spec: dict = {
        # Only InferenceServices that name this runtime use it: never auto-selected for other models.
        "supportedModelFormats": [{"name": MODEL_FORMAT, "version": "1", "autoSelect": False}],
        "annotations": annotations,
        "containers": [
            {
                "name": SERVING_CONTAINER,
                "image": rt.image,
                # Explicit: a pinned engine image of ~20 GB is pulled once per node, not on every start.
                "imagePullPolicy": "IfNotPresent",
                "command": list(rt.command),
                "ports": [{"name": "http", "containerPort": rt.port, "protocol": "TCP"}],
                "securityContext": k8s.container_security_context(read_only_root=True),
            }
        ],
    }
    if rt.multinode:
        # The same engine command on the workers; their args (--headless, rank, head address) come from the
        # InferenceService, which KServe merges into this container by its name.
        runtime_spec["workerSpec"] = {
            "labels": {LABEL_ROLE: ROLE_WORKER},
            "containers": [{
                "name": WORKER_CONTAINER,
                "image": rt.image,
                "imagePullPolicy": "IfNotPresent",
                "command": list(rt.command),
                "securityContext": k8s.container_security_context(read_only_root=True),
            }],
        }
    return {
        "apiVersion": KSERVE_V1ALPHA1,
        "kind": kind,
        "metadata": k8s.metadata(spec, rt.name, "runtime", rt.plugin, namespaced=not spec.cluster_runtime),
        "spec": runtime_spec,
    }


def cache_pvc(spec: DeploymentSpec) -> dict:
    c = spec.cache
    pvc_spec: dict = {"accessModes": [c.access_mode], "resources": {"requests": {"storage": c.size}}}
    if c.storage_class:
        pvc_spec["storageClassName"] = c.storage_class
    meta = k8s.metadata(spec, c.claim_name, "model-cache")
    # Helm would delete the claim with the release; keep the (expensive) cache.
    meta["annotations"] = {"helm.sh/resource-policy": "keep"}
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta, "spec": pvc_spec}


def bundle_name(spec: DeploymentSpec) -> str:
    return dns_label(f"{spec.release}-aimgen")


def bundle_configmap(spec: DeploymentSpec) -> dict:
    """The aimgen bundle (aimgen.podbundle) for pods that run it with the engine image's Python: rendered whenever
    no aimgen image is configured (cache.image ""), so a zero-config install names only public images."""
    from aimgen import podbundle

    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": k8s.metadata(spec, bundle_name(spec), "aimgen"),
            "binaryData": {podbundle.CONFIGMAP_KEY: podbundle.build_b64()}}


def bundle_volumes(spec: DeploymentSpec) -> list[dict]:
    if spec.cache.image:
        return []
    return [{"name": BUNDLE_VOLUME, "configMap": {"name": bundle_name(spec)}}]


def token_volumes(spec: DeploymentSpec) -> list[dict]:
    if not spec.hf_token_secret:
        return []
    name, key = spec.hf_token_secret
    # Not optional: a Secret that was named but does not exist is a mistake to surface, not to ignore.
    return [{
        "name": TOKEN_VOLUME,
        "secret": {"secretName": name, "items": [{"key": key, "path": "token"}], "defaultMode": spec.pod.token_file_mode},
    }]


def image_skips(*images: str) -> dict:
    """checkov skip annotations (with the reason) for a pod with an image pinned by tag, not digest."""
    if all("@" in image for image in images):
        return {}
    return {
        "checkov.io/skip1": "CKV_K8S_43=pinned by its release tag; set imageDigests in the chart values to pin by digest",
        "checkov.io/skip2": "CKV_K8S_15=IfNotPresent on a pinned tag; Always would make every pod start depend on the registry",
    }


def prefetch_env_vars(mount_path: str) -> dict[str, str]:
    """Env of the prefetch container (init container and Job); the chart ships it in its profile table."""
    from aimgen.cache.plan import prefetch_env

    return dict(sorted({"HOME": "/tmp", "HF_HOME": mount_path, **prefetch_env()}.items()))


def hub_env(spec: DeploymentSpec) -> dict[str, str]:
    """HF_ENDPOINT for every container that talks to the Hub (prefetch, and an engine that downloads itself)."""
    return {"HF_ENDPOINT": spec.hf_endpoint} if spec.hf_endpoint else {}


def prefetch_image(spec: DeploymentSpec, rt: RuntimeSpec) -> str:
    """The aimgen image when one is configured, else the engine's own (public, and pulled by the node anyway)."""
    return spec.cache.image or rt.image


def prefetch_containers(spec: DeploymentSpec, svc: ServingSpec, rt: RuntimeSpec) -> list[dict]:
    """One `aimgen cache prefetch` per Hub repo the engine loads: the checkpoint (`model-prefetch`), then each repo
    it loads besides (a draft model: `model-prefetch-1`, ...), all into the same cache the engine reads offline."""
    repos = [(svc.checkpoint, svc.revision), *((r.repo, r.revision) for r in svc.extra_repos)]
    return [prefetch_container(spec, rt, repo, revision, PREFETCH_CONTAINER + (f"-{i}" if i else ""))
            for i, (repo, revision) in enumerate(repos)]


def prefetch_container(spec: DeploymentSpec, rt: RuntimeSpec, repo: str, revision: str | None,
                       name: str = PREFETCH_CONTAINER) -> dict:
    from aimgen import podbundle
    from aimgen.cache.plan import prefetch_args

    c = spec.cache
    env = k8s.env_list(sorted({**prefetch_env_vars(c.mount_path), **hub_env(spec)}.items()))
    token_file = TOKEN_FILE if spec.hf_token_secret else None
    mounts = [{"name": CACHE_VOLUME, "mountPath": c.mount_path}, {"name": TMP_VOLUME, "mountPath": "/tmp"}]
    if token_file:
        mounts.append({"name": TOKEN_VOLUME, "mountPath": TOKEN_DIR, "readOnly": True})
    if not c.image:
        mounts.append({"name": BUNDLE_VOLUME, "mountPath": podbundle.MOUNT_PATH, "readOnly": True})
    return {
        "name": name,
        "image": prefetch_image(spec, rt),
        "imagePullPolicy": "IfNotPresent",
        "command": ["aimgen"] if c.image else ["python3", podbundle.ENTRY],
        "args": prefetch_args(repo, revision or "main", c.mount_path, token_file=token_file),
        "env": env,
        "resources": spec.pod.prefetch_resources,
        "volumeMounts": mounts,
        "securityContext": k8s.container_security_context(read_only_root=True),
    }


def volumes(spec: DeploymentSpec, shm_size: str) -> list[dict]:
    vols = []
    if spec.cache.enabled:
        vols.append({"name": CACHE_VOLUME, "persistentVolumeClaim": {"claimName": spec.cache.claim_name}})
    vols.append({"name": SHM_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": shm_size}})
    vols.append({"name": TMP_VOLUME, "emptyDir": {"sizeLimit": spec.pod.tmp_size}})
    if spec.cache.init_container:
        vols += token_volumes(spec) + bundle_volumes(spec)
    return vols


def mounts(spec: DeploymentSpec) -> list[dict]:
    mounts = []
    if spec.cache.enabled:
        mounts.append({"name": CACHE_VOLUME, "mountPath": spec.cache.mount_path})
    mounts.append({"name": SHM_VOLUME, "mountPath": SHM_MOUNT_PATH})
    mounts.append({"name": TMP_VOLUME, "mountPath": "/tmp"})
    return mounts


def serving_env(spec: DeploymentSpec, profile_env: tuple[tuple[str, str], ...],
                compile_env: tuple[tuple[str, str], ...] = ()) -> list[tuple[str, str]]:
    """The engine's env: the profile's, over the cache's (HF_HOME on the claim, offline, compile caches on it) and
    the Hub mirror's (read by an engine that downloads the model itself: no cache, or a cache it misses)."""
    from aimgen.cache.plan import serving_env as cache_env

    env = {**cache_env(spec.cache.mount_path), **dict(compile_env)} if spec.cache.enabled else {}
    env.update(hub_env(spec))
    env.update(dict(profile_env))
    return sorted(env.items())


def pod_labels(spec: DeploymentSpec, svc: ServingSpec) -> dict:
    return k8s.selector_labels(spec, "predictor", svc.name)


def _pod_annotations(spec: DeploymentSpec, rt: RuntimeSpec) -> dict:
    """KServe copies predictor.annotations onto the pod it creates: checkov scans that pod
    (validate/kserve_pod.py builds it), so the skips and their reasons sit where the pod gets them."""
    images = [rt.image] + ([prefetch_image(spec, rt)] if spec.cache.init_container else [])
    skips = image_skips(*images)
    return {"annotations": skips} if skips else {}


def inference_service(spec: DeploymentSpec, svc: ServingSpec, rt: RuntimeSpec) -> dict:
    annotations = {
        ANN_DEPLOYMENT_MODE: DEPLOYMENT_MODE_RAW,
        ANN_MODEL: svc.model,
        ANN_PROFILE: svc.profile_id,
        **({ANN_DERIVED_FROM: svc.derived_from} if svc.derived_from else {}),
        **({ANN_FALLBACKS: "; ".join(svc.fallbacks)} if svc.fallbacks else {}),
        "serving.kserve.io/enable-prometheus-scraping": "true",
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(rt.port),
        "prometheus.io/path": rt.metrics_path,
        **autoscaling.isvc_annotations(spec),
        **localmodel.isvc_annotations(spec),
        # KServe's credential builder mounts this Secret (and its s3-endpoint annotations) into the storage
        # initializer (pkg/credentials: storageSecretNameAnnotation of the default inferenceservice-config)
        **({STORAGE_SECRET_ANNOTATION: spec.storage_secret} if spec.storage_secret else {}),
    }
    model = {
        "modelFormat": {"name": MODEL_FORMAT},
        "runtime": rt.name,
        # weights from a --model-source: KServe mounts or downloads them at /mnt/models, where the args point
        **({"storageUri": svc.storage_uri} if svc.storage_uri else {}),
        "args": list(svc.args),
        "env": k8s.env_list(serving_env(spec, svc.env, svc.compile_env)),
        "resources": k8s.gpu_resources(spec.placement, svc.gpus),
        "volumeMounts": mounts(spec),
        **k8s.probes(svc.probes, rt.port),
        # Read-only root: every write goes to a mount. HOME=/tmp (the profile's env) puts the Triton, vLLM,
        # MIOpen and torch caches on the tmp emptyDir; weights on the cache claim; /dev/shm on its own emptyDir.
        "securityContext": k8s.container_security_context(read_only_root=True),
    }
    predictor: dict = {
        "minReplicas": svc.min_replicas,
        "maxReplicas": svc.max_replicas,
        "labels": pod_labels(spec, svc),
        **_pod_annotations(spec, rt),
        **pod_fields(spec, svc, rt),
        **autoscaling.predictor_fields(spec, svc),
    }
    predictor["model"] = model
    if svc.multinode:
        _add_workers(spec, svc, rt, predictor)
    return {
        "apiVersion": KSERVE_V1BETA1,
        "kind": KIND_INFERENCE_SERVICE,
        "metadata": k8s.metadata(spec, svc.name, "inference", svc.name, annotations=annotations),
        "spec": {"predictor": predictor},
    }


def pod_fields(spec: DeploymentSpec, svc: ServingSpec, rt: RuntimeSpec, shm_size: str | None = None) -> dict:
    """What every serving pod shares (a predictor's head and workers, an LLMInferenceService's roles): identity,
    security, placement, init container, volumes (/dev/shm sized for this pod's GPUs)."""
    fields: dict = {
        "serviceAccountName": spec.service_account,
        "automountServiceAccountToken": False,
        "securityContext": k8s.pod_security_context(spec.pod),
        **k8s.placement_fields(spec.placement),
        "terminationGracePeriodSeconds": spec.pod.termination_grace_seconds,
    }
    if spec.cache.init_container:
        # On every pod of a group: each waits for (or fills) the shared cache before its engine reads it.
        fields["initContainers"] = prefetch_containers(spec, svc, rt)
    fields["volumes"] = volumes(spec, shm_size or svc.shm_size)
    return fields


def _add_workers(spec: DeploymentSpec, svc: ServingSpec, rt: RuntimeSpec, predictor: dict) -> None:
    """KServe v0.20's multi-node shape (aimgen.multinode): the head is predictor.model, the workers
    predictor.workerSpec. With the mp executor KServe reads pipelineParallelSize as the node count and
    tensorParallelSize as every pod's GPUs, so they carry the group's shape even when the engine splits it as
    DP ranks (the engine's own sizes are in the args). Probes stay on the head: the workers serve no HTTP."""
    shape, model = svc.shape, predictor["model"]
    # The webhook wants a pvc:// or oci:// storageUri for multi-node; KServe mounts the claim read-only at
    # /mnt/models, and the engine reads the same files through HF_HOME on the cache mount.
    model.setdefault("storageUri", f"pvc://{spec.cache.claim_name}")
    model["env"] = [*model["env"], POD_IP_ENV]
    worker = {
        "name": WORKER_CONTAINER,
        "args": list(svc.worker_args),
        "env": k8s.env_list(serving_env(spec, svc.env, svc.compile_env)),
        **{k: model[k] for k in ("resources", "volumeMounts", "securityContext")},
    }
    predictor["workerSpec"] = {
        "pipelineParallelSize": shape.nodes,
        "tensorParallelSize": shape.gpus_per_node,
        **pod_fields(spec, svc, rt),
        "containers": [worker],
    }


def group_pods(spec: DeploymentSpec, svc: ServingSpec) -> dict:
    """Labels of every pod of one model's multi-node groups, heads and workers alike."""
    if spec.api == API_LLMISVC:
        return selectors.group_selector(spec, svc)
    return pod_labels(spec, svc)


def group_network_policy(spec: DeploymentSpec, svc: ServingSpec) -> dict:
    """The pods of one multi-node group talk to each other on ports the engine picks (RCCL, the mp executor's
    master port, DP RPC): all ports, both ways, but only between the group's own pods (the default-deny policy
    denies the rest of an InferenceService release's egress; an LLMInferenceService release's egress is open,
    and restricting it here would cut its pods off DNS and the Hub)."""
    group = {"matchLabels": group_pods(spec, svc)}
    body: dict = {"podSelector": group, "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": group}]}]}
    if egress_restricted(spec):
        body["policyTypes"].append("Egress")
        body["egress"] = [{"to": [{"podSelector": group}]}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": k8s.metadata(spec, dns_label(f"{svc.name}-group"), "network-policy", svc.name),
        "spec": body,
    }


def prefetch_job(spec: DeploymentSpec, svc: ServingSpec, rt: RuntimeSpec) -> dict:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": k8s.metadata(spec, f"{svc.name}-prefetch", "prefetch", svc.name,
                                 annotations=image_skips(prefetch_image(spec, rt))),
        "spec": {
            "backoffLimit": spec.pod.job_backoff_limit,
            "ttlSecondsAfterFinished": spec.pod.job_ttl_seconds,
            "template": {
                "metadata": {"labels": k8s.selector_labels(spec, "prefetch", svc.name)},
                "spec": {
                    "serviceAccountName": spec.service_account,
                    "automountServiceAccountToken": False,
                    "restartPolicy": "OnFailure",
                    "securityContext": k8s.pod_security_context(spec.pod),
                    "containers": prefetch_containers(spec, svc, rt),
                    "volumes": [
                        {"name": CACHE_VOLUME, "persistentVolumeClaim": {"claimName": spec.cache.claim_name}},
                        {"name": TMP_VOLUME, "emptyDir": {"sizeLimit": spec.pod.job_tmp_size}},
                        *token_volumes(spec),
                        *bundle_volumes(spec),
                    ],
                },
            },
        },
    }


# Cluster DNS: CoreDNS and kube-dns pods carry k8s-app=kube-dns (kubeadm, EKS, GKE, AKS), in whichever namespace.
DNS_EGRESS = {
    "to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
}


def engine_pods(spec: DeploymentSpec, svc: ServingSpec | None = None) -> dict:
    """Labels that select the release's serving pods (or one model's), whichever KServe API made them."""
    if spec.api == API_LLMISVC:
        return selectors.workload_selector(spec, svc)
    if svc is not None:
        return pod_labels(spec, svc)
    return {LABEL_INSTANCE: spec.release, "app.kubernetes.io/component": "predictor"}


def serving_ports(spec: DeploymentSpec) -> list[int]:
    """Where clients (and, with a router, the Gateway and the endpoint picker) reach the engines, and Prometheus
    scrapes them: every runtime's serving port (with llmisvc KServe's 8000, the decode routing sidecar's included)
    and, with prefill/decode, each role's engine port (decode's engine sits on 8001 behind the sidecar)."""
    ports = {rt.port for rt in spec.runtimes}
    for svc in spec.services:
        if svc.disaggregation:
            ports |= {svc.disaggregation.prefill.port, svc.disaggregation.decode.port}
    return sorted(ports)


def network_policy(spec: DeploymentSpec) -> dict:
    ports = serving_ports(spec)
    sources: list[dict] = [{"podSelector": {}}] if not spec.exposure.allowed_pod_labels else [
        {"podSelector": {"matchLabels": dict(spec.exposure.allowed_pod_labels)}}
    ]
    namespaces = list(spec.exposure.allowed_namespaces)
    if spec.monitoring.enabled and spec.monitoring.namespace and spec.monitoring.namespace not in namespaces:
        namespaces.append(spec.monitoring.namespace)  # Prometheus scrapes the serving port
    for ns in namespaces:
        sources.append({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}})
    rules = [{"from": sources, "ports": [{"protocol": "TCP", "port": port} for port in ports]}]
    if any(svc.disaggregation for svc in spec.services):
        # Prefill and decode pods exchange KV blocks over UCX on ports it picks at run time (and the NIXL side
        # channel, 5600): between the release's own engine pods every port is open.
        rules.append({"from": [{"podSelector": {"matchLabels": engine_pods(spec)}}]})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": k8s.metadata(spec, dns_label(f"{spec.release}-serving"), "network-policy"),
        "spec": {
            "podSelector": {"matchLabels": engine_pods(spec)},
            "policyTypes": ["Ingress"],
            "ingress": rules,
        },
    }


def egress_restricted(spec: DeploymentSpec) -> bool:
    """Egress is denied by default only for InferenceService releases, whose pods need DNS, the Hub (prefetch)
    and nothing else. LLMInferenceService pods are KServe's to shape: its router's scheduler watches the API
    server and prefill/decode pods exchange KV blocks on ports picked at run time (docs/llmisvc.md)."""
    return spec.api == API_ISVC


def default_deny_policy(spec: DeploymentSpec) -> dict:
    """No ingress to any pod of the release (prefetch Jobs, test pods) but what another policy allows (the
    serving policy opens the serving port of the predictors; NetworkPolicies add up); for InferenceService
    releases also no egress but cluster DNS and the release's own serving ports (the `helm test` pod): never the
    API server, never the Internet."""
    body: dict = {"podSelector": {"matchLabels": {LABEL_INSTANCE: spec.release}}, "policyTypes": ["Ingress"]}
    if egress_restricted(spec):
        body["policyTypes"].append("Egress")
        to_engines = {"to": [{"podSelector": {"matchLabels": engine_pods(spec)}}],
                      "ports": [{"protocol": "TCP", "port": p} for p in serving_ports(spec)]}
        body["egress"] = [DNS_EGRESS, to_engines]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": k8s.metadata(spec, dns_label(f"{spec.release}-default-deny"), "network-policy"),
        "spec": body,
    }


def downloads_at_start(spec: DeploymentSpec, svc: ServingSpec) -> bool:
    """Whether a serving pod fetches its weights over the network when it starts, besides our init container:
    KServe's storage initializer for an s3:// source, or an engine without the cache loading from the Hub. A pvc://
    claim is mounted, an oci:// model car is pulled by the kubelet and a LocalModelCache is downloaded by KServe's
    jobs in their own namespace: nothing leaves the pod."""
    if spec.local_model:
        return False
    if svc.storage_uri:
        return svc.storage_uri.startswith("s3://")
    return not spec.cache.enabled


def hub_egress_policy(spec: DeploymentSpec) -> dict | None:
    """Out to the Hub or its mirror (HTTPS, and the mirror's port) for the pods that download: the prefetch Jobs,
    the predictors while their init container fills the cache, and the predictors whose engine downloads the model
    itself (no cache). An engine on the cache reads it offline."""
    predictor = spec.cache.init_container or any(downloads_at_start(spec, svc) for svc in spec.services)
    components = [c for c, on in (("predictor", predictor), ("prefetch", spec.cache.prefetch_job)) if on]
    if not components or not egress_restricted(spec):
        return None
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": k8s.metadata(spec, dns_label(f"{spec.release}-hub-egress"), "network-policy"),
        "spec": {
            "podSelector": {
                "matchLabels": {LABEL_INSTANCE: spec.release},
                "matchExpressions": [{"key": LABEL_COMPONENT, "operator": "In", "values": components}],
            },
            "policyTypes": ["Egress"],
            "egress": [{"ports": [{"protocol": "TCP", "port": p} for p in hub_egress_ports(spec.hf_endpoint)]}],
        },
    }


def pod_disruption_budget(spec: DeploymentSpec, svc: ServingSpec) -> dict:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": k8s.metadata(spec, f"{svc.name}-pdb", "disruption-budget", svc.name),
        "spec": {**spec.pod.disruption_budget(svc.nodes), "selector": {"matchLabels": group_pods(spec, svc) if svc.multinode
                                        else engine_pods(spec, svc)}},
    }


def render(spec: DeploymentSpec, workloads: list[dict] | None = None) -> list[dict]:
    """Every object of the release but exposure and monitoring, in apply order; `workloads` are the API's serving
    objects when it is not an InferenceService (render/manifests.py passes render/llmisvc.py's)."""
    runtimes = {rt.name: rt for rt in spec.runtimes}
    docs: list[dict] = [service_account(spec)]
    if spec.api == API_ISVC:
        docs += [serving_runtime(spec, rt) for rt in spec.runtimes]
    if spec.cache.enabled and not spec.cache.existing_claim:
        docs.append(cache_pvc(spec))
    docs += localmodel.render(spec)
    if not spec.cache.image:
        docs.append(bundle_configmap(spec))
    if spec.cache.prefetch_job:
        docs += [prefetch_job(spec, svc, runtimes[svc.runtime]) for svc in spec.services]
    if workloads is None:
        workloads = [inference_service(spec, svc, runtimes[svc.runtime]) for svc in spec.services]
    docs += workloads
    if spec.exposure.network_policy:
        docs += [network_policy(spec), default_deny_policy(spec)]
        docs += [p for p in [hub_egress_policy(spec)] if p]
        docs += [group_network_policy(spec, svc) for svc in spec.services if svc.multinode]
    if spec.exposure.pdb:
        docs += [pod_disruption_budget(spec, svc) for svc in spec.services]
    return docs
