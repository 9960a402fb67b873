"""The Pods KServe v0.20 creates for an InferenceService's predictor, built from the manifests alone.

Pure functions over plain dicts. Each rule restates one piece of KServe v0.20.0 (github.com/kserve/kserve, tag
v0.20.0) and names it; paths below are relative to pkg/controller/v1beta1/inferenceservice/.
- The serving container: the runtime's `kserve-container` with `predictor.model` laid over it by a strategic
  merge patch (utils/utils.go MergeRuntimeContainers -> pkg/utils/container_merge.go MergeContainerWithPatch),
  except args, which are the runtime's followed by the model's, and a name the patch left empty, which stays the
  runtime's. Then `{{.Name}}`-style placeholders are filled from the InferenceService's metadata
  (utils/utils.go ReplacePlaceholders).
- The pod spec: the runtime's nodeSelector, affinity, tolerations, volumes, imagePullSecrets and schedulerName
  with the predictor's PodSpec fields laid over them, again by strategic merge (utils/utils.go MergePodSpec);
  containers are then [serving container] + the runtime's other containers + the predictor's `containers`
  (components/predictor.go buildPodSpec).
- INFERENCE_SERVICE_NAME is added to every container's env (components/predictor.go, after buildPodSpec).
- Pod labels and annotations: runtime spec < InferenceService < predictor, plus the KServe labels
  (components/predictor.go buildObjectMeta).
- A serving container without a readiness probe gets a TCP probe on its first port, 8080 without ports
  (reconcilers/deployment/deployment_reconciler.go setDefaultPodSpec).
- Multi-node (predictor.workerSpec): the worker pod merges the runtime's workerSpec like the head; the group has
  PP pods in `mp` executor mode (components/predictor.go computeMpNodeAndGPUs), ceil(TP x PP / GPUs per worker)
  with Ray (computeRayNodeAndGPUs).
- predictor.model.storageUri, as the pod webhook injects it (pkg/webhook/admission/pod/
  storage_initializer_injector.go InjectStorageInitializer, one URI): pvc://CLAIM/PATH mounts the claim as volume
  kserve-pvc-source at /mnt/models with subPath PATH, read-only unless the annotation storage.kserve.io/readonly is
  "false"; oci:// adds the model car (pkg/utils/storage.go ConfigureModelcarToContainer, ociModelMode "modelcar" of
  the default inferenceservice-config): MODEL_INIT_MODE=async, an emptyDir kserve-provision-location at /mnt shared
  with the `modelcar` sidecar and `modelcar-init`, shareProcessNamespace; any other scheme adds the
  `storage-initializer` init container downloading into that emptyDir at /mnt/models.
Not modelled: Knative, the transformer container, the LocalModelCache node affinity, image tag rewriting by
runtimeVersion (UpdateImageTag), the storage initializer's image, resources and credentials: none is rendered by
aimgen or checked here.
"""

from __future__ import annotations

import copy
import json
import math
import posixpath
import re
from typing import Any, Iterable

SERVING_CONTAINER = "kserve-container"
WORKER_CONTAINER = "worker-container"
ISVC_NAME_ENV = "INFERENCE_SERVICE_NAME"
LABEL_ISVC = "serving.kserve.io/inferenceservice"
LABEL_COMPONENT = "component"
EXECUTOR_ANNOTATION = "multinode/executor-backend"
RUNTIME_KINDS = ("ServingRuntime", "ClusterServingRuntime")
GPU_RESOURCES = ("amd.com/gpu", "nvidia.com/gpu", "intel.com/gpu")

# `patchMergeKey` tags of k8s.io/api/core/v1 types.go: strategic merge patch merges these lists item by item on
# the key; every other list is replaced whole by the patch's.
_CONTAINER_LISTS = {"ports": "containerPort", "env": "name", "volumeMounts": "mountPath",
                    "volumeDevices": "devicePath", "resizePolicy": "resourceName"}
_POD_LISTS = {"volumes": "name", "imagePullSecrets": "name", "containers": "name", "initContainers": "name",
              "ephemeralContainers": "name", "hostAliases": "ip", "resourceClaims": "name", "schedulingGates": "name"}
