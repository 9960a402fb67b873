"""Plan a deployment from a model's architecture when no recipe profile applies: the smallest tensor-parallel
shape that fits (aimgen.planning.search), the engine settings for the metric, the ROCm environment, and the
reasons in an engineer's words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from aimgen.catalog.gpus import Gpu
from aimgen.catalog.models import CatalogModel
from aimgen.catalog.nodepool import NodePool
from aimgen.constants import PLANNED_BACKENDS
from aimgen.errors import NoFeasiblePlan, UsageError
from aimgen.planning.arch import ModelArch, arch_from_config
from aimgen.planning.engine import engine_args, rocm_env
from aimgen.planning.fit import (
    COMM_BYTES,
    DEFAULT_GPU_MEMORY_UTILIZATION,
    DEFAULT_MAX_MODEL_LEN,
    GRAPH_BYTES,
    RUNTIME_BYTES,
    Budget,
    Fit,
    activation_bytes,
    budget,
    check_kv_dtype,
    default_kv_cache_dtype,
    fit_check,
    gib,
    tokens_that_fit,
    tp_blockers,
)
from aimgen.planning.formats import kv_bytes_per_element
from aimgen.planning.recipe_only import refuse_planning
from aimgen.planning.moe import moe_parallelism
from aimgen.parallel import Parallelism, or_plain
from aimgen.planning.memory import active_param_count, kv_bytes_per_token, param_count, weight_bytes
from aimgen.planning.search import (
    BATCHED_TOKENS,
    MAX_NUM_SEQS_CAP,
    MIN_SEQUENCES,
    Search,
    Target,
    search,
    smaller_replica,
)
from aimgen.planning.weights import ServedWeights, disk_bytes, native_precision, resolve_weights

__all__ = ["Plan", "plan", "fit_check", "Fit"]

METRICS = ("latency", "throughput")
# A resident sequence holds this many KV tokens on average (prompt + output of typical chat/RAG traffic);
# max_num_seqs is the KV cache divided by it, within the metric's cap.
AVG_TOKENS_PER_SEQ = 2048


@dataclass(frozen=True)
class Plan:
    model: str
    checkpoint: str  # repo vLLM loads (a pre-quantized checkpoint when the precision has one)
    gpu: str
    precision: str
    backend: str
    metric: str
    tensor_parallel_size: int
    pipeline_parallel_size: int
    nodes: int
    max_model_len: int
    max_num_seqs: int
    max_num_batched_tokens: int
    dtype: str  # engine dtype flag value
    kv_cache_dtype: str  # auto | fp8
    gpu_memory_utilization: float
    weights_bytes: int  # whole replica in GPU memory
    checkpoint_bytes: int  # checkpoint on disk: size caches and startup probes by this
    weights_bytes_per_gpu: int
    overhead_bytes_per_gpu: int
    kv_cache_bytes_per_gpu: int
    kv_cache_bytes_per_token: int  # whole model, all layers
    kv_cache_bytes_per_token_per_gpu: int
    kv_cache_tokens: int  # tokens that fit when every sequence is max_model_len long
    params: int
    params_active: int
    weight_format: str
    args: dict[str, object] = field(hash=False)  # engine flags, names without leading dashes
    env: dict[str, str] = field(hash=False)
    reasons: tuple[str, ...] = ()
    replica_alternative: str | None = None
    parallelism: Parallelism | None = None  # the whole split (DP/EP included); None only in hand-built plans

    @property
    def shape(self) -> Parallelism:
        return or_plain(self.parallelism, self.tensor_parallel_size, self.pipeline_parallel_size, self.nodes)

    @property
    def gpus(self) -> int:
        return self.shape.world_size

    @property
    def engine_args(self) -> dict[str, object]:
        return self.args

    def as_dict(self) -> dict:
        """Stable keys for `aimgen explain --json`."""
        return {
            "model": self.model,
            "checkpoint": self.checkpoint,
            "gpu": self.gpu,
            "gpus": self.gpus,
            "precision": self.precision,
            "backend": self.backend,
            "metric": self.metric,
            "tensor_parallel_size": self.tensor_parallel_size,
            "pipeline_parallel_size": self.pipeline_parallel_size,
            "nodes": self.nodes,
            "max_model_len": self.max_model_len,
            "max_num_seqs": self.max_num_seqs,
            "max_num_batched_tokens": self.max_num_batched_tokens,
            "dtype": self.dtype,
            "kv_cache_dtype": self.kv_cache_dtype,
            "gpu_memory_utilization": self.gpu_memory_utilization,
            "weights_bytes": self.weights_bytes,
            "checkpoint_bytes": self.checkpoint_bytes,
            "weights_bytes_per_gpu": self.weights_bytes_per_gpu,
            "overhead_bytes_per_gpu": self.overhead_bytes_per_gpu,
            "kv_cache_bytes_per_gpu": self.kv_cache_bytes_per_gpu,
            "kv_cache_bytes_per_token": self.kv_cache_bytes_per_token,
            "kv_cache_bytes_per_token_per_gpu": self.kv_cache_bytes_per_token_per_gpu,
            "kv_cache_tokens": self.kv_cache_tokens,
            "params": self.params,
            "params_active": self.params_active,
            "weight_format": self.weight_format,
            "engine_args": dict(self.args),
            "engine_env": dict(self.env),
            "reasons": list(self.reasons),
            "replica_alternative": self.replica_alternative,
            "parallelism": self.shape.as_dict(),
        }


def _check_args(pool: NodePool, metric: str, backend: str, gpus: int | None, max_model_len: int | None,
                gmu: float | None) -> None:
    if metric not in METRICS:
        raise UsageError(f"metric {metric!r} is not one of: {', '.join(METRICS)}")
    if backend not in PLANNED_BACKENDS:
        raise UsageError(f"backend {backend!r} is not one the planner sizes: {', '.join(PLANNED_BACKENDS)}")
    for name, value in (("gpus", gpus), ("max_model_len", max_model_len)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise UsageError(f"--{name.replace('_', '-')} must be a positive integer, got {value!r}")
    if gmu is not None and not (isinstance(gmu, (int, float)) and not isinstance(gmu, bool) and 0 < gmu <= 1):
        raise UsageError(f"gpu_memory_utilization must be in (0, 1], got {gmu!r}")
    if gpus is not None and gpus > pool.total_gpus:
        raise NoFeasiblePlan(f"--gpus {gpus} exceeds the pool {pool.name!r} ({pool.nodes} node(s) x "
                             f"{pool.gpus_per_node} {pool.gpu.product}); ask for at most {pool.total_gpus} "
                             "or a larger pool")


def _context(arch: ModelArch, asked: int | None) -> tuple[int, str | None]:
    """The context to plan for, and why when it is not what was asked."""
    max_pos = arch.max_position_embeddings
    if asked is not None and asked > max_pos:
        return max_pos, f"max_model_len {asked:,} → {max_pos:,}: the model's max_position_embeddings"
    if asked is not None:
        return asked, None
    length = min(max_pos, DEFAULT_MAX_MODEL_LEN)
    if length < max_pos:
        return length, (f"max_model_len {length:,} by default (the model allows {max_pos:,}; ask for more with "
                        "--max-model-len)")
    return length, None


def _round_seqs(n: int) -> int:
    return n if n < 16 else n - n % 8


def _engine_dtype(arch: ModelArch, served: ServedWeights) -> tuple[str, str | None]:
    """The --dtype value: activations in the checkpoint's 16-bit type (quantized checkpoints included)."""
    if served.precision == "fp16" or (arch.dtype == "fp16" and served.precision != "bf16"):
        return "float16", None
    if arch.dtype == "fp32":
        return "bfloat16", "dtype bfloat16: the checkpoint is float32; serving in fp32 would double weight memory"
    return "bfloat16", None


