"""What recipes must not carry, and what aimgen renders itself: the engine flags and env the lint refuses, the seed
importer drops and `--engine-arg` may not override. One list, so the three never disagree."""

from __future__ import annotations

# vLLM flags that older AMD guides pass but current vLLM (checked against 0.22 and 0.33) rejects.
REMOVED_VLLM_FLAGS = {
    "swap-space": "CPU swap space is gone from vLLM's engine args",
    "max-seq-len-to-capture": "graph capture sizes are derived automatically now",
    "num-scheduler-steps": "multi-step scheduling went with the V0 engine",
    "disable-log-requests": "request logging is off by default; enable-log-requests turns it on",
    "use-v2-block-manager": "removed with the V0 engine",
    "disable-detokenize": "a benchmark_throughput option, not a serve flag",
}
# VLLM_* variables from older guides that current vLLM no longer declares in vllm/envs.py.
REMOVED_VLLM_ENV = {
    "VLLM_USE_V1", "VLLM_USE_TRITON_FLASH_ATTN", "VLLM_V1_USE_PREFILL_DECODE_ATTENTION", "VLLM_USE_AITER_UNIFIED_ATTENTION",
    "VLLM_ROCM_USE_AITER_TRITON_BF16_GEMM", "VLLM_ROCM_USE_AITER_FUSED_MOE_A16W4", "VLLM_USE_AITER_TRITON_ROPE",
    "VLLM_ROCM_USE_AITER_TRITON_LINEAR", "VLLM_TRITON_FP4_GEMM_USE_ASM", "VLLM_ROCM_USE_AITER_TRITON_FUSED_ROPE_ZEROS_KV_CACHE",
    "VLLM_ROCM_USE_AITER_PAGED_ATTN", "VLLM_ALL2ALL_BACKEND",
}
# aimgen derives these from gpus/nodes and the deployment; a recipe that sets them would fight the renderer.
TP_FLAGS = {"tensor-parallel-size", "tp", "tp-size"}  # vLLM and SGLang spellings
PP_FLAGS = {"pipeline-parallel-size", "pp", "pp-size"}
# ATOM's HTTP port is --server-port (its --port is the engine's internal port).
SERVER_FLAGS = {"model", "model-path", "host", "port", "server-port", "served-model-name", "download-dir", "uds"}
# What joins the pods of a multi-node group (aimgen.multinode.rendezvous_flags): per pod, so never in a recipe.
GROUP_FLAGS = {"nnodes", "node-rank", "master-addr", "master-port", "headless", "data-parallel-size-local",
               "data-parallel-start-rank", "data-parallel-address", "data-parallel-rpc-port", "data-parallel-rank"}
RENDERED_FLAGS = TP_FLAGS | PP_FLAGS | SERVER_FLAGS | GROUP_FLAGS
QUICK_REDUCE_ENV = ("VLLM_ROCM_QUICK_REDUCE_QUANTIZATION", "ROCM_QUICK_REDUCE_QUANTIZATION")
# Engine-declared variables need no justification; anything else (HSA_, NCCL_, RCCL_, HIP_, AMDGCN_...) must be named in source.note.
ENGINE_ENV_PREFIXES = ("VLLM_", "SGLANG_", "ATOM_")
