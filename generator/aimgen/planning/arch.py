"""A model's shape as the planner needs it, read from a Hugging Face config.json.

Each family spells the same idea differently (num_local_experts / num_experts / n_routed_experts, ...); this module
is the one place that knows the spellings. Everything downstream reads ModelArch only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from aimgen.errors import InvalidInput

PRECISIONS_16 = ("bf16", "fp16")
_TORCH_DTYPES = {"bfloat16": "bf16", "float16": "fp16", "half": "fp16", "float32": "fp32", "float": "fp32"}
# config.json integers are int32 in the engines that read them; no released model has more than a few hundred
# layers, and the planner builds per-layer tables.
MAX_CONFIG_INT = 2**31 - 1
MAX_LAYERS = 10_000
# Families whose sliding_window (without layer_types) applies to every layer.
_ALL_LAYERS_SLIDING = ("mistral", "mixtral")
# Families whose q/k/v projections carry a bias even without attention_bias in the config.
_QKV_BIAS_FAMILIES = ("qwen2", "qwen2_moe")


@dataclass(frozen=True)
class MoE:
    num_experts: int
    experts_per_token: int
    expert_intermediate_size: int
    shared_intermediate_size: int = 0  # total width of the always-on shared expert(s)
    shared_expert_gate: bool = False  # Qwen2-MoE's sigmoid gate on the shared expert
    expert_bias: bool = False  # gpt-oss experts carry biases
    router_bias: bool = False
    score_correction_bias: bool = False  # DeepSeek-V3 e_score_correction_bias


@dataclass(frozen=True)
class MLA:
    """Multi-head latent attention (DeepSeek-V2/V3): the KV cache holds one compressed latent per token."""

    kv_lora_rank: int
    q_lora_rank: int  # 0 = queries are not low-rank
    qk_rope_head_dim: int
    qk_nope_head_dim: int
    v_head_dim: int


@dataclass(frozen=True)
class Quantization:
    """What the checkpoint's quantization_config says about its weights."""

    precision: str  # fp8 | int8 | int4 | mxfp4
    method: str  # quant_method as written
    weight_block_size: tuple[int, int] | None = None  # block FP8 (n, k)
    group_size: int | None = None  # int4/int8/mxfp4 groups along the input dimension
    scope: str | None = None  # "linear" (every decoder linear) | "mlp" (MLP and experts only) | None: by architecture


@dataclass(frozen=True)
class ModelArch:
    model_type: str
    architectures: tuple[str, ...]
    num_layers: int
    hidden_size: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    max_position_embeddings: int
    tie_word_embeddings: bool
    dtype: str  # bf16 | fp16 | fp32: the checkpoint's unquantized dtype
    qkv_bias: bool = False
    o_bias: bool = False
    mlp_bias: bool = False
    qk_norm: bool = False
    attention_sinks: bool = False
    moe: MoE | None = None
    moe_layers: tuple[bool, ...] = ()  # per layer: routed experts (True) or a dense MLP
    mla: MLA | None = None
    layer_windows: tuple[int | None, ...] = ()  # per layer: sliding window size, None = full attention
    quantization: Quantization | None = None
    mtp_layers: int = 0  # multi-token-prediction layers shipped in the checkpoint, not loaded for serving
    notes: tuple[str, ...] = ()

    @property
    def is_moe(self) -> bool:
        return self.moe is not None

    @property
    def is_mla(self) -> bool:
        return self.mla is not None

    @property
    def has_sliding_window(self) -> bool:
        return any(w is not None for w in self.layer_windows)

    @property
    def dense_intermediate_sizes(self) -> tuple[int, ...]:
        return tuple(self.intermediate_size for moe in self.moe_layers if not moe)

    def describe(self) -> str:
        parts = [f"{self.num_layers} layers", f"hidden {self.hidden_size}"]
        if self.mla:
            parts.append(f"MLA ({self.num_heads} heads, latent {self.mla.kv_lora_rank}+{self.mla.qk_rope_head_dim})")
        elif self.num_kv_heads == self.num_heads:
            parts.append(f"MHA {self.num_heads} heads x {self.head_dim}")
        else:
            parts.append(f"GQA {self.num_heads} heads / {self.num_kv_heads} KV heads x {self.head_dim}")
        if self.moe:
            shared = f" + shared {self.moe.shared_intermediate_size}" if self.moe.shared_intermediate_size else ""
            parts.append(f"MoE {self.moe.num_experts} experts top-{self.moe.experts_per_token} "
                         f"x {self.moe.expert_intermediate_size}{shared}")
        if self.has_sliding_window:
            sliding = sum(1 for w in self.layer_windows if w is not None)
            parts.append(f"{sliding}/{self.num_layers} layers sliding-window {max(w or 0 for w in self.layer_windows)}")
        return ", ".join(parts)


