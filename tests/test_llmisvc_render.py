"""`--api llmisvc`: KServe LLMInferenceService + LLMInferenceServiceConfig, router, prefill/decode, refusals.

Every render below goes through the CLI, which validates strictly against the CRDs in ../shared before writing.
The label checks replay what KServe v0.20.0's controller puts on the engine pods (workload_single_node.go:
singleNodeLabels, kserve.io/component=workload, llm-d.ai/role, then spec.labels copied onto the pod template), so
that a selector we render is proven to match the pods KServe will make.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from aimgen.findings import has_errors
from aimgen.validate.documents import validate_documents

POOLS = Path(__file__).resolve().parents[1] / "recipes" / "node-pools"
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
    assert "(llama-3-3-70b-instruct)-kserve(-mn)?(-prefill)?-.*" in json.dumps(rule)


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


DP_GROUP = ("deepseek-ai/DeepSeek-R1", "--node-pool", str(POOLS / "mi300x-2nodes.yaml"), "--gpus", "16",
            "--metric", "throughput", "--api", "llmisvc")


def _lws_pod_labels(svc: dict, leader: bool) -> dict:
    """The labels KServe v0.20.0 gives the leader and worker pods of its LeaderWorkerSet
    (workload_multi_node.go expectedMainMultiNodeLWS; with a leader template the workers are not in the pool)."""
    labels = {"app.kubernetes.io/name": svc["metadata"]["name"], "app.kubernetes.io/part-of": "llminferenceservice"}
    if leader:
        labels.update({"app.kubernetes.io/component": "llminferenceservice-workload-leader",
                       "kserve.io/component": "workload", "llm-d.ai/role": "both"})
    else:
        labels["app.kubernetes.io/component"] = "llminferenceservice-workload-worker"
    labels.update(svc["spec"].get("labels", {}))
    return labels


def test_multi_node_dp_group_renders_a_leader_worker_set_worker(cli):
    from aimgen.validate.llmisvc_pod import group_size, merged_spec

    docs = _render(cli, *DP_GROUP)
    [config] = _kind(docs, "LLMInferenceServiceConfig")
    [svc] = _kind(docs, "LLMInferenceService")
    # KServe sizes each LeaderWorkerSet group as data / dataLocal pods: a leader and one worker.
    assert svc["spec"]["parallelism"] == {"tensor": 1, "data": 16, "dataLocal": 8, "expert": True}
    merged, missing = merged_spec(svc, docs)
    assert missing is None and group_size(merged["parallelism"]) == 2
    [leader] = config["spec"]["template"]["containers"]
    [worker] = config["spec"]["worker"]["containers"]
    assert worker["name"] == leader["name"] == "main" and worker["image"] == leader["image"]
    assert worker["command"] == leader["command"] == ["vllm", "serve"]
    assert leader["resources"] == worker["resources"] and leader["resources"]["limits"]["amd.com/gpu"] == "8"
    # The worker joins the leader LWS names in LWS_LEADER_ADDRESS, as DP ranks 8-15, and serves no HTTP.
    assert "--data-parallel-address=$(POD_IP)" in leader["args"] and _env(leader)["POD_IP"]
    assert "--data-parallel-address=$(LWS_LEADER_ADDRESS)" in worker["args"]
    assert {"--data-parallel-start-rank=8", "--headless", "--data-parallel-size-local=8"} <= set(worker["args"])
    assert not {"ports", "startupProbe", "readinessProbe", "livenessProbe"} & set(worker)
    assert "startupProbe" in leader
    assert [a for a in leader["args"] if "start-rank" in a or a == "--headless"] == []
    assert "model-prefetch" in [c["name"] for c in config["spec"]["worker"]["initContainers"]]
    # Every pod of the group (leader and worker) is held by the PDB and opened to the others by the group policy;
    # only the leader takes client traffic.
    leader_labels, worker_labels = _lws_pod_labels(svc, True), _lws_pod_labels(svc, False)
    [pdb] = _kind(docs, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 2
    [group] = [d for d in _kind(docs, "NetworkPolicy") if d["metadata"]["name"].endswith("-group")]
    serving = next(d for d in _kind(docs, "NetworkPolicy") if d["metadata"]["name"].endswith("-serving"))
    for selector in (pdb["spec"]["selector"]["matchLabels"], group["spec"]["podSelector"]["matchLabels"],
                     group["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"]):
        assert _selects(selector, leader_labels) and _selects(selector, worker_labels), selector
    assert group["spec"]["policyTypes"] == ["Ingress"]  # egress stays open: DNS for LWS_LEADER_ADDRESS, the Hub
    assert _selects(serving["spec"]["podSelector"]["matchLabels"], leader_labels)
    assert not _selects(serving["spec"]["podSelector"]["matchLabels"], worker_labels)


def test_monitoring_follows_the_leader_worker_set(cli):
    """KServe names the group's LeaderWorkerSet <name>-kserve-mn (workload_multi_node.go mainLWSName); LWS names
    the leaders' StatefulSet after it and each group's workers' StatefulSet <lws>-<group>, pods <lws>-<group> and
    <lws>-<group>-<index>. The alerts see the leaders' StatefulSet; GPU series cover every pod; vLLM series come
    from the leaders, the only pods the PodMonitor selects."""
    import re

    docs = _render(cli, *DP_GROUP, "--monitoring")
    [rule] = _kind(docs, "PrometheusRule")
    [svc] = _kind(docs, "LLMInferenceService")
    name = svc["metadata"]["name"]
    alert = next(r for g in rule["spec"]["groups"] for r in g["rules"] if r["alert"] == "AimEngineNoReplicaAvailable")
    statefulsets = re.search(r'statefulset=~"([^"]+)"', alert["expr"]).group(1)
    assert re.fullmatch(statefulsets, f"{name}-kserve-mn") and not re.fullmatch(statefulsets, f"{name}-kserve-mn-0")
    pods = re.search(r'pod=~"([^"]+)"', json.dumps(rule).replace('\\"', '"')).group(1)
    assert re.fullmatch(pods, f"{name}-kserve-mn-0") and re.fullmatch(pods, f"{name}-kserve-mn-0-1")
    [monitor] = _kind(docs, "PodMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert _selects(selector, _lws_pod_labels(svc, True)) and not _selects(selector, _lws_pod_labels(svc, False))


def test_multi_node_group_world_size_is_checked(cli):
    from aimgen.validate.llmisvc_pod import llmisvc_findings

    docs = _render(cli, *DP_GROUP)
    assert not llmisvc_findings(docs, "test")
    [svc] = _kind(docs, "LLMInferenceService")
    svc["spec"]["parallelism"]["dataLocal"] = 4  # 4 pods of 8 GPUs for 16 ranks, the workers' ranks past DP16
    assert [f.code for f in llmisvc_findings(docs, "test")] == ["LLM005", "LLM005"]
    svc["spec"]["parallelism"] = {"tensor": 8, "pipeline": 2}  # no pipeline-parallel preset in KServe v0.20
    [finding] = llmisvc_findings(docs, "test")
    assert finding.code == "LLM005" and "kserve-config-llm-worker-pipeline-parallel" in finding.message


@pytest.mark.parametrize("pool, fragment", [
    ("mi250x-2nodes.yaml", "kserve-config-llm-worker-pipeline-parallel"),  # TP8 x PP2 for Llama-3.1-405B
])
def test_multi_node_groups_kserve_cannot_build_are_refused(cli, pool, fragment):
    code, out, err = cli("render", "meta-llama/Llama-3.1-405B-Instruct", "--node-pool", str(POOLS / pool),
                         "--api", "llmisvc")
    assert code == 3 and not out and fragment in err and "--api isvc" in err


def test_dp_group_over_more_than_two_nodes_is_refused(tmp_path):
    from aimgen.errors import NoFeasiblePlan
    from aimgen.multinode import check_lws_group
    from aimgen.parallel import Parallelism

    with pytest.raises(NoFeasiblePlan, match="--data-parallel-start-rank"):
        check_lws_group(Parallelism(tensor=1, data=24, expert=True, nodes=3), cache_enabled=True,
                        access_mode="ReadWriteMany", where="x")
    with pytest.raises(NoFeasiblePlan, match="ReadWriteMany"):
        check_lws_group(Parallelism(tensor=1, data=16, nodes=2), cache_enabled=True, access_mode="ReadWriteOnce",
                        where="x")
    # Without our cache KServe's storage initializer fills each pod from hf://: nothing shared to refuse.
    check_lws_group(Parallelism(tensor=1, data=16, nodes=2), cache_enabled=False, access_mode="ReadWriteOnce",
                    where="x")


def test_explain_says_which_api_and_why(cli):
    code, out, _ = cli("explain", *PD_MODEL, "--api", "llmisvc", "--disaggregate", "--json")
    assert code == 0
    e = json.loads(out)
    assert e["api"] == "llmisvc" and "LLMInferenceService" in e["api_reason"] and e["router"] == "scheduler"
    assert e["disaggregation"]["prefill"]["tensor_parallel_size"] == 1
    assert e["disaggregation"]["connector"] == "NixlConnector"
    code, out, _ = cli("explain", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--json")
    assert json.loads(out)["api"] == "isvc" and json.loads(out)["disaggregation"] is None


def test_explain_says_a_multi_node_group_is_a_leader_worker_set(cli):
    code, out, err = cli("explain", *DP_GROUP, "--json")
    assert code == 0, err
    e = json.loads(out)
    assert e["api"] == "llmisvc" and e["nodes"] == 2
    assert "LeaderWorkerSet group of 2 pods" in e["api_reason"] and "data / dataLocal" in e["api_reason"]
    code, out, _ = cli("explain", *DP_GROUP)
    assert "2 pods of 8 GPUs (a head and 1 worker)" in out and "LeaderWorkerSet" in out


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
