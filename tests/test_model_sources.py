"""--model-source: weights already on a claim, in a bucket or in a model car, read by the engine at /mnt/models
through KServe's storageUri. Rendered manifests validate strictly and the pod KServe builds (kserve_pod.py restates
the storage initializer webhook) holds the folder the engine loads; combinations that cannot serve are refused."""

from __future__ import annotations

import copy
from functools import lru_cache

import pytest
import yaml

from aimgen.validate.kserve_pod import find_runtime, pod_group
from aimgen.validate.serving import serving_findings

QWEN = ("Qwen/Qwen3-8B", "--gpu", "mi300x")
POOL_405B = ("meta-llama/Llama-3.1-405B-Instruct", "--node-pool", "recipes/node-pools/mi250x-2nodes.yaml")


@lru_cache(maxsize=None)
def _rendered(*args: str) -> tuple:
    import contextlib
    import io

    from aimgen.cli.main import run

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert run(["render", *args]) == 0, err.getvalue()
    assert '"level": "warning"' not in err.getvalue() and '"level": "error"' not in err.getvalue(), err.getvalue()
    return tuple(yaml.safe_load_all(out.getvalue()))


def rendered(*args: str) -> list[dict]:
    return copy.deepcopy(list(_rendered(*args)))


def kind(docs: list[dict], name: str) -> list[dict]:
    return [d for d in docs if d["kind"] == name]


def pods(docs: list[dict]) -> list[dict]:
    isvc = kind(docs, "InferenceService")[0]
    return [pod for pod, _ in pod_group(isvc, find_runtime(isvc, docs))]


def serve_errors(docs: list[dict]) -> list:
    return [f for f in serving_findings([("t", d) for d in docs]) if f.level == "error"]


def test_a_claim_is_mounted_read_only_at_mnt_models_and_nothing_downloads():
    docs = rendered(*QWEN, "--model-source", "pvc://models/qwen/Qwen3-8B")
    model = kind(docs, "InferenceService")[0]["spec"]["predictor"]["model"]
    assert model["storageUri"] == "pvc://models/qwen/Qwen3-8B"
    assert "/mnt/models" in model["args"] and not any(a.startswith("--revision") for a in model["args"])
    assert "--served-model-name=Qwen/Qwen3-8B" in model["args"]
    assert not kind(docs, "Job") and "initContainers" not in kind(docs, "InferenceService")[0]["spec"]["predictor"]
    assert not [d for d in docs if d["metadata"]["name"].endswith("-hub-egress")]  # the pod reaches nothing out
    [pvc] = kind(docs, "PersistentVolumeClaim")  # the cache claim keeps only the compile/JIT caches
    assert pvc["spec"]["resources"]["requests"]["storage"] == "10Gi"
    [pod] = pods(docs)
    engine = pod["spec"]["containers"][0]
    mount = next(m for m in engine["volumeMounts"] if m["mountPath"] == "/mnt/models")
    assert mount == {"name": "kserve-pvc-source", "mountPath": "/mnt/models", "readOnly": True, "subPath": "qwen/Qwen3-8B"}
    assert {"name": "kserve-pvc-source", "persistentVolumeClaim": {"claimName": "models"}} in pod["spec"]["volumes"]
    assert serve_errors(docs) == []


def test_a_bucket_is_downloaded_by_kserves_storage_initializer_which_may_go_out():
    docs = rendered(*QWEN, "--model-source", "s3://llm-weights/qwen3-8b", "--no-cache")
    [pod] = pods(docs)
    assert [c["name"] for c in pod["spec"]["initContainers"]] == ["storage-initializer"]
    assert pod["spec"]["initContainers"][0]["args"] == ["s3://llm-weights/qwen3-8b", "/mnt/models"]
    [egress] = [d for d in docs if d["metadata"]["name"].endswith("-hub-egress")]
    assert egress["spec"]["podSelector"]["matchExpressions"][0]["values"] == ["predictor"]
    assert serve_errors(docs) == []


def test_a_private_bucket_names_its_secret_for_kserves_credential_builder():
    docs = rendered(*QWEN, "--model-source", "s3://llm-weights/qwen3-8b", "--storage-secret", "minio-creds")
    isvc = kind(docs, "InferenceService")[0]
    assert isvc["metadata"]["annotations"]["serving.kserve.io/storageSecretName"] == "minio-creds"
    [pod] = pods(docs)
    assert pod["metadata"]["annotations"]["serving.kserve.io/storageSecretName"] == "minio-creds"  # where KServe reads it


def test_a_model_car_is_linked_from_its_sidecar():
    docs = rendered(*QWEN, "--model-source", "oci://registry.example.com/models/qwen3-8b:1.0")
    [pod] = pods(docs)
    assert pod["spec"]["shareProcessNamespace"] is True
    assert [c["name"] for c in pod["spec"]["containers"]] == ["kserve-container", "modelcar"]
    assert {"name": "MODEL_INIT_MODE", "value": "async"} in pod["spec"]["containers"][0]["env"]
    assert serve_errors(docs) == []


def test_a_multi_node_group_reads_the_claim_on_every_pod():
    docs = rendered(*POOL_405B, "--model-source", "pvc://weights/llama-405b")
    head, worker = pods(docs)
    for pod in (head, worker):
        mount = next(m for m in pod["spec"]["containers"][0]["volumeMounts"] if m["mountPath"] == "/mnt/models")
        assert mount["name"] == "kserve-pvc-source"
    assert "/mnt/models" in worker["spec"]["containers"][0]["args"]
    assert serve_errors(docs) == []