def _kv_formula(arch: ModelArch, kv_dtype: str) -> str:
    elem = kv_bytes_per_element(arch, kv_dtype)
    if arch.mla:
        text = (f"{arch.num_layers} layers x ({arch.mla.kv_lora_rank} + {arch.mla.qk_rope_head_dim}) x {elem} B "
                "(MLA latent, kept whole on every TP rank)")
    else:
        text = f"2 x {arch.num_layers} layers x {arch.num_kv_heads} KV heads x {arch.head_dim} x {elem} B"
    sliding = [w for w in arch.layer_windows if w is not None]
    if sliding:
        text += f"; {len(sliding)} sliding-window layers hold at most {max(sliding)} tokens each"
    return text


def plan(model: CatalogModel, pool: NodePool, *, precision: str | None = None, metric: str = "latency",
         backend: str = "vllm", gpus: int | None = None, max_model_len: int | None = None,
         kv_cache_dtype: str | None = None, gpu_memory_utilization: float | None = None,
         gpu_catalog: Iterable[Gpu] | None = None) -> Plan:
    """The smallest shape of `pool` that serves `model`, with engine settings for `metric`.

    Raises NoFeasiblePlan (exit 3) with what would work when nothing fits, UsageError for bad arguments and
    InvalidInput for a broken model config. gpu_catalog: GPUs to suggest instead (default: the GPU catalog)."""
    _check_args(pool, metric, backend, gpus, max_model_len, gpu_memory_utilization)
    refuse_planning(model)
    arch = arch_from_config(model.config)
    gpu = pool.gpu
    served = resolve_weights(model, arch, precision or native_precision(model, arch), gpu)
    if kv_cache_dtype is None:
        kv_dtype, kv_why = default_kv_cache_dtype(arch, served, gpu)
    else:
        check_kv_dtype(kv_cache_dtype, gpu)
        kv_dtype, kv_why = kv_cache_dtype, f"KV cache in {kv_cache_dtype} as asked"
    gmu = DEFAULT_GPU_MEMORY_UTILIZATION if gpu_memory_utilization is None else float(gpu_memory_utilization)
    target = Target(model, arch, served, gpu, metric, kv_dtype, gmu)
    length, length_why = _context(arch, max_model_len)
    found = search(target, pool, length, gpus=gpus, explicit_length=max_model_len is not None, gpu_catalog=gpu_catalog)
    length = found.max_model_len
    shape, chosen, moe_why = moe_parallelism(target, pool, found, backend)
    tp, pp, dp = chosen.tp, chosen.pp, chosen.dp

    cap = MAX_NUM_SEQS_CAP[metric]
    resident = tokens_that_fit(chosen.budget, length) // min(length, AVG_TOKENS_PER_SEQ)
    max_num_seqs = _round_seqs(max(1, min(cap, resident)))
    batched = max(BATCHED_TOKENS[metric], max_num_seqs)
    final = budget(arch, served, gpu, tp, pp, max_model_len=length, max_num_seqs=max_num_seqs, batched_tokens=batched,
                   gpu_memory_utilization=gmu, kv_cache_dtype=kv_dtype, dp=dp)
    tokens = tokens_that_fit(final, length)
    dtype, dtype_why = _engine_dtype(arch, served)
    env, env_why = rocm_env(gpu, backend, tp, served)
    weights = weight_bytes(arch, served.format)

    reasons = [_headline(model, arch),
               f"weights: {served.format.label}: {gib(weights)} in all, {gib(final.weights_per_gpu)} on the most "
               f"loaded GPU at {chosen.label}"]
    reasons += [r for r in (length_why,) if r]
    reasons += _shape_reasons(target, pool, found, gpus)
    reasons += moe_why
    reasons += _budget_reasons(target, final, tp, pp * dp, length, tokens, batched, max_num_seqs)
    reasons += [kv_why, _scheduler_reason(metric, max_num_seqs, batched)]
    reasons += [r for r in (dtype_why,) if r]
    reasons += [*served.notes, *arch.notes, *env_why]

    return Plan(
        model=model.id,
        checkpoint=served.checkpoint,
        gpu=gpu.name,
        precision=served.precision,
        backend=backend,
        metric=metric,
        tensor_parallel_size=tp,
        pipeline_parallel_size=pp,
        nodes=shape.nodes,
        max_model_len=length,
        max_num_seqs=max_num_seqs,
        max_num_batched_tokens=batched,
        dtype=dtype,
        kv_cache_dtype=kv_dtype,
        gpu_memory_utilization=gmu,
        weights_bytes=weights,
        checkpoint_bytes=disk_bytes(model, arch, served),
        weights_bytes_per_gpu=final.weights_per_gpu,
        overhead_bytes_per_gpu=final.overhead,
        kv_cache_bytes_per_gpu=max(0, final.kv_available),
        kv_cache_bytes_per_token=kv_bytes_per_token(arch, kv_dtype),
        kv_cache_bytes_per_token_per_gpu=final.kv_per_token_per_gpu,
        kv_cache_tokens=tokens,
        params=param_count(arch),
        params_active=active_param_count(arch),
        weight_format=served.format.label,
        args=engine_args(backend, tp=tp, pp=pp, max_model_len=length, max_num_seqs=max_num_seqs,
                         max_num_batched_tokens=batched, dtype=dtype, kv_cache_dtype=kv_dtype,
                         gpu_memory_utilization=gmu, served=served, trust_remote_code=model.trust_remote_code,
                         shape=shape),
        env=env,
        reasons=tuple(reasons),
        replica_alternative=_replica_alternative(target, pool, found, gpus) if shape.data == 1 else None,
        parallelism=shape,
    )


