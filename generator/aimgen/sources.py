"""Where a deployment's model comes from, checked once at the CLI edge: the Hub (or a mirror of it) that the cache
fills from, or weights that already sit somewhere KServe's storage initializer reads (docs/cache.md).

Only rules and parsing live here (no I/O): the CLI turns a bad value into exit 2, the chart's schema applies the
same patterns (`aimgen chart sync` writes them into values.schema.json), the renderers read the parsed result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aimgen import secrets
from aimgen.errors import UsageError
from aimgen.spec import LocalModelSpec

# An http(s) Hub endpoint: scheme, host (a name or a bracketed IPv6 address), an optional port and path; no
# user:password@ (a credential belongs in a Secret), no query or fragment (huggingface_hub appends its own paths).
_PORT = r"([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"  # 1-65535
HUB_ENDPOINT_PATTERN = (r"^https?://([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(:" + _PORT +
                        r")?(/[^\s?#@]*)?$")
_HUB_ENDPOINT = re.compile(HUB_ENDPOINT_PATTERN)
HTTPS_PORT = 443
HTTP_PORT = 80


def hub_endpoint(value: str | None, option: str = "--hf-endpoint") -> str | None:
    """The endpoint as given (a trailing slash dropped), or None; UsageError naming what would be valid. The value
    is never echoed when it may carry a credential."""
    if not value:
        return None
    shown = secrets.redact_url(value)
    if "@" in value.split("://", 1)[-1].split("/", 1)[0] or secrets.looks_like_secret(value):
        raise UsageError(f"{option} {shown!r} carries a credential; give the mirror's plain URL (e.g. "
                         f"https://hf-mirror.example.com); {secrets.INSTEAD}")
    if not _HUB_ENDPOINT.match(value):
        raise UsageError(f"{option} {shown!r} is not an http(s) URL of a Hub endpoint: expected "
                         "http[s]://HOST[:PORT][/PATH] with no query, e.g. https://hf-mirror.example.com")
    return value.rstrip("/")


def hub_port(endpoint: str | None) -> int:
    """The TCP port a Hub endpoint listens on (huggingface.co: 443)."""
    if not endpoint:
        return HTTPS_PORT
    authority = endpoint.split("://", 1)[1].split("/", 1)[0]
    port = re.search(r":([0-9]+)$", authority)
    if port:
        return int(port.group(1))
    return HTTP_PORT if endpoint.startswith("http://") else HTTPS_PORT


def hub_egress_ports(endpoint: str | None) -> list[int]:
    """Ports the prefetch containers need out: the endpoint's, and 443 always (huggingface_hub follows the Hub's
    and most mirrors' redirects of large files to an HTTPS CDN or object store)."""
    return sorted({HTTPS_PORT, hub_port(endpoint)})


# --- --model-source: weights that are already somewhere, read through KServe's storageUri ---------------------
#
# KServe v0.20.0 (pkg/webhook/admission/pod/storage_initializer_injector.go, InjectStorageInitializer with one
# storageUri) puts the model at /mnt/models (constants.DefaultModelLocalMountPath) in the kserve-container:
#   pvc://CLAIM[/PATH]  the claim itself, volume `kserve-pvc-source`, mounted read-only (annotation
#                       storage.kserve.io/readonly, default true) at /mnt/models with subPath PATH; no init container
#   oci://IMAGE         a "model car" (ociModelMode "modelcar" in the default inferenceservice-config): the image
#                       runs as a sidecar `modelcar` (and `modelcar-init` pulls it first), the pod shares its process
#                       namespace and /mnt/models links to the image's /models (pkg/utils/storage.go
#                       ConfigureModelcarToContainer); the kubelet pulls it, the pod downloads nothing
#   s3://BUCKET/PATH    the `storage-initializer` init container downloads into the emptyDir
#                       `kserve-provision-location` mounted at /mnt/models (credentials: the ServiceAccount's)
SOURCE_SCHEMES = ("pvc", "s3", "oci")
# The multi-node webhook (inference_service_validation.go validateMultiNodeVariables) takes only these.
MULTINODE_SCHEMES = ("pvc", "oci")
_S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")  # AWS bucket naming rules
_PATH_PART = re.compile(r"^[A-Za-z0-9._-]+$")
# An OCI reference: registry/repository[:tag][@sha256:digest] (distribution/reference's grammar, lower-case repo).
_OCI_REF = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)+"
                      r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$")


@dataclass(frozen=True)
class ModelSource:
    """A parsed --model-source: the storageUri KServe is given, its scheme, and for pvc:// the claim and path."""

    uri: str
    scheme: str
    claim: str = ""
    path: str = ""


