"""`--api llmisvc`: KServe LLMInferenceService + LLMInferenceServiceConfig, router, prefill/decode, refusals.

Every render below goes through the CLI, which validates strictly against the CRDs in ../shared before writing.
The label checks replay what KServe v0.20.0's controller puts on the engine pods (workload_single_node.go:
singleNodeLabels, kserve.io/component=workload, llm-d.ai/role, then spec.labels copied onto the pod template), so
that a selector we render is proven to match the pods KServe will make.
"""

from __future__ import annotations

import json

import pytest
import yaml

from aimgen.findings import has_errors
from aimgen.validate.documents import validate_documents

PD_MODEL = ("meta-llama/Llama-3.3-70B-Instruct", "--gpu", "mi300x", "--precision", "fp8")


def _render(cli, *args):
    code, out, err = cli("render", *args)
    assert code == 0, err
    return list(yaml.safe_load_all(out))


def _kind(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def _env(container):
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def _kserve_pod_labels(svc: dict, role: str) -> dict:
    """The labels KServe v0.20.0 gives an engine pod of this LLMInferenceService, ours included."""
    name = svc["metadata"]["name"]
    component = "llminferenceservice-workload-prefill" if role == "prefill" else "llminferenceservice-workload"
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "llminferenceservice",
              "app.kubernetes.io/component": component, "kserve.io/component": "workload", "llm-d.ai/role": role}
    section = svc["spec"]["prefill"] if role == "prefill" else svc["spec"]
    labels.update(section.get("labels", {}))
    return labels