# The fields of core/v1 PodSpec: the predictor's other keys (minReplicas, model, workerSpec, labels, ...) are
# KServe's own and never reach the pod spec (v1beta1 PredictorSpec inlines PodSpec beside them).
_POD_SPEC_FIELDS = frozenset((
    "volumes", "initContainers", "containers", "ephemeralContainers", "restartPolicy", "terminationGracePeriodSeconds",
    "activeDeadlineSeconds", "dnsPolicy", "nodeSelector", "serviceAccountName", "serviceAccount",
    "automountServiceAccountToken", "nodeName", "hostNetwork", "hostPID", "hostIPC", "shareProcessNamespace",
    "securityContext", "imagePullSecrets", "hostname", "subdomain", "affinity", "schedulerName", "tolerations",
    "hostAliases", "priorityClassName", "priority", "dnsConfig", "readinessGates", "runtimeClassName",
    "enableServiceLinks", "preemptionPolicy", "overhead", "topologySpreadConstraints", "setHostnameAsFQDN", "os",
    "hostUsers", "schedulingGates", "resourceClaims", "resources",
))
# What the runtime contributes to the pod spec (utils/utils.go MergePodSpec builds its base from these only).
_RUNTIME_POD_FIELDS = ("nodeSelector", "affinity", "tolerations", "volumes", "imagePullSecrets", "schedulerName")
# predictor.model is a ModelSpec: a Container inlined beside these (v1beta1 model.go).
_MODEL_SPEC_FIELDS = frozenset(("modelFormat", "runtime", "runtimeVersion", "protocolVersion", "storageUri",
                                "storage", "storages"))
_PLACEHOLDER = re.compile(r"\{\{\s*\.(\w+)\s*\}\}")
MODEL_MOUNT_PATH = "/mnt/models"  # constants.DefaultModelLocalMountPath
PVC_SOURCE_VOLUME = "kserve-pvc-source"  # constants.PvcSourceMountName
PROVISION_VOLUME = "kserve-provision-location"  # constants.StorageInitializerVolumeName
STORAGE_INITIALIZER = "storage-initializer"
MODELCAR, MODELCAR_INIT = "modelcar", "modelcar-init"
READONLY_ANNOTATION = "storage.kserve.io/readonly"


def strategic_merge(base: Any, patch: Any, lists: dict[str, str]) -> Any:
    """Strategic merge patch of plain dicts as apimachinery applies it: maps merge key by key (null deletes),
    keyed lists merge item by item (new items appended), other lists and scalars are replaced."""
    if not isinstance(base, dict) or not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif key in lists and isinstance(value, list) and isinstance(out.get(key), list):
            out[key] = _merge_list(out[key], value, lists[key])
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = strategic_merge(out[key], value, {})
        else:
            out[key] = copy.deepcopy(value)
    return out


def _merge_list(base: list, patch: list, key: str) -> list:
    merged = copy.deepcopy(base)
    for item in patch:
        at = next((i for i, b in enumerate(merged) if isinstance(b, dict) and isinstance(item, dict)
                   and key in item and b.get(key) == item.get(key)), None)
        if at is None:
            merged.append(copy.deepcopy(item))
        else:
            merged[at] = strategic_merge(merged[at], item, _CONTAINER_LISTS if key == "name" else {})
    return merged


def merge_container(runtime_container: dict, overlay: dict) -> dict:
    """MergeRuntimeContainers: strategic merge, then args concatenated (runtime's first), name kept."""
    merged = strategic_merge(runtime_container, overlay, _CONTAINER_LISTS)
    merged["args"] = [*(runtime_container.get("args") or []), *(overlay.get("args") or [])]
    if not merged["args"]:
        merged.pop("args")
    if not merged.get("name"):
        merged["name"] = runtime_container.get("name")
    return merged


def _fill_placeholders(container: dict, meta: dict) -> dict:
    """ReplacePlaceholders: Go's text/template over the container's JSON with the ObjectMeta (`{{.Name}}`)."""
    fields = {"Name": meta.get("name", ""), "Namespace": meta.get("namespace", "")}
    text = _PLACEHOLDER.sub(lambda m: str(fields.get(m.group(1), m.group(0))), json.dumps(container))
    return json.loads(text)


def _pod_spec_part(spec: dict) -> dict:
    return {k: v for k, v in spec.items() if k in _POD_SPEC_FIELDS}


def _named(containers: Iterable[dict] | None, name: str) -> dict | None:
    return next((c for c in containers or () if isinstance(c, dict) and c.get("name") == name), None)


def _set_env(container: dict, name: str, value: str) -> None:
    """AddEnvVarToPodSpec: overwrite the variable if present, else append it."""
    env = container.setdefault("env", [])
    for item in env:
        if item.get("name") == name:
            item["value"] = value
            return
    env.append({"name": name, "value": value})


def _default_readiness(container: dict) -> None:
    if "readinessProbe" not in container:
        ports = container.get("ports") or []
        port = ports[0].get("containerPort", 8080) if ports else 8080
        container["readinessProbe"] = {"tcpSocket": {"port": port}, "timeoutSeconds": 1, "periodSeconds": 10,
                                       "successThreshold": 1, "failureThreshold": 3}


