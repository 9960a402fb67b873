"""Parameter counts, weight bytes and KV-cache bytes from a ModelArch: pure arithmetic, no policy.

Every layer is split into parameter groups by how tensor parallelism treats them and whether quantization
touches them (vLLM's layout):
  attn      q/o projections (MLA: q_b or q_proj, kv_b, o): sharded by TP, quantizable
  attn_kv   k/v projections (GQA): sharded across min(TP, KV heads); replicated beyond that
  attn_rep  MLA q_a/kv_a down-projections: replicated on every TP rank, quantizable
  mlp       dense gated MLP: sharded, quantizable
  experts   routed experts: sharded (TP or EP, same bytes per GPU), quantizable
  shared    shared experts: sharded, quantizable
  small     norms, biases, router, sinks: replicated, kept 16-bit
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aimgen.planning.arch import ModelArch
from aimgen.planning.formats import WeightFormat, kv_bytes_per_element

QUANTIZED_GROUPS = {
    "none": frozenset(),
    "linear": frozenset({"attn", "attn_kv", "attn_rep", "mlp", "experts", "shared"}),
    "mlp": frozenset({"mlp", "experts", "shared"}),
}
GROUPS = ("attn", "attn_kv", "attn_rep", "mlp", "experts", "shared", "small")


@dataclass(frozen=True)
class LayerParams:
    attn: int = 0
    attn_kv: int = 0
    attn_rep: int = 0
    mlp: int = 0
    experts: int = 0
    shared: int = 0
    small: int = 0

    @property
    def total(self) -> int:
        return sum(getattr(self, g) for g in GROUPS)


def _attention(arch: ModelArch) -> tuple[int, int, int, int]:
    """(attn, attn_kv, attn_rep, small) parameters of one attention block."""
    h = arch.hidden_size
    if arch.mla:
        m, n = arch.mla, arch.num_heads
        q_head = m.qk_nope_head_dim + m.qk_rope_head_dim
        if m.q_lora_rank:
            q_rep, q_sharded, q_norm = h * m.q_lora_rank, m.q_lora_rank * n * q_head, m.q_lora_rank
        else:
            q_rep, q_sharded, q_norm = 0, h * n * q_head, 0
        kv_rep = h * (m.kv_lora_rank + m.qk_rope_head_dim)
        kv_b = m.kv_lora_rank * n * (m.qk_nope_head_dim + m.v_head_dim)
        o = n * m.v_head_dim * h
        return q_sharded + kv_b + o, 0, q_rep + kv_rep, q_norm + m.kv_lora_rank
    q_dim, kv_dim = arch.num_heads * arch.head_dim, arch.num_kv_heads * arch.head_dim
    small = 0
    if arch.qkv_bias:
        small += q_dim + 2 * kv_dim
    if arch.o_bias:
        small += h
    if arch.qk_norm:
        small += 2 * arch.head_dim
    if arch.attention_sinks:
        small += arch.num_heads
    return 2 * h * q_dim, 2 * h * kv_dim, 0, small


def _gated_mlp(hidden: int, width: int) -> int:
    return 3 * hidden * width


def layer_params(arch: ModelArch, index: int) -> LayerParams:
    return _kind_params(arch, bool(arch.moe_layers[index]) if arch.moe_layers else False)


def _kinds(arch: ModelArch, start: int = 0, stop: int | None = None) -> tuple[tuple[bool, int], ...]:
    """(is_moe, count) for layers [start, stop): every layer of a kind has the same parameters."""
    flags = arch.moe_layers[start:stop] if arch.moe_layers else ()
    count = (stop if stop is not None else arch.num_layers) - start
    moe = sum(flags)
    return tuple((kind, n) for kind, n in ((True, moe), (False, count - moe)) if n)


def _kind_params(arch: ModelArch, is_moe: bool) -> LayerParams:
    attn, attn_kv, attn_rep, small = _attention(arch)
    h = arch.hidden_size
    small += 2 * h  # input and post-attention norms
    moe = arch.moe
    if moe is None or not is_moe:
        mlp = _gated_mlp(h, arch.intermediate_size)
        if arch.mlp_bias:
            small += 2 * arch.intermediate_size + h
        return LayerParams(attn, attn_kv, attn_rep, mlp=mlp, small=small)
    experts = moe.num_experts * _gated_mlp(h, moe.expert_intermediate_size)
    small += h * moe.num_experts  # router
    if moe.router_bias or moe.score_correction_bias:
        small += moe.num_experts
    if moe.expert_bias:
        small += moe.num_experts * (2 * moe.expert_intermediate_size + h)
    shared = _gated_mlp(h, moe.shared_intermediate_size) if moe.shared_intermediate_size else 0
    if moe.shared_expert_gate:
        small += h
    return LayerParams(attn, attn_kv, attn_rep, experts=experts, shared=shared, small=small)


def embedding_params(arch: ModelArch) -> int:
    return arch.vocab_size * arch.hidden_size


def lm_head_params(arch: ModelArch) -> int:
    return 0 if arch.tie_word_embeddings else arch.vocab_size * arch.hidden_size


def param_count(arch: ModelArch) -> int:
    """Parameters vLLM loads to serve the model (multi-token-prediction layers excluded)."""
    layers = sum(n * _kind_params(arch, kind).total for kind, n in _kinds(arch))
    return layers + embedding_params(arch) + lm_head_params(arch) + arch.hidden_size


def active_param_count(arch: ModelArch) -> int:
    """Parameters one token passes through: routed experts count top-k of n, and the input embedding table is a
    lookup, not compute (the convention of OpenAI's gpt-oss card; the output projection counts)."""
    total = arch.vocab_size * arch.hidden_size + arch.hidden_size
    for kind, n in _kinds(arch):
        p = _kind_params(arch, kind)
        experts = p.experts
        if arch.moe and experts:
            experts = experts * arch.moe.experts_per_token // arch.moe.num_experts
        total += n * (p.attn + p.attn_kv + p.attn_rep + p.mlp + experts + p.shared + p.small)
    return total


def _bytes(params: float, group: str, fmt: WeightFormat) -> float:
    bits = fmt.bits if group in QUANTIZED_GROUPS[fmt.scope] else 16
    return params * bits / 8


def layer_bytes(arch: ModelArch, index: int, fmt: WeightFormat, tp: int = 1) -> float:
    """Bytes of one layer on one GPU of a TP group."""
    return _kind_bytes(arch, layer_params(arch, index), fmt, tp)


def _layers_bytes(arch: ModelArch, fmt: WeightFormat, tp: int, start: int = 0, stop: int | None = None,
                  expert_shards: int | None = None) -> float:
    return sum(n * _kind_bytes(arch, _kind_params(arch, kind), fmt, tp, expert_shards)
               for kind, n in _kinds(arch, start, stop))


def _kind_bytes(arch: ModelArch, p: LayerParams, fmt: WeightFormat, tp: int, expert_shards: int | None = None) -> float:
    """expert_shards: GPUs the routed experts are spread over. TP alone splits them over the TP group; with data
    parallelism vLLM shards the MoE layers over TP x DP (its --data-parallel-size help) while attention, dense
    MLPs and shared experts are replicated in every DP rank."""
    kv_shards = min(tp, arch.num_kv_heads) if not arch.mla else tp
    experts_on = expert_shards or tp
    return (
        _bytes(p.attn / tp, "attn", fmt)
        + _bytes(p.attn_kv / kv_shards, "attn_kv", fmt)
        + _bytes(p.attn_rep, "attn_rep", fmt)
        + _bytes(p.mlp / tp, "mlp", fmt)
        + _bytes(p.experts / experts_on, "experts", fmt)
        + _bytes(p.shared / tp, "shared", fmt)
        + _bytes(p.small, "small", fmt)
    )


def weight_bytes(arch: ModelArch, fmt: WeightFormat) -> int:
    """Bytes of the weights vLLM loads (embeddings, lm_head and norms stay 16-bit in every format)."""
    layers = _layers_bytes(arch, fmt, 1)
    return math.ceil(layers + 2 * (embedding_params(arch) + lm_head_params(arch) + arch.hidden_size))


def mtp_bytes(arch: ModelArch, fmt: WeightFormat) -> int:
    """Bytes of the multi-token-prediction layers a checkpoint ships (DeepSeek-V3: one MoE layer, a 2h→h projection
    and its own copies of the embedding and output head). vLLM loads them only for speculative decoding."""
    if not arch.mtp_layers:
        return 0
    last = arch.num_layers - 1
    h = arch.hidden_size
    one = layer_bytes(arch, last, fmt) + _bytes(2 * h * h, "mlp", fmt) + 2 * (2 * arch.vocab_size * h + 3 * h)
    return math.ceil(arch.mtp_layers * one)


def checkpoint_bytes(arch: ModelArch, fmt: WeightFormat) -> int:
    """Bytes on disk of a checkpoint stored in fmt: what a cache volume must hold and a pod must read."""
    on_disk = weight_bytes(arch, fmt) + mtp_bytes(arch, fmt)
    # fp32 checkpoints are served in bf16 but stored at 4 bytes a parameter.
    return 2 * on_disk if arch.dtype == "fp32" and not fmt.quantized else on_disk


def pp_partitions(num_layers: int, pp: int) -> tuple[int, ...]:
    """Layers per pipeline stage, as vLLM's get_pp_indices splits them (extra layers go to the stages before the
    last, which also holds the final norm and the output head)."""
    parts = [num_layers // pp] * pp
    for i in range(2, num_layers % pp + 2):
        parts[-i] += 1
    return tuple(parts)


def weight_bytes_per_gpu(arch: ModelArch, fmt: WeightFormat, tp: int, pp: int = 1, dp: int = 1) -> int:
    """Bytes on the most loaded GPU of a TP x PP replica (of one DP rank when dp > 1: experts over TP x DP)."""
    embed = 2 * embedding_params(arch) / tp
    # With PP the last stage needs its own output head even when the checkpoint ties it to the embedding.
    head = 2 * (arch.vocab_size * arch.hidden_size if pp > 1 else lm_head_params(arch)) / tp
    heaviest, start = 0.0, 0
    parts = pp_partitions(arch.num_layers, pp)
    for stage, count in enumerate(parts):
        total = _layers_bytes(arch, fmt, tp, start, start + count, expert_shards=tp * dp)
        if stage == 0:
            total += embed
        if stage == len(parts) - 1:
            total += head + 2 * arch.hidden_size
        heaviest = max(heaviest, total)
        start += count
    return math.ceil(heaviest)


def _kv_layer_bytes(arch: ModelArch, kv_cache_dtype: str, tp: int) -> int:
    elem = kv_bytes_per_element(arch, kv_cache_dtype)
    if arch.mla:
        # The latent is shared by all heads, so every TP rank keeps the whole of it.
        return (arch.mla.kv_lora_rank + arch.mla.qk_rope_head_dim) * elem
    kv_heads = max(1, arch.num_kv_heads // tp)
    return 2 * kv_heads * arch.head_dim * elem


def kv_bytes_per_token(arch: ModelArch, kv_cache_dtype: str = "auto", *, tp: int = 1, pp: int = 1) -> int:
    """KV bytes one token adds across all layers (tp/pp: on the most loaded GPU), sliding windows ignored."""
    layers = max(pp_partitions(arch.num_layers, pp))
    return layers * _kv_layer_bytes(arch, kv_cache_dtype, tp)


def kv_bytes_for_tokens(arch: ModelArch, tokens: int, kv_cache_dtype: str = "auto", *, tp: int = 1, pp: int = 1) -> int:
    """KV bytes for one sequence of `tokens` tokens; sliding-window layers hold at most their window.
    With tp/pp: on the most loaded GPU of the replica."""
    per_layer = _kv_layer_bytes(arch, kv_cache_dtype, tp)
    worst, start = 0, 0
    for count in pp_partitions(arch.num_layers, pp):
        windows = arch.layer_windows[start:start + count] or (None,) * count
        held = sum(tokens if w is None else min(tokens, w) for w in windows)
        worst = max(worst, held * per_layer)
        start += count
    return worst