def _selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def test_default_renders_config_and_service_linked_by_base_refs(cli):
    docs = _render(cli, "Qwen/Qwen3-8B", "--gpu", "mi300x", "--api", "llmisvc")
    assert not _kind(docs, "InferenceService") and not _kind(docs, "ServingRuntime")
    [config] = _kind(docs, "LLMInferenceServiceConfig")
    [svc] = _kind(docs, "LLMInferenceService")
    assert config["apiVersion"] == svc["apiVersion"] == "serving.kserve.io/v1alpha2"
    assert svc["spec"]["baseRefs"] == [{"name": config["metadata"]["name"]}]
    [main] = config["spec"]["template"]["containers"]
    assert main["name"] == "main"  # KServe's presets merge containers by this name
    assert main["image"].startswith("docker.io/vllm/vllm-openai-rocm:")
    assert main["resources"]["limits"]["amd.com/gpu"] == main["resources"]["requests"]["amd.com/gpu"] == "1"
    env = _env(main)
    assert env["VLLM_ROCM_USE_AITER"] == "1"  # the recipe's env
    assert env["HF_HUB_CACHE"] == "/models/hub"  # overrides the preset's HF_HUB_CACHE=/models
    assert "--port=8000" in main["args"] and main["ports"] == [{"containerPort": 8000, "protocol": "TCP"}]
    assert main["startupProbe"]["httpGet"]["port"] == 8000
    assert main["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert main["securityContext"]["readOnlyRootFilesystem"] is True  # HOME and caches on the tmp emptyDir
    pod = config["spec"]["template"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["tolerations"][0]["key"] == "amd.com/gpu"
    assert pod["affinity"]["nodeAffinity"]
    vols = {v["name"]: v for v in pod["volumes"]}
    assert vols["dshm"]["emptyDir"]["medium"] == "Memory"
    assert vols["model-cache"]["persistentVolumeClaim"]["claimName"] == "qwen3-8b-cache"
    assert [c["name"] for c in pod["initContainers"]] == ["model-prefetch"]
    # Our init container fills the cache claim: KServe's storage initializer stays off.
    assert svc["spec"]["storageInitializer"] == {"enabled": False}
    assert svc["spec"]["model"] == {"uri": "hf://Qwen/Qwen3-8B", "name": "Qwen/Qwen3-8B"}
    assert svc["spec"]["router"] == {"scheduler": {}, "route": {}, "gateway": {}}


def test_router_none_renders_no_router(cli):
    docs = _render(cli, "Qwen/Qwen3-8B", "--gpu", "mi300x", "--api", "llmisvc", "--router", "none")
    [svc] = _kind(docs, "LLMInferenceService")
    assert "router" not in svc["spec"]
    [policy] = [d for d in _kind(docs, "NetworkPolicy") if d["spec"].get("ingress")]
    # No Gateway to let in: only the namespace's own pods reach the engine.
    assert policy["spec"]["ingress"][0]["from"] == [{"podSelector": {}}]


def test_router_gateway_is_referenced_and_let_through(cli):
    docs = _render(cli, "Qwen/Qwen3-8B", "--gpu", "mi300x", "--api", "llmisvc", "--gateway", "inference/gateways")
    [svc] = _kind(docs, "LLMInferenceService")
    assert svc["spec"]["router"]["gateway"] == {"refs": [{"name": "inference", "namespace": "gateways"}]}
    [policy] = [d for d in _kind(docs, "NetworkPolicy") if d["spec"].get("ingress")]
    namespaces = [s["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                  for s in policy["spec"]["ingress"][0]["from"] if "namespaceSelector" in s]
    assert namespaces == ["gateways"]


def test_without_cache_kserve_downloads_hf_uri_into_mnt_models(cli):
    docs = _render(cli, "Qwen/Qwen3-8B", "--gpu", "mi300x", "--api", "llmisvc", "--no-cache")
    [config] = _kind(docs, "LLMInferenceServiceConfig")
    [svc] = _kind(docs, "LLMInferenceService")
    [main] = config["spec"]["template"]["containers"]
    assert main["args"][0] == "/mnt/models"
    assert "storageInitializer" not in svc["spec"]  # KServe's default: download model.uri
    assert svc["spec"]["model"]["uri"] == "hf://Qwen/Qwen3-8B"
    assert not _kind(docs, "PersistentVolumeClaim")


def test_selectors_match_the_pods_kserve_makes(cli):
    docs = _render(cli, *PD_MODEL, "--api", "llmisvc", "--disaggregate", "--monitoring")
    [svc] = _kind(docs, "LLMInferenceService")
    pods = [_kserve_pod_labels(svc, role) for role in ("decode", "prefill")]
    [policy] = [d for d in _kind(docs, "NetworkPolicy") if d["spec"].get("ingress")]
    [pdb] = _kind(docs, "PodDisruptionBudget")
    [monitor] = _kind(docs, "PodMonitor")
    for selector in (policy["spec"]["podSelector"]["matchLabels"], pdb["spec"]["selector"]["matchLabels"],
                     monitor["spec"]["selector"]["matchLabels"]):
        assert all(_selects(selector, labels) for labels in pods), selector
    # KServe selects its pods by these keys: ours must not overwrite them on the pod template.
    for labels in (svc["spec"]["labels"], svc["spec"]["prefill"]["labels"]):
        assert not set(labels) & {"app.kubernetes.io/name", "app.kubernetes.io/component", "app.kubernetes.io/part-of"}
    # Each role's metrics port, each kept to its pods by the llm-d role label.
    kept = {e["portNumber"]: e["relabelings"][0] for e in monitor["spec"]["podMetricsEndpoints"]}
    assert {p: k["regex"] for p, k in kept.items()} == {8000: "prefill", 8001: "decode"}
    assert kept[8000]["sourceLabels"] == ["__meta_kubernetes_pod_label_llm_d_ai_role"]
    [rule] = _kind(docs, "PrometheusRule")
    assert "(llama-3-3-70b-instruct)-kserve(-prefill)?-.*" in json.dumps(rule)


def test_prefill_decode_from_the_cited_config(cli):
    docs = _render(cli, *PD_MODEL, "--api", "llmisvc", "--disaggregate")
    [config] = _kind(docs, "LLMInferenceServiceConfig")
    [svc] = _kind(docs, "LLMInferenceService")
    assert svc["spec"]["prefill"]["replicas"] == 4 and svc["spec"]["prefill"]["parallelism"] == {"tensor": 1}
    assert svc["spec"]["replicas"] == 1 and svc["spec"]["parallelism"] == {"tensor": 4}
    assert svc["metadata"]["annotations"]["aim-engine.amd.com/disaggregation"].startswith("llama-3.3-70b-fp8-mi300x")
    [prefill] = config["spec"]["prefill"]["template"]["containers"]
    [decode] = config["spec"]["template"]["containers"]
    assert "--tensor-parallel-size=1" in prefill["args"] and prefill["resources"]["limits"]["amd.com/gpu"] == "1"
    assert "--tensor-parallel-size=4" in decode["args"] and decode["resources"]["limits"]["amd.com/gpu"] == "4"
    assert '--kv-transfer-config={"kv_connector":"NixlConnector","kv_role":"kv_producer"}' in prefill["args"]
    assert '--kv-transfer-config={"kv_connector":"NixlConnector","kv_role":"kv_both"}' in decode["args"]
    # Decode's engine sits behind KServe's routing sidecar (port 8000) on 8001; prefill's takes 8000.
    assert "--port=8001" in decode["args"] and "--port=8000" in prefill["args"]
    for c in (prefill, decode):
        assert _env(c)["VLLM_NIXL_SIDE_CHANNEL_HOST"] == {"fieldRef": {"fieldPath": "status.podIP"}}
        assert "--attention-backend=ROCM_ATTN" in c["args"]  # the guide: required when P and D TP differ
    [policy] = [d for d in _kind(docs, "NetworkPolicy") if d["spec"].get("ingress")]
    peers = policy["spec"]["ingress"][1]
    assert "ports" not in peers  # UCX picks its ports at run time: engine pods reach each other on any port


def test_model_without_cited_pd_config_is_refused(cli):
    code, out, err = cli("render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--api", "llmisvc", "--disaggregate")
    assert code == 3 and not out
    [line] = [l for l in err.splitlines() if l.strip()]
    assert "no cited prefill/decode configuration for Qwen/Qwen3-8B on mi300x" in line
    assert "meta-llama/Llama-3.3-70B-Instruct on mi300x (fp8, vllm)" in line  # what would work


@pytest.mark.parametrize("args, fragment", [
    (("--disaggregate",), "--disaggregate needs --api llmisvc"),
    (("--router", "none"), "--router is for --api llmisvc"),
    (("--api", "llmisvc", "--autoscale", "1:4"), "--autoscale"),
    (("--api", "llmisvc", "--ingress-host", "llm.example.com"), "--ingress-host"),
    (("--api", "llmisvc", "--cluster-runtime"), "--cluster-runtime"),
    (("--api", "inference"), "--api 'inference' is not one of"),
])
def test_option_combinations_refused(cli, args, fragment):
    code, _, err = cli("render", "Qwen/Qwen3-8B", "--gpu", "mi300x", *args)
    assert code == 2 and fragment in err, err


def test_multi_node_plan_refused_for_llmisvc(cli, tmp_path):
    pool = tmp_path / "pool.yaml"
    pool.write_text("name: mi210-4n\ngpu: mi210\ngpusPerNode: 4\nnodes: 4\n")
    code, out, err = cli("render", "meta-llama/Llama-3.1-405B-Instruct", "--node-pool", str(pool), "--api", "llmisvc")
    assert code == 3 and not out and "spans 4 nodes" in err and "--api isvc" in err


def test_explain_says_which_api_and_why(cli):
    code, out, _ = cli("explain", *PD_MODEL, "--api", "llmisvc", "--disaggregate", "--json")
    assert code == 0
    e = json.loads(out)
    assert e["api"] == "llmisvc" and "LLMInferenceService" in e["api_reason"] and e["router"] == "scheduler"
    assert e["disaggregation"]["prefill"]["tensor_parallel_size"] == 1
    assert e["disaggregation"]["connector"] == "NixlConnector"
    code, out, _ = cli("explain", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--json")
    assert json.loads(out)["api"] == "isvc" and json.loads(out)["disaggregation"] is None


def test_validation_is_strict_for_the_new_kinds(cli):
    """A field the CRD does not define fails validation: the checks above are not vacuous."""
    docs = _render(cli, "Qwen/Qwen3-8B", "--gpu", "mi300x", "--api", "llmisvc")
    [svc] = _kind(docs, "LLMInferenceService")
    svc["spec"]["router"]["scheduler"]["poolName"] = "x"
    [config] = _kind(docs, "LLMInferenceServiceConfig")
    config["spec"]["template"]["containers"][0]["gpus"] = 1
    findings = validate_documents([svc, config], source="test")
    assert has_errors(findings)
    paths = {f.path.split(" ")[-1] for f in findings if f.level == "error"}
    assert paths == {"spec.router.scheduler.poolName", "spec.template.containers[0].gpus"}


def test_config_is_held_to_the_schema_kserve_checks_the_merged_spec_against(cli):
    """The config CRD is relaxed for KServe's Go templates (no pattern on a route's parentRefs namespace); KServe
    dry-runs the merged spec as an LLMInferenceService, so a template-free config is held to that schema too."""
    docs = _render(cli, "Qwen/Qwen3-8B", "--gpu", "mi300x", "--api", "llmisvc")
    [config] = _kind(docs, "LLMInferenceServiceConfig")
    config["spec"]["router"] = {"route": {"http": {"spec": {"parentRefs": [{"name": "gw", "namespace": "Not_A_NS"}]}}}}
    findings = [f for f in validate_documents([config], source="test") if f.level == "error"]
    assert [f.path.split(" ")[-1] for f in findings] == ["spec.router.route.http.spec.parentRefs[0].namespace"]
    assert "merged spec as an LLMInferenceService" in findings[0].message
    # A preset with Go templates is checked by KServe only after it renders them: left to the relaxed schema.
    config["spec"]["router"]["route"]["http"]["spec"]["parentRefs"][0]["namespace"] = "{{ .GlobalConfig.X }}"
    assert not [f for f in validate_documents([config], source="test") if f.level == "error"]
