"""KServe's node-local model cache (v1alpha1, cluster-scoped): a LocalModelNodeGroup over the release's AMD nodes and
a LocalModelCache per model, so each node keeps the weights on its own disk (docs/cache.md).

KServe v0.20.0: the InferenceService defaulter (pkg/apis/serving/v1beta1/inference_service_defaults.go
setLocalModelLabel) matches predictor.model.storageUri against each LocalModelCache's sourceModelUri
(v1alpha1.MatchStorageURI: equal, or a sub-folder) and the annotation serving.kserve.io/nodegroup against its
nodeGroups; the pod webhook (storage_initializer_injector.go InjectStorageInitializer) then mounts the claim
<cache>-<nodegroup> that the localmodel controller made in the namespace, at /mnt/models with subPath
models/<sha256(sourceModelUri)[:16]>, read-only; the claim binds to the group's local PersistentVolume, whose node
affinity keeps the pods on the nodes that hold the copy.
"""

from __future__ import annotations

from aimgen.constants import KSERVE_V1ALPHA1, LABEL_GPU_DEVICE_ID
from aimgen.names import dns_label
from aimgen.render import k8s
from aimgen.sizing import cache_gib
from aimgen.spec import DeploymentSpec, ServingSpec

NODE_GROUP_ANNOTATION = "serving.kserve.io/nodegroup"  # constants.NodeGroupAnnotationKey
ACCESS = ["ReadWriteOnce"]  # a node's own disk


def cache_name(spec: DeploymentSpec, svc: ServingSpec) -> str:
    return dns_label(f"{spec.namespace}-{svc.name}")


def node_terms(spec: DeploymentSpec) -> list[dict]:
    """The AMD nodes, as the pool selects its pods (device ids, node labels), for the local volume's affinity."""
    p = spec.placement
    expressions = [{"key": key, "operator": "In", "values": [value]} for key, value in p.node_selector]
    if p.device_ids:
        expressions.append({"key": LABEL_GPU_DEVICE_ID, "operator": "In", "values": list(p.device_ids)})
    return [{"matchExpressions": expressions}]


def node_group(spec: DeploymentSpec) -> dict:
    local = spec.local_model
    return {
        "apiVersion": KSERVE_V1ALPHA1,
        "kind": "LocalModelNodeGroup",
        "metadata": k8s.metadata(spec, local.node_group, "model-cache", namespaced=False),
        "spec": {
            "storageLimit": local.storage_limit,
            "persistentVolumeSpec": {
                "accessModes": ACCESS,
                "volumeMode": "Filesystem",
                "capacity": {"storage": local.storage_limit},
                "local": {"path": local.host_path},
                "storageClassName": local.storage_class,
                "persistentVolumeReclaimPolicy": "Retain",  # the copies outlive a release: KServe's agent prunes
                "nodeAffinity": {"required": {"nodeSelectorTerms": node_terms(spec)}},
            },
            "persistentVolumeClaimSpec": {
                "accessModes": ACCESS,
                "volumeMode": "Filesystem",
                "resources": {"requests": {"storage": local.storage_limit}},
                "storageClassName": local.storage_class,
            },
        },
    }


def model_cache(spec: DeploymentSpec, svc: ServingSpec) -> dict:
    return {
        "apiVersion": KSERVE_V1ALPHA1,
        "kind": "LocalModelCache",
        "metadata": k8s.metadata(spec, cache_name(spec, svc), "model-cache", svc.name, namespaced=False),
        "spec": {
            "sourceModelUri": svc.storage_uri,
            "modelSize": f"{cache_gib(svc.cache_bytes)}Gi",
            "nodeGroups": [spec.local_model.node_group],
        },
    }


def isvc_annotations(spec: DeploymentSpec) -> dict:
    return {NODE_GROUP_ANNOTATION: spec.local_model.node_group} if spec.local_model else {}


def render(spec: DeploymentSpec) -> list[dict]:
    if not spec.local_model:
        return []
    return [node_group(spec), *(model_cache(spec, svc) for svc in spec.services)]
