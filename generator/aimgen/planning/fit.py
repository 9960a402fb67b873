"""Does a model fit a TP x PP shape on a GPU: the memory budget, the runtime overhead, the KV cache, and the
divisibility rules vLLM enforces when it shards weights.

Budget per GPU = gpu_memory_utilization x VRAM (vLLM caps its whole process at that fraction, non-torch memory
included). From it come, in order: the most loaded GPU's weights, runtime overhead, and the KV cache. A shape fits
when the KV cache holds `min_sequences` sequences of max_model_len tokens: vLLM itself refuses to start below one.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from aimgen.catalog.gpus import Gpu
from aimgen.catalog.models import CatalogModel
from aimgen.constants import GIB
from aimgen.errors import AimgenError, UsageError
from aimgen.planning.arch import ModelArch, arch_from_config
from aimgen.planning.memory import (
    kv_bytes_for_tokens,
    kv_bytes_per_token,
    weight_bytes,
    weight_bytes_per_gpu,
)
from aimgen.planning.recipe_only import estimated_weight_bytes
from aimgen.planning.weights import ServedWeights, disk_bytes, resolve_weights

DEFAULT_GPU_MEMORY_UTILIZATION = 0.90
# A planned context: enough for long chat and RAG prompts without sizing every replica for the model's maximum;
# an explicit max_model_len goes up to max_position_embeddings.
DEFAULT_MAX_MODEL_LEN = 32768
# Shortest context the planner will cut to before asking for more GPUs instead.
MIN_MODEL_LEN = 4096
# Fixed per-GPU overhead besides weights, activations and KV (measured ranges on MI300X with vLLM V1):
RUNTIME_BYTES = int(1.5 * GIB)  # HIP context, PyTorch and RCCL state, sampler/scheduler workspaces
GRAPH_BYTES = 1 * GIB  # HIP graph pools for the captured decode batch sizes
COMM_BYTES = 1 * GIB  # custom/quick all-reduce IPC buffers and PP send/recv buffers when more than one GPU
SAMPLER_COPIES = 3  # fp32 logits, probabilities and sort buffers over the vocabulary, per sequence
# Token budget of one scheduler step (chunked prefill) and the sequence cap, before the planner tunes them.
DEFAULT_BATCHED_TOKENS = 8192
DEFAULT_MAX_NUM_SEQS = 256


@dataclass(frozen=True)
class Fit:
    """The memory arithmetic for one shape (all bytes per GPU unless named otherwise)."""

    fits: bool
    reason: str
    tensor_parallel_size: int
    pipeline_parallel_size: int
    max_model_len: int
    max_num_seqs: int
    gpu_memory_utilization: float
    precision: str = ""
    checkpoint: str = ""
    weight_format: str = ""
    kv_cache_dtype: str = "auto"
    weights_bytes: int = 0  # whole replica, in GPU memory
    checkpoint_bytes: int = 0  # whole checkpoint on disk (what a cache volume holds)
    weights_bytes_per_gpu: int = 0
    overhead_bytes_per_gpu: int = 0
    budget_bytes_per_gpu: int = 0
    kv_cache_bytes_per_gpu: int = 0  # left for the KV cache (0 when weights and overhead do not fit)
    kv_cache_bytes_per_token: int = 0  # whole model, all layers
    kv_cache_bytes_per_token_per_gpu: int = 0
    kv_cache_tokens: int = 0  # tokens the KV cache holds when every sequence is max_model_len long
    full_length_sequences: float = 0.0
    reasons: tuple[str, ...] = field(default=())

    @property
    def gpus(self) -> int:
        return self.tensor_parallel_size * self.pipeline_parallel_size

    def as_dict(self) -> dict:
        out = asdict(self)
        out["reasons"] = list(self.reasons)
        out["gpus"] = self.gpus
        return out


def gib(n: float) -> str:
    return f"{n / GIB:.1f} GiB"


def tp_blockers(arch: ModelArch, tp: int, served: ServedWeights | None = None) -> list[str]:
    """Why vLLM would refuse to shard this model tp ways (empty when it can)."""
    out: list[str] = []
    if arch.num_heads % tp:
        out.append(f"{arch.num_heads} attention heads are not divisible by TP{tp}")
    if not arch.mla and tp > 1:
        kv = arch.num_kv_heads
        if (tp >= kv and tp % kv) or (tp < kv and kv % tp):
            out.append(f"{kv} KV heads neither divide by nor divide TP{tp}")
    fmt = served.format if served else None
    if fmt is None or not fmt.quantized or tp == 1:
        return out
    widths = {"intermediate_size": arch.intermediate_size} if not all(arch.moe_layers) else {}
    if arch.moe:
        widths["moe_intermediate_size"] = arch.moe.expert_intermediate_size
    for name, width in widths.items():
        if width % tp:
            out.append(f"{name} {width} is not divisible by TP{tp}")
            continue
        shard = width // tp
        if fmt.block and shard % fmt.block[0]:
            out.append(f"{name} {width} / TP{tp} = {shard} is not a multiple of the FP8 block {fmt.block[0]}")
        if fmt.group_size and fmt.precision in ("int4", "int8") and shard % fmt.group_size:
            out.append(f"{name} {width} / TP{tp} = {shard} is not a multiple of the {fmt.precision} "
                       f"group {fmt.group_size}")
    return out


def activation_bytes(arch: ModelArch, tp: int, batched_tokens: int, max_num_seqs: int) -> int:
    """Peak activations of one scheduler step (vLLM profiles this with a dummy batch) plus the sampler."""
    h = arch.hidden_size
    q_kv = (arch.num_heads + 2 * arch.num_kv_heads) * arch.head_dim / tp
    ffn = arch.intermediate_size / tp if not all(arch.moe_layers) else 0
    if arch.moe:
        ffn = max(ffn, (arch.moe.experts_per_token * arch.moe.expert_intermediate_size
                        + arch.moe.shared_intermediate_size) / tp)
    per_token = 2 * (6 * h + q_kv + 3 * ffn)  # residual, norms, attention in/out, gate/up/act in bf16
    sampler = max_num_seqs * arch.vocab_size * 4 * SAMPLER_COPIES
    return math.ceil(batched_tokens * per_token + sampler)


def overhead_bytes(arch: ModelArch, tp: int, pp: int, batched_tokens: int, max_num_seqs: int, dp: int = 1) -> int:
    comm = COMM_BYTES if tp * pp * dp > 1 else 0
    return RUNTIME_BYTES + GRAPH_BYTES + comm + activation_bytes(arch, tp, batched_tokens, max_num_seqs)


@dataclass(frozen=True)
class Budget:
    """The numbers of one shape before a verdict."""

    weights_per_gpu: int
    overhead: int
    budget: int
    kv_available: int
    kv_per_token_per_gpu: int
    kv_per_sequence: int  # one max_model_len sequence, on the most loaded GPU


def budget(arch: ModelArch, served: ServedWeights, gpu: Gpu, tp: int, pp: int, *, max_model_len: int,
           max_num_seqs: int, batched_tokens: int, gpu_memory_utilization: float, kv_cache_dtype: str,
           dp: int = 1) -> Budget:
    """One GPU of a TP x PP group (of one DP rank: KV, batch and attention are per rank, experts over TP x DP)."""
    weights = weight_bytes_per_gpu(arch, served.format, tp, pp, dp)
    overhead = overhead_bytes(arch, tp, pp, batched_tokens, max_num_seqs, dp)
    total = int(gpu_memory_utilization * gpu.vram_bytes)
    return Budget(
        weights_per_gpu=weights,
        overhead=overhead,
        budget=total,
        kv_available=total - weights - overhead,
        kv_per_token_per_gpu=kv_bytes_per_token(arch, kv_cache_dtype, tp=tp, pp=pp),
        kv_per_sequence=kv_bytes_for_tokens(arch, max_model_len, kv_cache_dtype, tp=tp, pp=pp),
    )


def tokens_that_fit(b: Budget, max_model_len: int) -> int:
    """Tokens the KV cache holds when every sequence is max_model_len long (vLLM's 'GPU KV cache size')."""
    if b.kv_available <= 0 or b.kv_per_sequence <= 0:
        return 0
    return int(b.kv_available * max_model_len // b.kv_per_sequence)


def longest_context(arch: ModelArch, b: Budget, kv_cache_dtype: str, tp: int, pp: int, sequences: int, cap: int) -> int:
    """The longest max_model_len (a multiple of 256, at most cap) whose KV for `sequences` sequences fits b."""
    if b.kv_available <= 0:
        return 0
    lo, hi = 0, cap // 256
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if sequences * kv_bytes_for_tokens(arch, mid * 256, kv_cache_dtype, tp=tp, pp=pp) <= b.kv_available:
            lo = mid
        else:
            hi = mid - 1
    return lo * 256


def default_kv_cache_dtype(arch: ModelArch, served: ServedWeights, gpu: Gpu) -> tuple[str, str]:
    """(dtype, why): FP8 KV where the GPU has FP8 and the checkpoint is FP8/MXFP4-quantized already."""
    if not gpu.supports_fp8:
        return "auto", f"KV cache in bf16: {gpu.product} has no FP8"
    if arch.is_mla:
        return "auto", "KV cache in bf16: the MLA latent is already compressed (576 values per token per layer)"
    if arch.attention_sinks:
        return "auto", "KV cache in bf16: attention-sink models are served with a bf16 KV cache on ROCm"
    if served.kv_cache_dtype_hint:
        hint = served.kv_cache_dtype_hint
        return hint, f"KV cache in {hint}: {served.checkpoint} ships KV scales"
    if served.precision in ("fp8", "mxfp4"):
        return "fp8", "KV cache in fp8: halves KV bytes; the weights are already quantized"
    return "auto", "KV cache in bf16 (pass --kv-cache-dtype fp8 to double the tokens that fit)"


def check_kv_dtype(kv_cache_dtype: str, gpu: Gpu) -> None:
    if kv_cache_dtype not in ("auto", "bf16", "fp16", "fp8", "fp8_e4m3", "fp8_e5m2"):
        raise UsageError(f"kv_cache_dtype {kv_cache_dtype!r} is not one of: auto, bf16, fp16, fp8")
    if kv_cache_dtype.startswith("fp8") and not gpu.supports_fp8:
        raise UsageError(f"kv_cache_dtype {kv_cache_dtype} needs FP8; {gpu.product} ({gpu.gfx}) has none: use auto")


def _positive(name: str, value, kind=int) -> None:
    ok = isinstance(value, kind) and not isinstance(value, bool) and value > 0
    if not ok:
        raise UsageError(f"{name} must be a positive {'integer' if kind is int else 'number'}, got {value!r}")


def recipe_only_fit(model: CatalogModel, precision: str, tp: int, pp: int, max_model_len: int | None,
                    max_num_seqs: int | None, gpu_memory_utilization: float | None):
    """A Fit for a recipe profile of a recipe-only model: the experts' shape is taken as published; only the
    context is checked (against the model's published context length)."""
    weights = estimated_weight_bytes(model, precision)
    limit = model.context_length
    length = max_model_len or limit or 0
    base = dict(tensor_parallel_size=tp, pipeline_parallel_size=pp, max_model_len=length,
                max_num_seqs=max_num_seqs or DEFAULT_MAX_NUM_SEQS,
                gpu_memory_utilization=float(gpu_memory_utilization or DEFAULT_GPU_MEMORY_UTILIZATION),
                precision=precision, checkpoint=model.checkpoints.get(precision, model.id),
                weights_bytes=weights, checkpoint_bytes=weights)
    if limit and length > limit:
        return Fit(False, f"max_model_len {length} exceeds the model's published context length {limit}", **base)
    reason = (f"recipe-only model, memory not checked by aimgen ({model.recipe_only}); the expert shape is used as "
              f"published, weights about {weights / GIB:.0f} GiB")
    return Fit(True, reason, reasons=(reason,), **base)


def fit_check(model: CatalogModel, gpu: Gpu, precision: str, tp: int, pp: int = 1,
              max_model_len: int | None = None, max_num_seqs: int | None = None,
              gpu_memory_utilization: float | None = None, *, kv_cache_dtype: str | None = None,
              max_num_batched_tokens: int | None = None, min_sequences: int = 1, dp: int = 1) -> Fit:
    """Whether `model` at `precision` fits TP x PP GPUs of type `gpu`, with the arithmetic. Never raises for a
    shape that does not fit (fits=False with the reason); raises InvalidInput for a broken model config."""
    _positive("tensor_parallel_size", tp)
    _positive("pipeline_parallel_size", pp)
    if model.recipe_only:
        return recipe_only_fit(model, precision, tp, pp, max_model_len, max_num_seqs, gpu_memory_utilization)
    arch = arch_from_config(model.config)
    gmu = DEFAULT_GPU_MEMORY_UTILIZATION if gpu_memory_utilization is None else gpu_memory_utilization
    if isinstance(gmu, bool) or not isinstance(gmu, (int, float)) or not 0 < gmu <= 1:
        raise UsageError(f"gpu_memory_utilization must be in (0, 1], got {gpu_memory_utilization!r}")
    gmu = float(gmu)
    length = max_model_len or min(arch.max_position_embeddings, DEFAULT_MAX_MODEL_LEN)
    _positive("max_model_len", length)
    seqs = max_num_seqs or DEFAULT_MAX_NUM_SEQS
    _positive("max_num_seqs", seqs)
    batched = max(max_num_batched_tokens or DEFAULT_BATCHED_TOKENS, seqs)
    base = dict(tensor_parallel_size=tp, pipeline_parallel_size=pp, max_model_len=length, max_num_seqs=seqs,
                gpu_memory_utilization=gmu, precision=precision)
    try:
        served = resolve_weights(model, arch, precision, gpu)
    except AimgenError as exc:
        return Fit(False, exc.message, **base)
    if kv_cache_dtype is None:
        kv_dtype, _ = default_kv_cache_dtype(arch, served, gpu)
    else:
        check_kv_dtype(kv_cache_dtype, gpu)
        kv_dtype = kv_cache_dtype
    base.update(checkpoint=served.checkpoint, weight_format=served.format.label, kv_cache_dtype=kv_dtype,
                weights_bytes=weight_bytes(arch, served.format),
                checkpoint_bytes=disk_bytes(model, arch, served))
    blockers = tp_blockers(arch, tp, served)
    if pp > arch.num_layers:
        blockers.append(f"PP{pp} exceeds the {arch.num_layers} layers")
    if length > arch.max_position_embeddings:
        blockers.append(f"max_model_len {length} exceeds the model's max_position_embeddings "
                        f"{arch.max_position_embeddings}")
    if blockers:
        return Fit(False, "; ".join(blockers), **base)
    b = budget(arch, served, gpu, tp, pp, max_model_len=length, max_num_seqs=seqs, batched_tokens=batched,
               gpu_memory_utilization=gmu, kv_cache_dtype=kv_dtype, dp=dp)
    tokens = tokens_that_fit(b, length)
    needed = min_sequences * b.kv_per_sequence
    numbers = dict(
        weights_bytes_per_gpu=b.weights_per_gpu, overhead_bytes_per_gpu=b.overhead, budget_bytes_per_gpu=b.budget,
        kv_cache_bytes_per_gpu=max(0, b.kv_available), kv_cache_bytes_per_token=kv_bytes_per_token(arch, kv_dtype),
        kv_cache_bytes_per_token_per_gpu=b.kv_per_token_per_gpu, kv_cache_tokens=tokens,
        full_length_sequences=round(tokens / length, 2),
    )
    where = f"TP{tp}" + (f" x PP{pp}" if pp > 1 else "") + (f" x DP{dp}" if dp > 1 else "") + f" on {gpu.product}"
    arithmetic = (f"{gib(b.weights_per_gpu)} weights + {gib(b.overhead)} overhead per GPU of "
                  f"{gmu:.2f} x {gpu.vram_gib} GiB = {gib(b.budget)}")
    if b.kv_available <= 0:
        reason = f"{where}: weights and overhead alone exceed the budget ({arithmetic})"
        return Fit(False, reason, **base, **numbers)
    if b.kv_available < needed:
        reason = (f"{where}: {gib(b.kv_available)} left for KV holds {tokens:,} tokens, less than "
                  f"{min_sequences} x max_model_len {length:,} ({arithmetic})")
        return Fit(False, reason, **base, **numbers)
    reason = (f"{where}: fits; {gib(b.kv_available)} KV per GPU holds {tokens:,} tokens = "
              f"{tokens / length:.1f} sequences of {length:,} ({arithmetic})")
    return Fit(True, reason, reasons=served.notes, **base, **numbers)