def _headline(model: CatalogModel, arch: ModelArch) -> str:
    text = f"{model.id}: {arch.describe()}; {param_count(arch) / 1e9:.1f}B parameters"
    return text + (f", {active_param_count(arch) / 1e9:.1f}B active per token" if arch.is_moe else "")


def _shape_reasons(t: Target, pool: NodePool, found: Search, gpus: int | None) -> list[str]:
    chosen = found.chosen
    out: list[str] = []
    if found.shrunk_from:
        out.append(f"max_model_len {found.shrunk_from:,} → {found.max_model_len:,}: after weights, {chosen.label} "
                   f"leaves KV room for {MIN_SEQUENCES[t.metric]} x {found.max_model_len:,} tokens only")
    if gpus is not None:
        out.append(f"{chosen.label} as asked (--gpus {gpus})")
        if chosen.pp > 1:
            out.append(f"TP{chosen.tp} inside each node, pipeline parallel {chosen.pp} across nodes (needs a "
                       "multi-node launcher and a fast inter-node network)")
    else:
        for c in found.tried:
            if (c.tp, c.pp) == (chosen.tp, chosen.pp):
                break
            b = c.budget
            out.append(f"{c.label} rejected: {gib(b.weights_per_gpu)} weights + {gib(b.overhead)} overhead leave "
                       f"{gib(max(0, b.kv_available))} for KV, {gib(c.needed)} needed for "
                       f"{MIN_SEQUENCES[t.metric]} full-length sequence(s)")
        below = [(tp, why) for tp, why in found.skipped if tp < chosen.tp]
        if below:
            out.append(f"{', '.join(f'TP{tp}' for tp, _ in below)} skipped: vLLM cannot shard the model that way "
                       f"({below[0][1]})")
        out.append(f"{chosen.label} is the smallest shape that fits")
        if chosen.pp > 1:
            out.append(f"one {pool.gpus_per_node}-GPU node is too small: {chosen.pp} nodes, TP{chosen.tp} inside each "
                       f"node and pipeline parallel {chosen.pp} across nodes (needs a multi-node launcher and a fast "
                       "inter-node network)")
    if t.metric == "latency" and chosen.pp == 1 and chosen.tp * 2 <= pool.gpus_per_node:
        wider = chosen.tp * 2
        if not tp_blockers(t.arch, wider, t.served):
            out.append(f"for lower per-token latency, TP{wider} halves the weight bytes each GPU reads per token "
                       f"(--gpus {wider})")
    return out


