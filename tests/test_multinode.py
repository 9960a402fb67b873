"""Multi-node InferenceServices and DP/EP shapes: what KServe v0.20 builds from them adds up to the engine's world
size, every shape validates strictly, and what KServe cannot express is refused with what would work."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aimgen.catalog.models import get_model
from aimgen.catalog.nodepool import load_node_pool
from aimgen.compose import Options, compose, decide
from aimgen.constants import GPU_RESOURCE
from aimgen.errors import NoFeasiblePlan
from aimgen.planning import plan
from aimgen.parallel import Parallelism, from_flags
from aimgen.render.manifests import render_all
from aimgen.select import Request
from aimgen.validate.documents import validate_documents

ROOT = Path(__file__).resolve().parents[1]
POOLS = ROOT / "recipes" / "node-pools"


def _render(model: str, pool_file: str, **request):
    pool = load_node_pool(POOLS / pool_file)
    spec, decisions = compose([(Request(get_model(model), pool, **request), None)], pool, Options(namespace="llm"))
    return spec, decisions, render_all(spec)


def _flag(args: list[str], name: str) -> str | None:
    for a in args:
        if a == f"--{name}":
            return "true"
        if a.startswith(f"--{name}="):
            return a.split("=", 1)[1]
    return None


def _world(args: list[str]) -> int:
    return int(_flag(args, "tensor-parallel-size") or 1) * int(_flag(args, "pipeline-parallel-size") or 1) * \
        int(_flag(args, "data-parallel-size") or 1)


def _group_gpus(isvc: dict, runtime: dict) -> int:
    """GPUs the pod group gets, as KServe v0.20 builds it: the head pod, plus the workers when there are any
    (mp executor: pipelineParallelSize pods in all, tensorParallelSize GPUs each, written into every pod)."""
    predictor = isvc["spec"]["predictor"]
    head = int(predictor["model"]["resources"]["limits"][GPU_RESOURCE])
    worker_spec = predictor.get("workerSpec")
    if not worker_spec:
        return head
    assert runtime["spec"]["annotations"]["multinode/executor-backend"] == "mp"
    per_pod = worker_spec["tensorParallelSize"]
    worker = int(worker_spec["containers"][0]["resources"]["limits"][GPU_RESOURCE])
    assert head == worker == per_pod  # what KServe's addGPUResourceToDeployment writes is what we asked for
    return per_pod * worker_spec["pipelineParallelSize"]


CASES = [
    # (model, node pool, request, nodes, split)
    ("meta-llama/Llama-3.1-405B-Instruct", "mi250x-2nodes.yaml", {}, 2, "TP8 x PP2"),
    ("meta-llama/Llama-3.1-405B-Instruct", "mi300x-2nodes.yaml", {"gpus": 16}, 2, "TP8 x PP2"),
    ("deepseek-ai/DeepSeek-R1", "mi300x-2nodes.yaml", {"gpus": 16, "metric": "throughput"}, 2, "TP1 x DP16 (EP16)"),
    # the recipe's x8 throughput profile derived to the pool's 4 GPUs (docs/selection.md); the planner's own
    # DP4 x EP4 for this pool is checked by test_explain_shows_the_dp_ep_arithmetic
    ("deepseek-ai/DeepSeek-R1", "mi325x-4gpu.yaml", {"metric": "throughput"}, 1, "TP4"),
]


@pytest.mark.parametrize("model,pool,request_,nodes,label", CASES, ids=[f"{c[0].split('/')[1]}-{c[1]}" for c in CASES])
def test_group_gpus_add_up_to_the_world_size_and_validate(model, pool, request_, nodes, label):
    spec, decisions, docs = _render(model, pool, **request_)
    findings = validate_documents(docs, source=model, crd_dirs=None, kube_version=None)
    assert not findings, "\n".join(f.line() for f in findings)
    svc = spec.services[0]
    assert svc.shape.label == label and svc.nodes == nodes
    isvc = next(d for d in docs if d["kind"] == "InferenceService")
    runtime = next(d for d in docs if d["kind"] == "ServingRuntime")
    head_args = isvc["spec"]["predictor"]["model"]["args"]
    assert _group_gpus(isvc, runtime) == _world(head_args) == svc.shape.world_size
    if nodes > 1:
        assert _world(isvc["spec"]["predictor"]["workerSpec"]["containers"][0]["args"]) == svc.shape.world_size


def test_tp_pp_group_head_and_worker():
    spec, _, docs = _render("meta-llama/Llama-3.1-405B-Instruct", "mi250x-2nodes.yaml")
    isvc = next(d for d in docs if d["kind"] == "InferenceService")
    predictor = isvc["spec"]["predictor"]
    head, worker = predictor["model"], predictor["workerSpec"]["containers"][0]
    # vLLM's own mp executor joins the nodes (no Ray): rank 0 on the head at its pod IP, rank 1 headless.
    assert _flag(head["args"], "distributed-executor-backend") == "mp" == _flag(worker["args"], "distributed-executor-backend")
    assert (_flag(head["args"], "node-rank"), _flag(worker["args"], "node-rank")) == ("0", "1")
    assert _flag(head["args"], "master-addr") == "$(POD_IP)" and _flag(worker["args"], "master-addr") == "$(HEAD_SVC)"
    assert _flag(worker["args"], "headless") and not _flag(head["args"], "headless")
    assert {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}} in head["env"]
    assert head["storageUri"] == f"pvc://{spec.cache.claim_name}"  # KServe's webhook: pvc:// or oci:// only
    assert isvc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "none"
    # Probes on the head only; the worker serves no HTTP.
    assert {"startupProbe", "readinessProbe", "livenessProbe"} <= set(head) and not set(worker) & {
        "startupProbe", "readinessProbe", "livenessProbe"}
    # RCCL and Gloo bootstrap over the pod network on both.
    for c in (head, worker):
        env = {e["name"]: e.get("value") for e in c["env"]}
        assert env["NCCL_SOCKET_IFNAME"] == env["GLOO_SOCKET_IFNAME"] == "eth0"
    # Both pods mount the shared cache; the worker waits for it too.
    assert predictor["workerSpec"]["initContainers"] and predictor["workerSpec"]["volumes"] == predictor["volumes"]
    runtime = next(d for d in docs if d["kind"] == "ServingRuntime")
    assert runtime["spec"]["workerSpec"]["containers"][0]["name"] == "worker-container"
    assert runtime["metadata"]["name"].endswith("-multinode")
    pdb = next(d for d in docs if d["kind"] == "PodDisruptionBudget")
    assert pdb["spec"] == {"minAvailable": 2, "selector": {"matchLabels": predictor["labels"]}}
    group = next(d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"].endswith("-group"))
    assert group["spec"]["podSelector"]["matchLabels"] == predictor["labels"]


def test_dp_ranks_across_nodes():
    _, _, docs = _render("deepseek-ai/DeepSeek-R1", "mi300x-2nodes.yaml", gpus=16, metric="throughput")
    predictor = next(d for d in docs if d["kind"] == "InferenceService")["spec"]["predictor"]
    head, worker = predictor["model"]["args"], predictor["workerSpec"]["containers"][0]["args"]
    assert _flag(head, "data-parallel-size") == _flag(worker, "data-parallel-size") == "16"
    assert _flag(head, "data-parallel-size-local") == _flag(worker, "data-parallel-size-local") == "8"
    assert _flag(worker, "data-parallel-start-rank") == "8" and _flag(head, "data-parallel-start-rank") is None
    assert _flag(head, "enable-expert-parallel") and _flag(head, "all2all-backend") == "allgather_reducescatter"
    assert _flag(head, "nnodes") is None  # TP stays inside a node: no cross-node executor


def test_explain_shows_the_dp_ep_arithmetic():
    p = plan(get_model("deepseek-ai/DeepSeek-R1"), load_node_pool(POOLS / "mi325x-4gpu.yaml"), metric="throughput")
    assert p.shape == Parallelism(1, 1, 4, True, 1, "allgather_reducescatter")
    text = "\n".join(p.reasons)
    assert "256 routed experts per MoE layer over EP4 (TP1 x DP4) = 64 per GPU" in text
    assert re.search(r"KV per DP rank: .* holds [\d,]+ tokens .*; 4 ranks hold [\d,]+ in all", text)
    assert "ROCm guide" in text  # the cited source of the shape
    assert p.as_dict()["parallelism"]["expert"] is True


def test_latency_keeps_tp_on_one_node():
    p = plan(get_model("deepseek-ai/DeepSeek-R1"), load_node_pool(POOLS / "mi325x-4gpu.yaml"), metric="latency")
    assert p.shape.data == 1 and any("prefers TP over EP" in r for r in p.reasons)


@pytest.mark.parametrize("gpus,nodes,args,want", [
    (16, 2, {}, Parallelism(8, 2, 1, False, 2)),
    (16, 2, {"data-parallel-size": 16, "enable-expert-parallel": True}, Parallelism(1, 1, 16, True, 2)),
    (8, 1, {"data-parallel-size": 2}, Parallelism(4, 1, 2, False, 1)),
])
def test_recipe_split(gpus, nodes, args, want):
    assert from_flags(gpus, nodes, args) == want and want.problems() == []


@pytest.mark.parametrize("shape,fragment", [
    (Parallelism(8, 2, 2, nodes=2), "not both"),
    (Parallelism(4, 1, 3, nodes=2), "does not split evenly"),
    (Parallelism(4, 4, 1, nodes=2), "PP = nodes"),
])
def test_shapes_pods_cannot_split(shape, fragment):
    assert fragment in shape.problems()[0]


def test_sglang_group_is_refused():
    from aimgen.multinode import check_shape

    with pytest.raises(NoFeasiblePlan, match="vLLM only"):
        check_shape(Parallelism(8, 2, nodes=2), "sglang", "x")


def test_every_recipe_profile_gets_the_gpus_its_engine_uses():
    """No recipe profile renders a world size different from the GPUs of its pod group."""
    from dataclasses import replace

    from aimgen.catalog.gpus import get_gpu
    from aimgen.catalog.nodepool import default_pool
    from aimgen.recipes.load import load_all_profiles

    for p in load_all_profiles():
        pool = replace(default_pool(get_gpu(p.gpu)), nodes=max(1, p.nodes))
        d = decide(Request(get_model(p.model), pool, p.gpus, p.precision, p.backend, p.metric), "x")
        s = d.serving
        assert s.gpus * s.nodes == s.shape.world_size == p.gpus, p.id
        if p.backend == "vllm":
            assert _world(list(s.args)) == p.gpus, p.id


def test_explain_a_recipe_group(cli):
    code, out, err = cli("explain", "deepseek-ai/DeepSeek-R1", "--node-pool", str(POOLS / "mi300x-2nodes.yaml"),
                         "--gpus", "16", "--metric", "throughput")
    assert code == 0, err
    assert "on 16 x MI300X" in out and "2 pods of 8 GPUs (a head and 1 worker): 2 x 8 = 16" in out
    assert "256 routed experts per MoE layer over EP16 = 16 per GPU" in out and "16 ranks hold" in out
