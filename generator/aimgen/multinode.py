"""One replica over several nodes as a KServe v0.20 InferenceService: what the head and the workers run, and the
shapes KServe cannot express (exit 3, saying what would work).

How KServe v0.20 builds it (kserve/kserve tag v0.20.0):
- `predictor.workerSpec` turns on multi-node (pkg/controller/v1beta1/inferenceservice/components/predictor.go,
  `Reconcile`): a head Deployment from `predictor.model` and a worker Deployment from the ServingRuntime's
  `workerSpec.containers` (`worker-container`) merged with the InferenceService's `workerSpec`.
- With the ServingRuntime annotation `multinode/executor-backend: mp` (added in v0.18, kserve#5366: no Ray),
  `computeMpNodeAndGPUs` takes pipelineParallelSize as the node count and tensorParallelSize as the GPUs of every
  pod, head included; `addGPUResourceToDeployment` then writes that count into each pod's GPU requests and limits
  (reconcilers/deployment/deployment_reconciler.go). The worker Deployment gets RAY_NODE_COUNT - 1 replicas and
  its pods carry no index.
- The worker container gets HEAD_SVC (a headless Service with publishNotReadyAddresses, so the head resolves
  before it is ready: reconcilers/service/service_reconciler.go `createHeadlessSvc`), WORKER_SVC, ISVC_NAME,
  PIPELINE_PARALLEL_SIZE, TENSOR_PARALLEL_SIZE, REQUEST_GPU_COUNT.
- The admission webhook (pkg/apis/serving/v1beta1/inference_service_validation.go `validateMultiNodeVariables`)
  requires a `pvc://` or `oci://` storageUri, the autoscaler class `none`, at most one worker container and no
  TENSOR_PARALLEL_SIZE / PIPELINE_PARALLEL_SIZE in the model's env.

vLLM's side (its 0.31.0 parser, runtimes/vllm-rocm/snapshots/vllm-0.31.0.json): `--distributed-executor-backend
mp` with `--nnodes`, `--node-rank`, `--master-addr`, `--master-port` runs TP/PP across nodes without Ray (the
vLLM images have carried no Ray since 0.19: vllm-project/vllm#39400); `--headless` on the other nodes. Data
parallel ranks across nodes use `--data-parallel-size-local`, `--data-parallel-start-rank`,
`--data-parallel-address` and `--data-parallel-rpc-port` (vLLM's data-parallel deployment docs).
"""

from __future__ import annotations

from typing import Any

from aimgen.errors import NoFeasiblePlan
from aimgen.parallel import Parallelism

EXECUTOR_ANNOTATION = "multinode/executor-backend"
EXECUTOR_MP = "mp"
WORKER_CONTAINER = "worker-container"
# The head's own address from the downward API; workers reach it through the head Service KServe names in HEAD_SVC.
# Kubernetes expands $(NAME) in args from the container's env (kubelet, "Define a command and arguments").
HEAD_ADDRESS = "$(POD_IP)"
WORKER_TO_HEAD = "$(HEAD_SVC)"
# In a LeaderWorkerSet group (an LLMInferenceService `worker`) the LWS pod webhook gives every container
# LWS_LEADER_ADDRESS, the leader's name under the group's headless Service (kubernetes-sigs/lws, "Labels,
# Annotations and Environment Variables"); KServe's own data-parallel preset points its workers there too
# (config/llmisvcconfig/config-llm-worker-data-parallel.yaml @v0.20.0: --data-parallel-address from
# LWS_LEADER_ADDRESS).
LWS_WORKER_TO_LEADER = "$(LWS_LEADER_ADDRESS)"
POD_IP_ENV = {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}
# vLLM's default --master-port (29501); the DP RPC port is the one vLLM's data-parallel docs use.
MASTER_PORT = 29501
DP_RPC_PORT = 13345
# KServe v0.20's worker Deployment gives its pods no index, and vLLM needs each node's --node-rank /
# --data-parallel-start-rank: one worker (rank 1) is the only rank that can be written down.
MAX_ISVC_NODES = 2


def rendezvous_flags(shape: Parallelism, role: str, to_head: str = WORKER_TO_HEAD) -> dict[str, Any]:
    """The flags (no dashes) that join the head ("head") and the worker ("worker") into one vLLM instance.
    `to_head` is how a worker reaches the head: KServe's head Service (InferenceService) or the LeaderWorkerSet
    leader (LLMInferenceService)."""
    worker = role == "worker"
    flags: dict[str, Any] = {}
    if shape.pipeline > 1:
        flags.update({
            "distributed-executor-backend": EXECUTOR_MP,
            "nnodes": shape.nodes,
            "node-rank": 1 if worker else 0,
            "master-addr": to_head if worker else HEAD_ADDRESS,
            "master-port": MASTER_PORT,
        })
    else:
        flags.update({
            "data-parallel-size-local": shape.data_local,
            "data-parallel-address": to_head if worker else HEAD_ADDRESS,
            "data-parallel-rpc-port": DP_RPC_PORT,
        })
        if worker:
            flags["data-parallel-start-rank"] = shape.data_local
    if worker:
        flags["headless"] = True  # no API server on the worker: the head serves, the worker runs its ranks
    return flags