@pytest.mark.parametrize("uri", ["pvc://models/qwen3", "s3://llm-weights/qwen3-8b", "oci://registry.example.com/m/q:1"])
def test_an_llminferenceservice_takes_the_source_as_its_model_uri(uri):
    """KServe attaches model.uri at /mnt/models itself (llmisvc/workload_storage.go attachModelArtifacts): its
    storage initializer stays on, our init container is gone."""
    docs = rendered(*QWEN, "--api", "llmisvc", "--model-source", uri, "--storage-secret", "creds") \
        if uri.startswith("s3") else rendered(*QWEN, "--api", "llmisvc", "--model-source", uri)
    [svc] = kind(docs, "LLMInferenceService")
    assert svc["spec"]["model"]["uri"] == uri and "storageInitializer" not in svc["spec"]
    [config] = kind(docs, "LLMInferenceServiceConfig")
    pod = config["spec"]["template"]
    assert "/mnt/models" in pod["containers"][0]["args"] and "initContainers" not in pod
    if uri.startswith("s3"):
        assert svc["metadata"]["annotations"]["serving.kserve.io/storageSecretName"] == "creds"


def test_a_folder_without_a_storage_uri_is_a_serve005_error():
    docs = rendered(*QWEN, "--model-source", "pvc://models/qwen/Qwen3-8B")
    del kind(docs, "InferenceService")[0]["spec"]["predictor"]["model"]["storageUri"]
    [finding] = serve_errors(docs)
    assert finding.code == "SERVE005" and "/mnt/models" in finding.message and "storageUri" in finding.message


@pytest.mark.parametrize("args, code, fragment", [
    ((*QWEN, "--model-source", "gs://b/x"), 2, "expected pvc://CLAIM[/PATH], s3://BUCKET[/PATH] or oci://"),
    ((*QWEN, "--model-source", "pvc://Models/x"), 2, "the claim name 'Models'"),
    ((*QWEN, "--model-source", "pvc://models/../etc"), 2, "without '.' or '..' parts"),
    ((*QWEN, "--model-source", "s3://key:secret@bucket/x"), 2, "carries a credential"),
    ((*QWEN, "--model-source", "oci://registry.example.com/models/qwen"), 2, "REPOSITORY:TAG"),
    ((*QWEN, "--model-source", "pvc://m/q", "--prefetch-job"), 2, "--prefetch-job fills the cache from the Hub"),
    (("Qwen/Qwen3-8B", "Qwen/Qwen3-32B", "--gpu", "mi300x", "--model-source", "pvc://m/q"), 2, "exactly one MODEL"),
    ((*POOL_405B, "--model-source", "s3://llm-weights/llama"), 3, "only a pvc:// or oci:// storage URI"),
    ((*QWEN, "--model-source", "pvc://m/q", "--storage-secret", "creds"), 2, "goes with --model-source s3://"),
    ((*QWEN, "--model-source", "s3://llm-weights/q", "--storage-secret", "Bad_Name"), 2, "--storage-secret 'Bad_Name'"),
])
def test_what_cannot_serve_is_refused_with_what_would(cli, args, code, fragment):
    got, _, err = cli("render", *args)
    assert got == code, err
    assert fragment in err and "secret@" not in err


LOCAL = (*QWEN, "--local-model-cache", "/mnt/nvme/models")


def test_a_local_model_cache_is_a_node_group_and_a_cache_the_isvc_matches():
    docs = rendered(*LOCAL)
    [group], [cache] = kind(docs, "LocalModelNodeGroup"), kind(docs, "LocalModelCache")
    isvc = kind(docs, "InferenceService")[0]
    uri = isvc["spec"]["predictor"]["model"]["storageUri"]
    assert uri == cache["spec"]["sourceModelUri"] == "hf://Qwen/Qwen3-8B"
    assert isvc["metadata"]["annotations"]["serving.kserve.io/nodegroup"] == group["metadata"]["name"]
    assert cache["spec"]["nodeGroups"] == [group["metadata"]["name"]]
    assert "namespace" not in group["metadata"] and "namespace" not in cache["metadata"]  # cluster-scoped
    volume = group["spec"]["persistentVolumeSpec"]
    assert volume["local"] == {"path": "/mnt/nvme/models"}
    [term] = volume["nodeAffinity"]["required"]["nodeSelectorTerms"]
    assert term["matchExpressions"][-1]["key"] == "amd.com/gpu.device-id"  # only the AMD pool's nodes
    assert "initContainers" not in isvc["spec"]["predictor"] and not kind(docs, "Job")
    assert serve_errors(docs) == []


def test_an_isvc_no_local_model_cache_matches_gets_a_warning():
    docs = rendered(*LOCAL)
    kind(docs, "LocalModelCache")[0]["spec"]["sourceModelUri"] = "hf://Qwen/Qwen3-32B"
    [finding] = [f for f in serving_findings([("t", d) for d in docs]) if f.level == "warning"]
    assert finding.code == "SERVE005" and "download the model into every pod" in finding.message


@pytest.mark.parametrize("args, code, fragment", [
    ((*LOCAL[:3], "--local-model-cache", "relative/dir"), 2, "expected an absolute folder"),
    ((*LOCAL, "--model-source", "pvc://m/q"), 2, "is read where it is"),
    ((*LOCAL, "--prefetch-job"), 2, "--prefetch-job fills the cache claim"),
    ((*LOCAL, "--api", "llmisvc"), 2, "not rendered yet"),
    ((*POOL_405B, "--local-model-cache", "/mnt/nvme"), 3, "only a pvc:// or oci:// storage URI"),
])
def test_local_model_cache_refusals(cli, args, code, fragment):
    got, _, err = cli("render", *args)
    assert got == code, err
    assert fragment in err
