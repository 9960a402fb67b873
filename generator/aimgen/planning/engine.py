"""Engine flags and ROCm environment for a planned shape, per backend (vLLM or SGLang)."""

from __future__ import annotations

from aimgen.catalog.gpus import Gpu
from aimgen.parallel import Parallelism
from aimgen.planning.weights import ServedWeights

# Environment variables the planner may set. Every VLLM_* name is read by vllm/envs.py in vLLM 0.33.0;
# SGLANG_USE_AITER by SGLang's ROCm build (lmsysorg/sglang *-rocm images).
VLLM_ENV_NAMES = frozenset({"VLLM_ROCM_USE_AITER", "VLLM_ROCM_QUICK_REDUCE_QUANTIZATION", "VLLM_USE_TRITON_AWQ"})
SGLANG_ENV_NAMES = frozenset({"SGLANG_USE_AITER"})
# AITER kernels are built for CDNA3/CDNA4 only (vllm/_aiter_ops.py: get_cdna_version() > 2).
AITER_GFX = ("gfx942", "gfx950")
# vLLM's QuickReduce runs on MI300-series GPUs at world sizes 2, 4 and 8 (quick_all_reduce.py).
QUICK_REDUCE_TP = (2, 4, 8)
KV_DTYPE_FLAG = {"vllm": {"fp8": "fp8"}, "sglang": {"fp8": "fp8_e4m3"}}
# SGLang's mem-fraction-static covers weights and KV only; activations live outside it.
SGLANG_ACTIVATION_HEADROOM = 0.05


def rocm_env(gpu: Gpu, backend: str, tp: int, served: ServedWeights) -> tuple[dict[str, str], tuple[str, ...]]:
    env: dict[str, str] = {}
    why: list[str] = []
    aiter = gpu.gfx in AITER_GFX
    if backend == "sglang":
        if aiter:
            env["SGLANG_USE_AITER"] = "1"
            why.append(f"SGLANG_USE_AITER=1: AITER attention/MoE/GEMM kernels on {gpu.gfx}")
        return env, tuple(why)
    if aiter:
        env["VLLM_ROCM_USE_AITER"] = "1"
        why.append(f"VLLM_ROCM_USE_AITER=1: AITER kernels exist for {gpu.gfx} (CDNA3/4), not for gfx90a")
    if aiter and tp in QUICK_REDUCE_TP:
        env["VLLM_ROCM_QUICK_REDUCE_QUANTIZATION"] = "INT4"
        why.append(f"VLLM_ROCM_QUICK_REDUCE_QUANTIZATION=INT4: quantized all-reduce across the {tp} GPUs "
                   "(AMD's setting for large models; only meaningful at TP > 1)")
    if served.precision == "int4" and served.format.group_size:
        env["VLLM_USE_TRITON_AWQ"] = "1"
        why.append("VLLM_USE_TRITON_AWQ=1: ROCm runs AWQ through the Triton kernels")
    return env, tuple(why)


# Across nodes the RCCL and Gloo bootstrap must use the pod network: InferenceX's multi-node AMD env
# (benchmarks/multi_node/amd_utils/env.sh, summarized in ../shared/upstream-configs/inferencex/env-and-flags.md §3)
# sets NCCL_SOCKET_IFNAME and GLOO_SOCKET_IFNAME to the default route's interface, which in a pod is eth0
# (RCCL reads the NCCL_* names). NCCL_IB_HCA names the node's RDMA devices: node-specific, so a recipe or node
# pool sets it; without RDMA, RCCL falls back to TCP sockets on eth0.
MULTINODE_ENV = {"NCCL_SOCKET_IFNAME": "eth0", "GLOO_SOCKET_IFNAME": "eth0"}


def multinode_env(nodes: int) -> dict[str, str]:
    return dict(MULTINODE_ENV) if nodes > 1 else {}


def engine_args(backend: str, *, tp: int, pp: int, max_model_len: int, max_num_seqs: int,
                max_num_batched_tokens: int, dtype: str, kv_cache_dtype: str, gpu_memory_utilization: float,
                served: ServedWeights, trust_remote_code: bool, shape: Parallelism | None = None) -> dict[str, object]:
    """Flag name (no leading dashes) → value, in the backend's own spelling."""
    kv = KV_DTYPE_FLAG[backend].get(kv_cache_dtype, kv_cache_dtype)
    if backend == "sglang":
        args: dict[str, object] = {
            "tp-size": tp,
            "context-length": max_model_len,
            "max-running-requests": max_num_seqs,
            "chunked-prefill-size": max_num_batched_tokens,
            "dtype": dtype,
            "kv-cache-dtype": kv,
            "mem-fraction-static": round(gpu_memory_utilization - SGLANG_ACTIVATION_HEADROOM, 2),
        }
        if pp > 1:
            args["pp-size"] = pp
    else:
        args = {
            "tensor-parallel-size": tp,
            "max-model-len": max_model_len,
            "max-num-seqs": max_num_seqs,
            "max-num-batched-tokens": max_num_batched_tokens,
            "dtype": dtype,
            "kv-cache-dtype": kv,
            "gpu-memory-utilization": gpu_memory_utilization,
        }
        if pp > 1:
            args["pipeline-parallel-size"] = pp
        if shape is not None and shape.data > 1:
            args["data-parallel-size"] = shape.data  # max-num-seqs and the KV cache are per DP rank
        if shape is not None and shape.expert:
            args["enable-expert-parallel"] = True
            args["all2all-backend"] = shape.all2all_backend
    if served.quantization_arg:
        args["quantization"] = served.quantization_arg
    if trust_remote_code:
        args["trust-remote-code"] = True
    return args