def check_shape(shape: Parallelism, backend: str, where: str, file: str | None = None) -> None:
    """Refuse (exit 3) a split whose pods cannot be written down: uneven nodes, or an engine without the flags."""
    if shape.nodes == 1:
        return
    problems = shape.problems()
    if problems:
        raise NoFeasiblePlan(f"{where}: {problems[0]}", file=file)
    if backend != "vllm":
        raise NoFeasiblePlan(f"{where}: multi-node serving is rendered for vLLM only (its mp executor joins nodes "
                             "without Ray); would work: --backend vllm, or a pool whose one node holds the model",
                             file=file)


def check_group(shape: Parallelism, *, cache_enabled: bool, access_mode: str, autoscale: tuple[int, int] | None,
                where: str, source_scheme: str | None = None) -> None:
    """What a KServe v0.20 InferenceService group needs: nodes it can rank, a shared cache claim (or weights from a
    pvc:// or oci:// --model-source), a fixed size."""
    from aimgen.sources import MULTINODE_SCHEMES

    nodes = shape.nodes
    if nodes == 1:
        return
    if shape.nodes > MAX_ISVC_NODES:
        raise NoFeasiblePlan(
            f"{where}: {shape.label} over {shape.nodes} nodes: KServe v0.20 runs the workers as one Deployment whose "
            "pods carry no index, and vLLM needs each node's --node-rank; would work: 2 nodes (a head and one "
            "worker)")
    if source_scheme and source_scheme not in MULTINODE_SCHEMES:
        raise NoFeasiblePlan(f"{where}: a multi-node InferenceService takes only a pvc:// or oci:// storage URI "
                             f"(KServe's validateMultiNodeVariables), not {source_scheme}://; would work: the same "
                             "weights on a ReadWriteMany claim (--model-source pvc://CLAIM/PATH), in a model car "
                             "(oci://), or from the Hub through the cache (no --model-source, no --local-model-cache)")
    if source_scheme:
        return  # every pod mounts the same claim or image; the cache claim, if any, holds compile caches only
    if not cache_enabled:
        raise NoFeasiblePlan(f"{where}: a multi-node InferenceService needs a pvc:// storage URI (KServe's "
                             "validateMultiNodeVariables) and every node the same weights; drop --no-cache")
    _check_shared_cache(nodes, access_mode, where)
    if autoscale:
        raise NoFeasiblePlan(f"{where}: --autoscale {autoscale[0]}:{autoscale[1]}: KServe v0.20 refuses autoscaling "
                             "for multi-node InferenceServices (autoscalerClass must be none) and would scale only "
                             "the head, leaving its workers at nodes - 1; would work: one group per "
                             "InferenceService (render more with --name), or an LLMInferenceService whose "
                             "LeaderWorkerSet scales whole groups")


def _check_shared_cache(nodes: int, access_mode: str, where: str) -> None:
    if access_mode != "ReadWriteMany":
        raise NoFeasiblePlan(f"{where}: the {nodes} pods of a group run on {nodes} nodes and all read the model "
                             f"cache, which a {access_mode} claim cannot give them; set cacheAccessMode: "
                             "ReadWriteMany (with an RWX storage class) in the node pool, or --existing-claim an RWX "
                             "claim")


# KServe v0.20's LLMInferenceService picks its preset for a `worker` by the parallelism (config_merge.go
# combineBaseRefsConfig): data parallel -> kserve-config-llm-worker-data-parallel, pipeline parallel ->
# kserve-config-llm-worker-pipeline-parallel. Only the first ships (config/llmisvcconfig/ @v0.20.0 and main); a
# missing preset leaves the service at PresetsCombined=False, reason ConfigNotFound (getConfig).
LWS_MAX_NODES = 2


def check_lws_group(shape: Parallelism, *, cache_enabled: bool, access_mode: str, where: str) -> None:
    """What an LLMInferenceService `worker` group (a LeaderWorkerSet of `nodes` pods) needs from a plan."""
    nodes = shape.nodes
    if nodes == 1:
        return
    if shape.pipeline > 1:
        raise NoFeasiblePlan(
            f"{where}: {shape.label} over {nodes} nodes: KServe v0.20 builds a pipeline-parallel LLMInferenceService "
            "`worker` from its preset kserve-config-llm-worker-pipeline-parallel, which it does not ship, so the "
            "service would stay at ConfigNotFound; would work: --api isvc (a head and one worker), or a data-"
            "parallel shape (kserve-config-llm-worker-data-parallel)")
    if nodes > LWS_MAX_NODES:
        # LWS gives each worker LWS_WORKER_INDEX, but all workers share one template and vLLM wants a number in
        # --data-parallel-start-rank (index x dataLocal): only a group of one worker can write it down.
        raise NoFeasiblePlan(
            f"{where}: {shape.label} over {nodes} nodes: the LeaderWorkerSet's workers share one pod template, and "
            "vLLM needs each worker's --data-parallel-start-rank (its LWS_WORKER_INDEX x dataLocal), which a "
            f"container's args cannot compute; would work: {LWS_MAX_NODES} nodes (a leader and one worker)")
    if cache_enabled:
        _check_shared_cache(nodes, access_mode, where)