def _budget_reasons(t: Target, b: Budget, tp: int, pp: int, length: int, tokens: int, batched: int,
                    max_num_seqs: int) -> list[str]:
    act = activation_bytes(t.arch, tp, batched, max_num_seqs)
    comm = f", all-reduce buffers {gib(COMM_BYTES)}" if tp * pp > 1 else ""
    return [
        f"per GPU: {t.gpu_memory_utilization:.2f} x {t.gpu.vram_gib} GiB = {gib(b.budget)}; overhead "
        f"{gib(b.overhead)} (runtime {gib(RUNTIME_BYTES)}, HIP graphs {gib(GRAPH_BYTES)}{comm}, activations for "
        f"{batched:,} batched tokens and {max_num_seqs} sequences {gib(act)})",
        f"KV cache: {kv_bytes_per_token(t.arch, t.kv_dtype):,} B/token ({_kv_formula(t.arch, t.kv_dtype)}); "
        f"{gib(b.kv_available)} per GPU holds {tokens:,} tokens = {tokens / length:.1f} sequences of {length:,}",
    ]


def _scheduler_reason(metric: str, max_num_seqs: int, batched: int) -> str:
    if metric == "latency":
        return f"latency: max_num_seqs {max_num_seqs} and {batched:,}-token prefill chunks keep each step short"
    return (f"throughput: max_num_seqs {max_num_seqs} (KV tokens / {AVG_TOKENS_PER_SEQ} per resident sequence, "
            f"cap {MAX_NUM_SEQS_CAP[metric]}) and {batched:,}-token steps")


def _replica_alternative(t: Target, pool: NodePool, found: Search, gpus: int | None) -> str | None:
    chosen = found.chosen
    if t.metric != "throughput" or chosen.pp > 1:
        return None
    if gpus is not None:
        smallest = smaller_replica(t, chosen, gpus, found.max_model_len)
        if smallest:
            return (f"{gpus // smallest} replicas of TP{smallest} instead of one TP{chosen.tp}: same GPUs, no "
                    "all-reduce between them, usually more tokens/s in total")
        return None
    per_node = pool.gpus_per_node // chosen.tp
    return f"{per_node} replicas of TP{chosen.tp} fill one {pool.gpus_per_node}-GPU node" if per_node > 1 else None
