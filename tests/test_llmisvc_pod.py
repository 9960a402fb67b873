"""What KServe v0.20 makes of our LLMInferenceService: its presets (../shared/kserve/v0.20.0/llmisvc-config), then
our config, then the service, merged as its controller merges them (aimgen.validate.llmisvc_pod). The pod that
results must run our engine, not the preset's CUDA launcher, on the port KServe's Service and pool target."""

from __future__ import annotations

import json

import yaml

from aimgen.validate.llmisvc_pod import workload_pods

PD = ("meta-llama/Llama-3.3-70B-Instruct", "--gpu", "mi300x", "--precision", "fp8", "--disaggregate")


def _pods(cli, *args):
    code, out, err = cli("render", *args, "--api", "llmisvc")
    assert code == 0, err
    docs = list(yaml.safe_load_all(out))
    [svc] = [d for d in docs if d["kind"] == "LLMInferenceService"]
    return workload_pods(svc, docs)


def _main(pod):
    [main] = [c for c in pod["containers"] if c["name"] == "main"]
    return main


def _sound(pod):
    """Every mount names a volume, no path is mounted twice, no volume has two sources."""
    volumes = {v["name"]: v for v in pod["volumes"]}
    for v in volumes.values():
        assert len(set(v) - {"name"}) == 1, v
    for c in pod["containers"] + pod.get("initContainers", []):
        paths = [m["mountPath"] for m in c.get("volumeMounts", [])]
        assert len(paths) == len(set(paths)), (c["name"], paths)
        assert all(m["name"] in volumes for m in c.get("volumeMounts", [])), c["name"]


def test_our_engine_replaces_the_preset_launcher(cli):
    [(role, pod)] = _pods(cli, "Qwen/Qwen3-8B", "--gpu", "mi300x").items()
    assert role == "both"
    main = _main(pod)
    assert main["command"] == ["vllm", "serve"] and main["image"].startswith("docker.io/vllm/vllm-openai-rocm:")
    assert "--port=8000" in main["args"]
    assert [p["containerPort"] for p in main["ports"]] == [8000]  # KServe's Service and InferencePool target
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert main[probe]["httpGet"]["port"] == 8000 and main[probe]["httpGet"]["scheme"] == "HTTP"
    env = {e["name"]: e.get("value") for e in main["env"]}
    assert env["HF_HUB_CACHE"] == "/models/hub" and env["HOME"] == "/tmp"  # ours over the preset's
    assert main["resources"]["limits"]["amd.com/gpu"] == "1"
    assert "{{" not in json.dumps(main)  # no Go template of the preset is left in our container
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["model-cache"] == {"name": "model-cache", "persistentVolumeClaim": {"claimName": "qwen3-8b-cache"}}
    _sound(pod)


def test_prefill_and_decode_pods_meet_the_routing_sidecar(cli):
    pods = _pods(cli, *PD)
    assert set(pods) == {"decode", "prefill"}
    decode, prefill = _main(pods["decode"]), _main(pods["prefill"])
    assert "--port=8001" in decode["args"] and "--tensor-parallel-size=4" in decode["args"]
    assert "--port=8000" in prefill["args"] and "--tensor-parallel-size=1" in prefill["args"]
    [sidecar] = [c for c in pods["decode"]["initContainers"] if c["name"] == "llm-d-routing-sidecar"]
    # The decode preset's sidecar takes 8000 and forwards to the engine on 8001, over NIXL.
    assert "--vllm-port=8001" in sidecar["command"] + sidecar.get("args", [])
    assert "--kv-connector=nixlv2" in sidecar["command"] + sidecar.get("args", [])
    assert "model-prefetch" in [c["name"] for c in pods["decode"]["initContainers"]]
    for pod in pods.values():
        _sound(pod)


def _findings(docs):
    from aimgen.validate.documents import validate_documents

    return {(f.code, f.path.split(" ", 1)[-1]) for f in validate_documents(docs, source="test")}