def _add_mount(pod_spec: dict, container: dict, mount: dict, volume: dict) -> None:
    """AddModelMount: the mount unless one of that volume is there, the volume unless the pod has it."""
    if not any(m.get("name") == mount["name"] for m in container.get("volumeMounts") or ()):
        container.setdefault("volumeMounts", []).append(mount)
    if not any(v.get("name") == volume["name"] for v in pod_spec.get("volumes") or ()):
        pod_spec.setdefault("volumes", []).append(volume)


def inject_storage(pod_spec: dict, container: dict, uri: str, annotations: dict) -> None:
    """What KServe's pod webhook adds for `storageUri` (see the module's docstring) to `container`'s pod."""
    read_only = annotations.get(READONLY_ANNOTATION) != "false"
    provision = {"name": PROVISION_VOLUME, "emptyDir": {}}
    if uri.startswith("oci://"):
        image = uri[len("oci://"):]
        _set_env(container, "MODEL_INIT_MODE", "async")
        _add_mount(pod_spec, container, {"name": PROVISION_VOLUME, "mountPath": posixpath.dirname(MODEL_MOUNT_PATH)},
                   provision)
        if not _named(pod_spec.get("containers"), MODELCAR):
            pod_spec.setdefault("containers", []).append({
                "name": MODELCAR, "image": image,
                "volumeMounts": [{"name": PROVISION_VOLUME, "mountPath": posixpath.dirname(MODEL_MOUNT_PATH)}]})
            pod_spec.setdefault("initContainers", []).append({"name": MODELCAR_INIT, "image": image})
        pod_spec["shareProcessNamespace"] = True
    elif uri.startswith("pvc://"):
        claim, _, path = uri[len("pvc://"):].partition("/")
        mount = {"name": PVC_SOURCE_VOLUME, "mountPath": MODEL_MOUNT_PATH, "readOnly": read_only,
                 **({"subPath": path} if path else {})}
        _add_mount(pod_spec, container, mount, {"name": PVC_SOURCE_VOLUME, "persistentVolumeClaim": {"claimName": claim}})
    else:
        init = {"name": STORAGE_INITIALIZER, "args": [uri, MODEL_MOUNT_PATH],
                "volumeMounts": [{"name": PROVISION_VOLUME, "mountPath": MODEL_MOUNT_PATH}]}
        if not _named(pod_spec.get("initContainers"), STORAGE_INITIALIZER):
            pod_spec.setdefault("initContainers", []).append(init)
        _add_mount(pod_spec, container, {"name": PROVISION_VOLUME, "mountPath": MODEL_MOUNT_PATH,
                                         "readOnly": read_only}, provision)


def _pod(meta: dict, spec: dict) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def _merged_spec(runtime_part: dict, predictor_part: dict) -> dict:
    base = {k: runtime_part[k] for k in _RUNTIME_POD_FIELDS if k in runtime_part}
    return strategic_merge(base, _pod_spec_part(predictor_part), _POD_LISTS)


def predictor_pod(isvc: dict, runtime: dict, *, storage: bool = True) -> dict:
    """The predictor (head) Pod KServe v0.20 creates for `isvc` with `runtime` (ServingRuntime or
    ClusterServingRuntime, the one predictor.model.runtime names), with what the storage webhook injects for a
    storageUri unless `storage` is False (its containers are the cluster's inferenceservice-config, not ours).
    Raises ValueError when KServe would refuse (no kserve-container in the runtime)."""
    meta = isvc.get("metadata") or {}
    predictor = (isvc.get("spec") or {}).get("predictor") or {}
    rt_spec = runtime.get("spec") or {}
    base = _named(rt_spec.get("containers"), SERVING_CONTAINER)
    if base is None:
        raise ValueError(f"runtime {(runtime.get('metadata') or {}).get('name')} has no container named "
                         f"{SERVING_CONTAINER} (KServe: failed to find {SERVING_CONTAINER} in ServingRuntime containers)")
    model = predictor.get("model") or {}
    overlay = {k: v for k, v in model.items() if k not in _MODEL_SPEC_FIELDS}
    serving = _fill_placeholders(merge_container(base, overlay), meta)
    spec = _merged_spec(rt_spec, predictor)
    containers = [serving]
    containers += [copy.deepcopy(c) for c in rt_spec.get("containers") or () if c.get("name") != SERVING_CONTAINER]
    containers += [copy.deepcopy(c) for c in predictor.get("containers") or ()]
    for container in containers:
        _set_env(container, ISVC_NAME_ENV, meta.get("name", ""))
    _default_readiness(serving)
    spec["containers"] = containers
    name = meta.get("name", "")
    if model.get("storageUri") and storage:
        inject_storage(spec, serving, model["storageUri"], {**(meta.get("annotations") or {}),
                                                            **(predictor.get("annotations") or {})})
    pod_meta = {
        "name": f"{name}-predictor",
        "namespace": meta.get("namespace", "default"),
        "labels": {**(rt_spec.get("labels") or {}), **(meta.get("labels") or {}), **(predictor.get("labels") or {}),
                   LABEL_ISVC: name, LABEL_COMPONENT: "predictor"},
        "annotations": {**(rt_spec.get("annotations") or {}), **(meta.get("annotations") or {}),
                        **(predictor.get("annotations") or {})},
    }
    return _pod(pod_meta, spec)


