"""DeploymentSpec → KServe LLMInferenceService manifests (plain dicts), for `--api llmisvc`.

Per model: an LLMInferenceServiceConfig holding our AMD base (the pinned ROCm engine image, the recipe's argv and
env, /dev/shm, node affinity and tolerations, the hardened security context, probes, the cache claim and its
prefetch init container) and an LLMInferenceService naming it in `baseRefs`.

How KServe v0.20.0 builds the pods from these (pkg/controller/v1alpha2/llmisvc/config_merge.go,
combineBaseRefsConfig): it picks its well-known presets for the shape (kserve-config-llm-template; with `prefill`
the decode and prefill templates; with a router the scheduler and route presets), then applies our baseRefs,
then the LLMInferenceService itself, each a strategic merge over the one before. So our container must be called
`main` (containers merge by name), our `command` and `args` replace the preset's CUDA launcher script (lists of
strings are replaced, not merged), env entries override by name (the preset's HF_HUB_CACHE=/models is replaced by
the cache's), volumes override by name (our model-cache claim replaces the preset's emptyDir of that name) and
mounts by path (our /tmp and /dev/shm replace the preset's).
"""

from __future__ import annotations

from aimgen.constants import (
    ANN_MODEL,
    ANN_PROFILE,
    KIND_LLM_INFERENCE_SERVICE,
    KIND_LLM_INFERENCE_SERVICE_CONFIG,
    KSERVE_V1ALPHA2,
    LABEL_INSTANCE,
    LLMISVC_CONTAINER,
    ROUTER_SCHEDULER,
)
from aimgen.multinode import POD_IP_ENV
from aimgen.names import dns_label
from aimgen.render import k8s, kserve
from aimgen.spec import DeploymentSpec, RoleSpec, RuntimeSpec, ServingSpec

# llm-d's role label KServe sets on engine pods (constants.LLMDRoleLabelKey): prefill, decode, or both.
LABEL_LLMD_ROLE = "llm-d.ai/role"
HF_URI = "hf://"


def config_name(svc: ServingSpec) -> str:
    return dns_label(f"{svc.name}-amd")


def pod_labels(spec: DeploymentSpec) -> dict:
    """Labels we add to the engine pods (spec.labels, copied onto the pod template). Only our instance label:
    KServe selects its own pods by app.kubernetes.io/name, part-of and component, which must stay KServe's."""
    return {LABEL_INSTANCE: spec.release}


def model_uri(svc: ServingSpec) -> str:
    """hf://owner/model[:revision], the form KServe's storage initializer parses (python/storage/kserve_storage/
    kserve_storage.py, _download_hf)."""
    return f"{HF_URI}{svc.checkpoint}" + (f":{svc.revision}" if svc.revision else "")


def scrape_annotations(rt: RuntimeSpec, port: int) -> dict:
    # KServe copies spec.annotations (and prefill.annotations) onto the pods: Prometheus' pod discovery reads them.
    return {"prometheus.io/scrape": "true", "prometheus.io/port": str(port), "prometheus.io/path": rt.metrics_path}