def _bad(key: str, message: str) -> InvalidInput:
    return InvalidInput(f"{key} {message}", path=f"config.{key}")


def _show(value: Any) -> str:
    """A config value as a message quotes it: short, one line (a hostile file may hold megabytes in one field)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(cfg: Mapping[str, Any], key: str, *, minimum: int = 1) -> int:
    if key not in cfg or cfg[key] is None:
        raise _bad(key, "is missing: the planner needs it to size the model")
    value = cfg[key]
    if not _is_int(value) or value < minimum:
        raise _bad(key, f"must be an integer >= {minimum}, got {_show(value)}")
    limit = MAX_LAYERS if key == "num_hidden_layers" else MAX_CONFIG_INT
    if value > limit:
        raise _bad(key, f"must be at most {limit:,}, got {_show(value)}")
    return value


def _opt_int(cfg: Mapping[str, Any], key: str, *, minimum: int = 1) -> int | None:
    if cfg.get(key) is None:
        return None
    return _int(cfg, key, minimum=minimum)


def _first_int(cfg: Mapping[str, Any], keys: tuple[str, ...], *, minimum: int = 1) -> int | None:
    for key in keys:
        value = _opt_int(cfg, key, minimum=minimum)
        if value is not None:
            return value
    return None


def _bool(cfg: Mapping[str, Any], key: str, default: bool = False) -> bool:
    value = cfg.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _bad(key, f"must be true or false, got {_show(value)}")
    return value


def flatten_config(config: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(config, Mapping):
        raise InvalidInput(f"a model config must be a JSON object, got {type(config).__name__}", path="config")
    cfg = dict(config)
    text = cfg.get("text_config")
    # Multimodal configs keep the language model under text_config; its keys win over the wrapper's.
    if isinstance(text, Mapping):
        cfg = {**cfg, **text}
    elif text is not None:
        raise _bad("text_config", f"must be an object (the language model's config.json fields), got "
                                  f"{type(text).__name__}")
    return cfg


def _dtype(cfg: Mapping[str, Any]) -> str:
    raw = cfg.get("torch_dtype", cfg.get("dtype")) or "bfloat16"
    if not isinstance(raw, str) or raw.removeprefix("torch.") not in _TORCH_DTYPES:
        key = "torch_dtype" if "torch_dtype" in cfg else "dtype"
        raise _bad(key, f"must be one of {', '.join(_TORCH_DTYPES)}, got {_show(raw)}")
    return _TORCH_DTYPES[raw.removeprefix("torch.")]


def _moe(cfg: Mapping[str, Any], model_type: str, num_layers: int) -> tuple[MoE | None, tuple[bool, ...]]:
    experts = _first_int(cfg, ("num_local_experts", "num_experts", "n_routed_experts"), minimum=0)
    if not experts or experts <= 1:
        return None, (False,) * num_layers
    top_k = _first_int(cfg, ("num_experts_per_tok", "experts_per_token", "moe_topk"))
    if top_k is None:
        raise _bad("num_experts_per_tok", "is missing: an MoE config must say how many experts each token uses")
    if top_k > experts:
        raise _bad("num_experts_per_tok", f"({top_k}) exceeds the number of experts ({experts})")
    width = _opt_int(cfg, "moe_intermediate_size") or _int(cfg, "intermediate_size")
    shared = 0
    n_shared = _opt_int(cfg, "n_shared_experts", minimum=0)
    if n_shared:
        shared = n_shared * width
    shared_width = _opt_int(cfg, "shared_expert_intermediate_size", minimum=0)
    if shared_width:
        shared = shared_width
    first_dense = _opt_int(cfg, "first_k_dense_replace", minimum=0) or 0
    freq = _opt_int(cfg, "moe_layer_freq") or 1
    step = _opt_int(cfg, "decoder_sparse_step") or 1
    dense_only = cfg.get("mlp_only_layers") or []
    if not isinstance(dense_only, list) or not all(_is_int(i) for i in dense_only):
        raise _bad("mlp_only_layers", f"must be a list of layer indices, got {_show(dense_only)}")
    layers = tuple(
        i >= first_dense and i % freq == 0 and (i + 1) % step == 0 and i not in dense_only
        for i in range(num_layers)
    )
    gpt_oss = model_type == "gpt_oss"
    moe = MoE(
        num_experts=experts,
        experts_per_token=top_k,
        expert_intermediate_size=width,
        shared_intermediate_size=shared,
        shared_expert_gate=bool(shared_width),
        expert_bias=gpt_oss,
        router_bias=gpt_oss,
        score_correction_bias=cfg.get("topk_method") == "noaux_tc",
    )
    return moe, layers


def _mla(cfg: Mapping[str, Any]) -> MLA | None:
    if cfg.get("kv_lora_rank") is None:
        return None
    return MLA(
        kv_lora_rank=_int(cfg, "kv_lora_rank"),
        q_lora_rank=_opt_int(cfg, "q_lora_rank") or 0,
        qk_rope_head_dim=_int(cfg, "qk_rope_head_dim"),
        qk_nope_head_dim=_int(cfg, "qk_nope_head_dim"),
        v_head_dim=_int(cfg, "v_head_dim"),
    )


def _windows(cfg: Mapping[str, Any], model_type: str, num_layers: int,
             max_len: int) -> tuple[tuple[int | None, ...], tuple[str, ...]]:
    """Per-layer sliding windows (None = full attention), and notes where the config leaves doubt."""
    window = _opt_int(cfg, "sliding_window")
    if window is not None and window >= max_len:
        window = None  # a window as long as the context is full attention
    layer_types = cfg.get("layer_types")
    notes: list[str] = []
    if layer_types is not None:
        if not isinstance(layer_types, list) or not all(isinstance(t, str) for t in layer_types):
            raise _bad("layer_types", f"must be a list of strings, got {_show(layer_types)}")
        if len(layer_types) != num_layers:
            raise _bad("layer_types", f"lists {len(layer_types)} layers but num_hidden_layers is {num_layers}")
        if "sliding_attention" in layer_types and _opt_int(cfg, "sliding_window") is None:
            raise _bad("sliding_window", "is missing but layer_types has sliding_attention layers")
        other = sorted({t for t in layer_types if t not in ("sliding_attention", "full_attention")})
        if other:
            notes.append(f"layer types {', '.join(other)} are sized as full attention (an upper bound)")
        return tuple(window if t == "sliding_attention" else None for t in layer_types), tuple(notes)
    if window is None or cfg.get("use_sliding_window") is False:
        return (None,) * num_layers, ()
    pattern = _opt_int(cfg, "sliding_window_pattern")
    if pattern:
        return tuple(None if (i + 1) % pattern == 0 else window for i in range(num_layers)), ()
    if model_type in _ALL_LAYERS_SLIDING or cfg.get("use_sliding_window") is True:
        return (window,) * num_layers, ()
    notes.append(f"sliding_window {window} without a layer pattern: every layer sized as full attention "
                 "(an upper bound)")
    return (None,) * num_layers, tuple(notes)


def _block(qc: Mapping[str, Any]) -> tuple[int, int] | None:
    block = qc.get("weight_block_size")
    if block is None:
        return None
    if not isinstance(block, list) or len(block) != 2 or not all(_is_int(b) and b > 0 for b in block):
        raise _bad("quantization_config.weight_block_size", f"must be two positive integers, got {_show(block)}")
    return (block[0], block[1])


def _group(qc: Mapping[str, Any], key: str = "group_size") -> int | None:
    value = qc.get(key)
    if value is None or value == -1:  # -1: one scale per output channel
        return None
    if not _is_int(value) or value <= 0:
        raise _bad(f"quantization_config.{key}", f"must be a positive integer or -1, got {_show(value)}")
    return value


def _bits_precision(bits: Any, key: str) -> str:
    if bits == 4:
        return "int4"
    if bits == 8:
        return "int8"
    raise _bad(key, f"must be 4 or 8 bits for the planner, got {_show(bits)}")


def _scope(qc: Mapping[str, Any]) -> str | None:
    skipped = qc.get("modules_to_not_convert") or qc.get("ignore") or qc.get("exclude") or []
    if isinstance(skipped, list) and any(isinstance(m, str) and "self_attn" in m for m in skipped):
        return "mlp"
    return None


def _compressed_tensors(qc: Mapping[str, Any]) -> Quantization:
    groups = qc.get("config_groups")
    if not isinstance(groups, Mapping) or not groups:
        raise _bad("quantization_config.config_groups",
                   "is missing: compressed-tensors configs list their schemes there")
    first = next(iter(groups.values()))
    weights = first.get("weights") if isinstance(first, Mapping) else None
    if not isinstance(weights, Mapping):
        raise _bad("quantization_config.config_groups", "has a group without a weights scheme")
    bits, kind = weights.get("num_bits"), weights.get("type")
    if kind == "float" and bits == 8:
        block = _block({"weight_block_size": weights.get("block_structure")})
        return Quantization("fp8", "compressed-tensors", weight_block_size=block, scope=_scope(qc))
    if kind == "float" and bits == 4:
        raise InvalidInput("quantization_config: NVFP4 (4-bit float, group 16) weights have no AMD Instinct kernels; "
                           "use an MXFP4, FP8 or BF16 checkpoint", path="config.quantization_config")
    if kind == "int":
        return Quantization(_bits_precision(bits, "quantization_config.num_bits"), "compressed-tensors",
                            group_size=_group(weights), scope=_scope(qc))
    raise _bad("quantization_config.config_groups", f"has an unsupported weight scheme {_show(kind)} x {_show(bits)} bits")


def _quark(qc: Mapping[str, Any]) -> Quantization:
    glob = qc.get("global_quant_config")
    weight = glob.get("weight") if isinstance(glob, Mapping) else None
    if isinstance(weight, list):  # some Quark exports list one spec per weight tensor
        weight = weight[0] if weight else None
    if not isinstance(weight, Mapping):
        raise _bad("quantization_config.global_quant_config", "must give a weight spec (dtype, group_size)")
    dtype = str(weight.get("dtype", "")).lower()
    scope = _scope(qc)
    if dtype.startswith("fp8"):
        return Quantization("fp8", "quark", scope=scope)
    if dtype in ("fp4", "mxfp4"):
        return Quantization("mxfp4", "quark", group_size=_group(weight) or 32, scope=scope)
    if dtype in ("int4", "uint4"):
        return Quantization("int4", "quark", group_size=_group(weight), scope=scope)
    if dtype in ("int8", "uint8"):
        return Quantization("int8", "quark", group_size=_group(weight), scope=scope)
    raise _bad("quantization_config.global_quant_config.weight.dtype", f"{_show(dtype)} is not fp8, fp4, int4 or int8")


_FP8_METHODS = ("fp8", "fbgemm_fp8", "ptpc_fp8", "modelopt", "fp8_per_tensor", "fp8_per_channel", "fp8_per_block")
_MXFP4_METHODS = ("mxfp4", "gpt_oss_mxfp4")
_INT_METHODS = ("awq", "gptq", "auto-round", "auto_round", "awq_marlin", "gptq_marlin", "moe_wna16")
SUPPORTED_QUANT_METHODS = _FP8_METHODS + _MXFP4_METHODS + _INT_METHODS + ("compressed-tensors", "quark")


def quantization_from_config(qc: Any) -> Quantization | None:
    """The weight format a quantization_config describes (None when there is none)."""
    if qc is None:
        return None
    if not isinstance(qc, Mapping):
        raise _bad("quantization_config", f"must be an object, got {_show(qc)}")
    method = qc.get("quant_method")
    if not isinstance(method, str):
        raise _bad("quantization_config.quant_method", f"is missing or not a string: {_show(method)}")
    method = method.lower()
    if method in _FP8_METHODS:
        if method == "modelopt" and "fp8" not in str(qc.get("quant_algo", "")).lower():
            raise InvalidInput(f"quantization_config: modelopt {_show(qc.get('quant_algo'))} weights have no AMD Instinct "
                               "kernels; use an FP8, MXFP4 or BF16 checkpoint", path="config.quantization_config")
        return Quantization("fp8", method, weight_block_size=_block(qc), scope=_scope(qc))
    if method in _MXFP4_METHODS:
        return Quantization("mxfp4", method, group_size=32, scope=_scope(qc))
    if method in _INT_METHODS:
        bits = qc.get("bits", qc.get("w_bit", 4))
        return Quantization(_bits_precision(bits, "quantization_config.bits"), method,
                            group_size=_group(qc, "group_size" if "group_size" in qc else "q_group_size"),
                            scope=_scope(qc))
    if method == "compressed-tensors":
        return _compressed_tensors(qc)
    if method == "quark":
        return _quark(qc)
    raise _bad("quantization_config.quant_method",
               f"{_show(method)} is not supported by the planner; supported: {', '.join(SUPPORTED_QUANT_METHODS)}")


def arch_from_config(config: Mapping[str, Any]) -> ModelArch:
    """Read the planner's view of a model from its config.json; InvalidInput names the key that is wrong."""
    cfg = flatten_config(config)
    model_type = cfg.get("model_type") or "unknown"
    if not isinstance(model_type, str):
        raise _bad("model_type", f"must be a string, got {_show(model_type)}")
    architectures = cfg.get("architectures") or []
    if not isinstance(architectures, list) or not all(isinstance(a, str) for a in architectures):
        raise _bad("architectures", f"must be a list of class names, got {_show(architectures)}")
    num_layers = _int(cfg, "num_hidden_layers")
    hidden = _int(cfg, "hidden_size")
    heads = _int(cfg, "num_attention_heads")
    vocab = _int(cfg, "vocab_size")
    max_len = _first_int(cfg, ("max_position_embeddings", "max_sequence_length", "seq_length", "n_positions"))
    if max_len is None:
        raise _bad("max_position_embeddings", "is missing: the planner needs the model's context length")
    mla = _mla(cfg)
    kv_heads = _opt_int(cfg, "num_key_value_heads") or heads
    if mla is None and (heads % kv_heads):
        raise _bad("num_key_value_heads", f"({kv_heads}) must divide num_attention_heads ({heads})")
    head_dim = _opt_int(cfg, "head_dim")
    if head_dim is None:
        if hidden % heads:
            raise _bad("head_dim", f"is missing and hidden_size {hidden} is not a multiple of {heads} heads")
        head_dim = hidden // heads
    moe, moe_layers = _moe(cfg, model_type, num_layers)
    intermediate = _opt_int(cfg, "intermediate_size")
    if intermediate is None:
        if moe is None or not all(moe_layers):
            raise _bad("intermediate_size", "is missing: the planner needs the MLP width")
        intermediate = moe.expert_intermediate_size
    windows, notes = _windows(cfg, model_type, num_layers, max_len)
    attention_bias = _bool(cfg, "attention_bias")
    mtp = _opt_int(cfg, "num_nextn_predict_layers", minimum=0) or 0
    return ModelArch(
        model_type=model_type,
        architectures=tuple(architectures),
        num_layers=num_layers,
        hidden_size=hidden,
        num_heads=heads,
        num_kv_heads=1 if mla else kv_heads,
        head_dim=head_dim,
        intermediate_size=intermediate,
        vocab_size=vocab,
        max_position_embeddings=max_len,
        tie_word_embeddings=_bool(cfg, "tie_word_embeddings"),
        dtype=_dtype(cfg),
        qkv_bias=attention_bias or model_type in _QKV_BIAS_FAMILIES,
        o_bias=attention_bias,
        mlp_bias=_bool(cfg, "mlp_bias"),
        qk_norm=model_type.startswith("qwen3") or _bool(cfg, "use_qk_norm"),
        attention_sinks=model_type == "gpt_oss",
        moe=moe,
        moe_layers=moe_layers,
        mla=mla,
        layer_windows=windows,
        quantization=quantization_from_config(cfg.get("quantization_config")),
        mtp_layers=mtp,
        notes=notes,
    )