def worker_pod(isvc: dict, runtime: dict) -> dict | None:
    """The worker Pod of a multi-node predictor (predictor.workerSpec), None for a single-pod predictor."""
    predictor = (isvc.get("spec") or {}).get("predictor") or {}
    worker = predictor.get("workerSpec")
    if worker is None:
        return None
    rt_worker = (runtime.get("spec") or {}).get("workerSpec") or {}
    base = _named(rt_worker.get("containers"), WORKER_CONTAINER) or (rt_worker.get("containers") or [None])[0]
    if base is None:
        raise ValueError("the InferenceService sets workerSpec but its runtime has no workerSpec container "
                         "(KServe: No workerSpec container configuration found in selected serving runtime)")
    overlay = (worker.get("containers") or [{}])[0]
    container = merge_container(base, overlay)
    spec = _merged_spec(rt_worker, worker)
    spec["containers"] = [container]
    meta = isvc.get("metadata") or {}
    uri = (predictor.get("model") or {}).get("storageUri")
    if uri:
        inject_storage(spec, container, uri, {**(meta.get("annotations") or {}), **(predictor.get("annotations") or {})})
    name = meta.get("name", "")
    return _pod({"name": f"{name}-predictor-worker", "namespace": meta.get("namespace", "default"),
                 "labels": {LABEL_ISVC: name, LABEL_COMPONENT: "predictor"}}, spec)


def gpus_of(container: dict) -> int:
    """GPUs a container is given: its GPU resource limit (requests must equal limits for extended resources)."""
    resources = container.get("resources") or {}
    for section in ("limits", "requests"):
        for key in GPU_RESOURCES:
            value = (resources.get(section) or {}).get(key)
            if value is not None:
                try:
                    return int(str(value))
                except ValueError:
                    return 0
    return 0


def pod_group(isvc: dict, runtime: dict) -> list[tuple[dict, int]]:
    """The pods one replica of the predictor runs, each with how many of it: [(head, 1)] for a single-pod
    predictor; with a workerSpec, the head plus nodeCount - 1 workers as KServe counts nodes."""
    head = predictor_pod(isvc, runtime)
    worker = worker_pod(isvc, runtime)
    if worker is None:
        return [(head, 1)]
    rt_worker = (runtime.get("spec") or {}).get("workerSpec") or {}
    spec = ((isvc.get("spec") or {}).get("predictor") or {}).get("workerSpec") or {}
    pp = int(spec.get("pipelineParallelSize") or rt_worker.get("pipelineParallelSize") or 1)
    tp = int(spec.get("tensorParallelSize") or rt_worker.get("tensorParallelSize") or 1)
    annotations = (runtime.get("metadata") or {}).get("annotations") or {}
    if annotations.get(EXECUTOR_ANNOTATION) == "mp":
        nodes = pp
    else:
        per_worker = gpus_of(worker["spec"]["containers"][0])
        nodes = math.ceil(tp * pp / per_worker) if per_worker else 1
    return [(head, 1), (worker, max(0, nodes - 1))]


def find_runtime(isvc: dict, docs: Iterable[dict]) -> dict | None:
    """The runtime `predictor.model.runtime` names among `docs`, looked up as KServe does (utils/utils.go
    GetServingRuntime): a ServingRuntime in the InferenceService's namespace first, then a ClusterServingRuntime."""
    predictor = (isvc.get("spec") or {}).get("predictor") or {}
    name = (predictor.get("model") or {}).get("runtime")
    if not name:
        return None
    namespace = (isvc.get("metadata") or {}).get("namespace") or "default"
    found = {kind: None for kind in RUNTIME_KINDS}
    for doc in docs:
        meta = doc.get("metadata") or {}
        if doc.get("kind") not in RUNTIME_KINDS or meta.get("name") != name:
            continue
        if doc["kind"] == "ServingRuntime" and (meta.get("namespace") or "default") != namespace:
            continue
        found[doc["kind"]] = found[doc["kind"]] or doc
    return found["ServingRuntime"] or found["ClusterServingRuntime"]