def test_validate_checks_the_pods_kserve_builds(cli):
    code, out, _ = cli("render", *PD, "--api", "llmisvc")
    docs = list(yaml.safe_load_all(out))
    assert not _findings(docs)
    [config] = [d for d in docs if d["kind"] == "LLMInferenceServiceConfig"]
    decode = config["spec"]["template"]["containers"][0]
    decode["args"] = [a if a != "--port=8001" else "--port=8000" for a in decode["args"]]  # would clash with the sidecar
    decode["resources"]["limits"]["amd.com/gpu"] = "2"
    decode["volumeMounts"].append({"name": "scratch", "mountPath": "/scratch"})
    [svc] = [d for d in docs if d["kind"] == "LLMInferenceService"]
    svc["spec"]["template"] = {"volumes": [{"name": "dshm", "hostPath": {"path": "/dev/shm"}}]}
    found = _findings(docs)
    assert ("LLM002", "spec.template.containers[main].args") in found
    assert ("LLM004", "spec.template.containers[main].resources") in found
    assert ("LLM003", "spec.template.containers[main]") in found  # mounts a volume the pod does not have
    # a volume named again in a later patch replaces its source (retainKeys): a hostPath dshm is one source
    assert not any(code == "LLM003" and "volumes[dshm]" in path for code, path in found)
    without_config = [d for d in docs if d["kind"] != "LLMInferenceServiceConfig"]
    assert ("LLM001", "spec.baseRefs") in _findings(without_config)


DP_GROUP = ("deepseek-ai/DeepSeek-R1", "--node-pool", "recipes/node-pools/mi300x-2nodes.yaml", "--gpus", "16",
            "--metric", "throughput")


def _children(cli, *args):
    from aimgen.validate.llmisvc_children import children

    code, out, err = cli("render", *args, "--api", "llmisvc")
    assert code == 0, err
    docs = list(yaml.safe_load_all(out))
    [svc] = [d for d in docs if d["kind"] == "LLMInferenceService"]
    return docs, {c["kind"]: c for c in children(svc, docs)}


def test_kserve_s_router_objects_are_built_and_valid(cli):
    """The InferencePool and HTTPRoute KServe creates from `router: {scheduler, route, gateway}`: filled from its
    presets, parented to the named Gateway, and valid against ../shared's Gateway API and Inference Extension CRDs
    (the CLI validated them before printing: LLM006)."""
    docs, made = _children(cli, "Qwen/Qwen3-8B", "--gpu", "mi300x", "--gateway", "gw/infra")
    assert set(made) == {"InferencePool", "HTTPRoute"}
    pool, route = made["InferencePool"], made["HTTPRoute"]
    assert pool["metadata"]["name"] == "qwen3-8b-inference-pool" and pool["spec"]["targetPorts"] == [{"number": 8000}]
    assert pool["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "qwen3-8b", "kserve.io/component":
                                                       "workload", "app.kubernetes.io/part-of": "llminferenceservice"}
    assert route["spec"]["parentRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gw",
                                            "namespace": "infra"}]
    backends = {b["name"] for rule in route["spec"]["rules"] for b in rule["backendRefs"]}
    assert backends == {"qwen3-8b-inference-pool", "qwen3-8b-kserve-workload-svc"}
    assert "{{" not in json.dumps(route)
    _, none = _children(cli, "Qwen/Qwen3-8B", "--gpu", "mi300x", "--router", "none")
    assert none == {}  # no router: KServe creates neither


def test_kserve_s_leader_worker_set_is_built_and_valid(cli):
    docs, made = _children(cli, *DP_GROUP)
    lws = made["LeaderWorkerSet"]["spec"]
    assert lws["replicas"] == 1 and lws["leaderWorkerTemplate"]["size"] == 2
    [leader] = [c for c in lws["leaderWorkerTemplate"]["leaderTemplate"]["spec"]["containers"] if c["name"] == "main"]
    [worker] = [c for c in lws["leaderWorkerTemplate"]["workerTemplate"]["spec"]["containers"] if c["name"] == "main"]
    assert "--headless" in worker["args"] and "--headless" not in leader["args"]


def test_an_object_only_its_own_crd_refuses_is_reported(cli):
    from aimgen.validate.documents import validate_documents

    code, out, _ = cli("render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--api", "llmisvc")
    docs = list(yaml.safe_load_all(out))
    [svc] = [d for d in docs if d["kind"] == "LLMInferenceService"]
    svc["spec"]["model"]["name"] = "m" * 5000  # the route's model header value allows 4096 characters
    codes = {(f.code, "HTTPRoute" in f.path) for f in validate_documents(docs, source="test")}
    assert codes == {("LLM006", True)}