def _env(spec: DeploymentSpec, env: tuple[tuple[str, str], ...], pod_ip_env: tuple[str, ...],
         compile_env: tuple[tuple[str, str], ...]) -> list[dict]:
    pairs = kserve.serving_env(spec, env, compile_env)
    return k8s.env_list(pairs) + [
        {"name": name, "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}} for name in pod_ip_env
    ]


def engine_container(spec: DeploymentSpec, svc: ServingSpec, rt: RuntimeSpec, role: RoleSpec | None,
                     *, worker: bool = False) -> dict:
    """The `main` container: our engine argv on the pinned ROCm image, replacing the preset's launcher. A worker
    of a multi-node group runs the same engine with the worker's rank flags (vLLM --headless): no port, no probes,
    like the `worker` of KServe's data-parallel preset."""
    port = role.port if role else rt.port
    if role:
        args, env, pod_ip_env = role.args, role.env, role.pod_ip_env
    elif worker:
        args, env, pod_ip_env = svc.worker_args, svc.env, ()
    else:
        # A group's head names its own address in its rendezvous flags (aimgen.multinode.HEAD_ADDRESS).
        args, env, pod_ip_env = svc.args, svc.env, (POD_IP_ENV["name"],) if svc.multinode else ()
    container = {
        "name": LLMISVC_CONTAINER,
        "image": rt.image,
        "imagePullPolicy": "IfNotPresent",
        "command": list(rt.command),
        "args": list(args),
        "ports": [{"containerPort": port, "protocol": "TCP"}],
        "env": _env(spec, env, pod_ip_env, svc.compile_env),
        "resources": k8s.gpu_resources(spec.placement, role.gpus if role else svc.gpus),
        "volumeMounts": kserve.mounts(spec),
        **k8s.probes(svc.probes, port),
        # Read-only root as for the InferenceService engine: HOME=/tmp puts every cache on the tmp emptyDir.
        "securityContext": k8s.container_security_context(read_only_root=True),
    }
    if worker:
        for key in ("ports", "startupProbe", "readinessProbe", "livenessProbe"):
            container.pop(key)
    return container


def pod_template(spec: DeploymentSpec, svc: ServingSpec, rt: RuntimeSpec, role: RoleSpec | None,
                 *, worker: bool = False) -> dict:
    pod = kserve.pod_fields(spec, svc, rt, role.shm_size if role else None)
    pod["containers"] = [engine_container(spec, svc, rt, role, worker=worker)]
    return pod


def service_config(spec: DeploymentSpec, svc: ServingSpec, rt: RuntimeSpec) -> dict:
    """Our AMD base for one model. With prefill/decode the `template` is the decode pod and `prefill.template`
    the prefill pod (KServe adds its routing sidecar to the decode pod from its decode preset)."""
    d = svc.disaggregation
    body: dict = {"template": pod_template(spec, svc, rt, d.decode if d else None)}
    if d:
        body["prefill"] = {"template": pod_template(spec, svc, rt, d.prefill)}
    elif svc.multinode:
        # KServe turns `worker` into a LeaderWorkerSet <name>-kserve-mn whose leader is `template` and whose
        # workers are this pod (workload_multi_node.go expectedMainMultiNodeLWS).
        body["worker"] = pod_template(spec, svc, rt, None, worker=True)
    return {
        "apiVersion": KSERVE_V1ALPHA2,
        "kind": KIND_LLM_INFERENCE_SERVICE_CONFIG,
        "metadata": k8s.metadata(spec, config_name(svc), "runtime", svc.name,
                                 annotations=kserve.image_skips(rt.image)),
        "spec": body,
    }


def router(spec: DeploymentSpec) -> dict:
    """KServe fills empty sections from its presets: the llm-d endpoint picker and an InferencePool
    (kserve-config-llm-scheduler), an HTTPRoute to that pool (kserve-config-llm-router-route), attached to the
    named Gateway or else to KServe's ingress gateway (ingress config ingressGateway)."""
    gateway: dict = {}
    if spec.exposure.gateway:
        name, namespace = spec.exposure.gateway
        gateway = {"refs": [{"name": name, **({"namespace": namespace} if namespace else {})}]}
    return {"scheduler": {}, "route": {}, "gateway": gateway}


def parallelism(svc: ServingSpec) -> dict:
    """KServe's ParallelismSpec. For a multi-node group it sizes the LeaderWorkerSet: `GetSize()` is data /
    dataLocal pods per group (llm_inference_service_types_func.go), and the webhook wants data and dataLocal
    together, never with pipeline (llm_inference_service_validation.go validateWorkloadParallelism). The engine's
    own sizes are in its args; these tell KServe how many pods make one replica."""
    shape = svc.shape
    out: dict = {"tensor": shape.tensor}
    if svc.multinode:
        out.update(data=shape.data, dataLocal=shape.data_local)
        if shape.expert:
            out["expert"] = True
    return out


def inference_service(spec: DeploymentSpec, svc: ServingSpec, rt: RuntimeSpec) -> dict:
    d = svc.disaggregation
    main = d.decode if d else None
    body: dict = {
        # a --model-source: KServe attaches it at /mnt/models (llmisvc/workload_storage.go attachModelArtifacts)
        "model": {"uri": svc.storage_uri or model_uri(svc), "name": svc.model},
        "baseRefs": [{"name": config_name(svc)}],
        "replicas": main.replicas if main else svc.min_replicas,
        "parallelism": parallelism(svc) if not main else {"tensor": main.tensor_parallel_size},
        "labels": pod_labels(spec),
        "annotations": scrape_annotations(rt, main.port if main else rt.port),
    }
    if spec.cache.enabled and not svc.storage_uri:
        # The engine reads the checkpoint from our cache claim (filled by our init container or prefetch Job):
        # KServe's storage initializer would download model.uri a second time into an emptyDir.
        body["storageInitializer"] = {"enabled": False}
    if d:
        body["prefill"] = {
            "replicas": d.prefill.replicas,
            "parallelism": {"tensor": d.prefill.tensor_parallel_size},
            "labels": pod_labels(spec),
            "annotations": scrape_annotations(rt, d.prefill.port),
        }
    if spec.router == ROUTER_SCHEDULER:
        body["router"] = router(spec)
    annotations = {ANN_MODEL: svc.model, ANN_PROFILE: svc.profile_id}
    if d:
        annotations["aim-engine.amd.com/disaggregation"] = d.config_id
    if spec.storage_secret:
        # read from the LLMInferenceService's annotations (workload_storage.go attachS3ModelArtifact)
        annotations[kserve.STORAGE_SECRET_ANNOTATION] = spec.storage_secret
    return {
        "apiVersion": KSERVE_V1ALPHA2,
        "kind": KIND_LLM_INFERENCE_SERVICE,
        "metadata": k8s.metadata(spec, svc.name, "inference", svc.name, annotations=annotations),
        "spec": body,
    }


def render(spec: DeploymentSpec) -> list[dict]:
    runtimes = {rt.name: rt for rt in spec.runtimes}
    docs: list[dict] = []
    for svc in spec.services:
        rt = runtimes[svc.runtime]
        docs += [service_config(spec, svc, rt), inference_service(spec, svc, rt)]
    return docs