def model_source(value: str | None, option: str = "--model-source") -> ModelSource | None:
    """The source as KServe's storageUri, or None (the Hub, through our cache); UsageError naming what is valid."""
    if not value:
        return None
    from aimgen.validate.apirules import dns1123_subdomain

    shown = secrets.redact_url(value)
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in SOURCE_SCHEMES:
        raise UsageError(f"{option} {shown!r}: expected pvc://CLAIM[/PATH], s3://BUCKET[/PATH] or "
                         "oci://REGISTRY/REPOSITORY:TAG (without it the model comes from the Hub through the cache)")
    if secrets.looks_like_secret(value) or "@" in rest.split("/", 1)[0]:
        raise UsageError(f"{option} {shown!r} carries a credential; name only where the weights are: a private "
                         "bucket's credentials come from the ServiceAccount (docs/cache.md), an image's from the "
                         "node's pull secrets")
    if scheme == "oci":
        if not _OCI_REF.match(rest) or ("@" not in rest and ":" not in rest.rsplit("/", 1)[-1]):
            raise UsageError(f"{option} {shown!r}: expected oci://REGISTRY/REPOSITORY:TAG or @sha256:DIGEST, "
                             "e.g. oci://registry.example.com/models/qwen3-8b:1.0")
        return ModelSource(value, scheme)
    head, _, path = rest.partition("/")
    path = path.rstrip("/")
    parts = path.split("/") if path else []
    if any(p in ("", ".", "..") or not _PATH_PART.match(p) for p in parts):
        raise UsageError(f"{option} {shown!r}: the path {path!r} must be a relative folder of letters, digits, "
                         "'.', '_' and '-' separated by '/', without '.' or '..' parts")
    if scheme == "pvc":
        if why := dns1123_subdomain(head):
            raise UsageError(f"{option} {shown!r}: the claim name {head!r} {why}")
        return ModelSource(f"pvc://{head}" + (f"/{path}" if path else ""), scheme, claim=head, path=path)
    if not _S3_BUCKET.match(head) or ".." in head:
        raise UsageError(f"{option} {shown!r}: the bucket {head!r} must be 3-63 lower-case letters, digits, '.' "
                         "and '-'")
    return ModelSource(f"s3://{head}" + (f"/{path}" if path else ""), scheme, path=path)


# --- --local-model-cache: KServe's LocalModelCache on the AMD nodes' own disks ----------------------------------

HOST_PATH_PATTERN = r"^(/[A-Za-z0-9._-]+)+$"
_HOST_PATH = re.compile(HOST_PATH_PATTERN)


def hf_uri(checkpoint: str, revision: str | None) -> str:
    """hf://owner/model[:revision], the form KServe's storage initializer parses (python/storage/kserve_storage/
    kserve_storage.py _download_hf) and a LocalModelCache's sourceModelUri matches."""
    return f"hf://{checkpoint}" + (f":{revision}" if revision else "")


def local_cache_path(value: str | None, option: str = "--local-model-cache") -> str | None:
    """The folder on each node's local disk the LocalModelNodeGroup's PersistentVolume points at, or None."""
    if not value:
        return None
    path = value.rstrip("/") or "/"
    if not _HOST_PATH.match(path) or any(part in (".", "..") for part in path.split("/")):
        raise UsageError(f"{option} {value!r}: expected an absolute folder on the nodes' local disk, e.g. "
                         "/mnt/nvme/models (letters, digits, '.', '_' and '-'; no '.' or '..' parts)")
    return path


# --- combinations, checked once for render, values and explain ------------------------------------------------


def check_sources(source: ModelSource | None, local_path: str | None, storage_secret: str | None, *, models: int,
                  llmisvc: bool, prefetch_job: bool) -> None:
    """Source options that cannot serve together, refused (exit 2) with what would."""
    if local_path:
        if source and source.scheme != "s3":
            raise UsageError(f"--local-model-cache copies a model onto the nodes' disks, but --model-source "
                             f"{source.uri} is read where it is (KServe's local model jobs download hf:// and s3://): "
                             "drop one of them")
        if llmisvc:
            raise UsageError("--local-model-cache with --api llmisvc is not rendered yet: use --api isvc")
        if prefetch_job:
            raise UsageError("--prefetch-job fills the cache claim, but --local-model-cache has KServe download the "
                             "model onto each node's disk: drop one of them")
    if storage_secret and (not source or source.scheme != "s3" or local_path):
        raise UsageError(f"--storage-secret {storage_secret} holds a bucket's credentials for KServe's storage "
                         "initializer: it goes with --model-source s3://BUCKET/PATH (without --local-model-cache, "
                         "whose jobs take credentials from the LocalModelCache)")
    if not source:
        return
    if models > 1:
        raise UsageError(f"--model-source {source.uri} holds one model's weights: give exactly one MODEL with it")
    if prefetch_job:
        raise UsageError(f"--prefetch-job fills the cache from the Hub, but --model-source {source.uri} already "
                         "holds the weights: drop one of them")


def local_model(host_path: str | None, node_group: str, services, placement) -> LocalModelSpec | None:
    """One node group per release, room on each node for all its models, pinned where the pool pins its pods."""
    from aimgen.sizing import cache_gib

    if not host_path:
        return None
    if not placement.device_ids and not placement.node_selector:
        raise UsageError("--local-model-cache: the node group's local volume must be pinned to the AMD nodes, but "
                         "the node pool selects them by neither device id nor label; set matchDeviceIds or "
                         "nodeSelector in the node pool")
    return LocalModelSpec(node_group=node_group, host_path=host_path,
                          storage_limit=f"{sum(cache_gib(s.cache_bytes) for s in services)}Gi")
