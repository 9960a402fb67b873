"""Property tests: any valid config.json plans or fails with one AimgenError line; broken ones are InvalidInput."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aimgen.catalog.gpus import load_gpus
from aimgen.catalog.models import CatalogModel
from aimgen.catalog.nodepool import NodePool
from aimgen.errors import AimgenError, InvalidInput, NoFeasiblePlan, UsageError
from aimgen.planning import arch_from_config, fit_check, plan
from aimgen.planning.memory import kv_bytes_for_tokens, param_count, weight_bytes
from aimgen.planning.formats import sixteen_bit

GPUS = load_gpus()
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REQUIRED = ("num_hidden_layers", "hidden_size", "num_attention_heads", "vocab_size", "max_position_embeddings")


@st.composite
def configs(draw) -> dict:
    layers = draw(st.integers(1, 96))
    heads = draw(st.sampled_from([1, 2, 4, 8, 16, 28, 32, 40, 48, 64, 96, 128]))
    kv = draw(st.sampled_from([d for d in range(1, heads + 1) if heads % d == 0]))
    head_dim = draw(st.sampled_from([32, 64, 80, 128, 256]))
    cfg: dict = {
        "model_type": draw(st.sampled_from(["llama", "qwen2", "qwen3", "mistral", "custom"])),
        "num_hidden_layers": layers,
        "hidden_size": draw(st.sampled_from([heads * head_dim, 64 * draw(st.integers(1, 256))])),
        "num_attention_heads": heads,
        "num_key_value_heads": kv,
        "head_dim": head_dim,
        "intermediate_size": 64 * draw(st.integers(1, 1024)),
        "vocab_size": draw(st.integers(256, 262144)),
        "max_position_embeddings": draw(st.sampled_from([2048, 4096, 8192, 32768, 40960, 131072, 1048576])),
        "tie_word_embeddings": draw(st.booleans()),
        "torch_dtype": draw(st.sampled_from(["bfloat16", "float16", "float32"])),
    }
    if draw(st.booleans()):
        experts = draw(st.integers(2, 256))
        key = draw(st.sampled_from(["num_local_experts", "num_experts", "n_routed_experts"]))
        cfg[key] = experts
        cfg["num_experts_per_tok"] = draw(st.integers(1, min(8, experts)))
        cfg["moe_intermediate_size"] = 64 * draw(st.integers(1, 64))
        cfg["n_shared_experts"] = draw(st.integers(0, 2))
        cfg["first_k_dense_replace"] = draw(st.integers(0, layers))
    if draw(st.booleans()):
        cfg.update(kv_lora_rank=draw(st.sampled_from([128, 256, 512])),
                   q_lora_rank=draw(st.sampled_from([None, 768, 1536])),
                   qk_rope_head_dim=64, qk_nope_head_dim=128, v_head_dim=128)
    window = draw(st.sampled_from([None, 128, 1024, 4096]))
    if window:
        cfg["sliding_window"] = window
        cfg["layer_types"] = draw(st.lists(st.sampled_from(["sliding_attention", "full_attention"]),
                                           min_size=layers, max_size=layers))
    quant = draw(st.sampled_from([None, None, None, "fp8", "fp8-block", "awq", "mxfp4"]))
    if quant == "fp8":
        cfg["quantization_config"] = {"quant_method": "fp8"}
    elif quant == "fp8-block":
        cfg["quantization_config"] = {"quant_method": "fp8", "weight_block_size": [128, 128]}
    elif quant == "awq":
        cfg["quantization_config"] = {"quant_method": "awq", "bits": 4, "group_size": 128}
    elif quant == "mxfp4":
        cfg["quantization_config"] = {"quant_method": "mxfp4", "modules_to_not_convert": ["model.layers.*.self_attn"]}
    return cfg


def _model(cfg: dict) -> CatalogModel:
    return CatalogModel(id="example/random", config=cfg, in_catalog=False)


pools = st.builds(
    lambda gpu, per_node, nodes: NodePool(name="p", gpu=GPUS[gpu], gpus_per_node=per_node, nodes=nodes),
    st.sampled_from(sorted(GPUS)), st.sampled_from([1, 2, 4, 8]), st.integers(1, 4),
)


@SETTINGS
@given(cfg=configs(), pool=pools, metric=st.sampled_from(["latency", "throughput"]),
       precision=st.sampled_from([None, None, None, "bf16", "fp16", "fp8", "int4", "mxfp4"]),
       gpus=st.sampled_from([None, None, 1, 2, 4, 8, 16]), backend=st.sampled_from(["vllm", "sglang"]))
def test_valid_configs_plan_or_fail_cleanly(cfg, pool, metric, precision, gpus, backend):
    try:
        p = plan(_model(cfg), pool, precision=precision, metric=metric, gpus=gpus, backend=backend)
    except (NoFeasiblePlan, UsageError) as exc:
        assert exc.message and "\n" not in exc.line()
        return
    arch = arch_from_config(cfg)
    shape = p.shape
    # The world size is what the pod group gets: nodes x GPUs per node, every node alike.
    assert p.gpus == shape.world_size == shape.nodes * shape.gpus_per_node <= pool.total_gpus
    assert shape.problems() == [] and shape.gpus_per_node <= pool.gpus_per_node and p.nodes == shape.nodes <= pool.nodes
    assert p.tensor_parallel_size <= pool.gpus_per_node
    assert shape.data == 1 or (arch.is_moe and backend == "vllm")
    assert arch.num_heads % p.tensor_parallel_size == 0
    assert 1 <= p.max_model_len <= arch.max_position_embeddings
    assert p.kv_cache_tokens >= p.max_model_len
    assert p.weights_bytes_per_gpu + p.overhead_bytes_per_gpu + p.kv_cache_bytes_per_gpu <= \
        p.gpu_memory_utilization * pool.gpu.vram_bytes + 1
    assert 1 <= p.max_num_seqs <= p.max_num_batched_tokens
    assert p.as_dict()["tensor_parallel_size"] == p.tensor_parallel_size


@SETTINGS
@given(cfg=configs(), gpu=st.sampled_from(sorted(GPUS)), tp=st.integers(1, 16), pp=st.integers(1, 4),
       precision=st.sampled_from(["bf16", "fp8", "int4", "mxfp4"]),
       length=st.one_of(st.none(), st.integers(1, 2_000_000)))
def test_fit_check_never_raises_for_a_valid_config(cfg, gpu, tp, pp, precision, length):
    fit = fit_check(_model(cfg), GPUS[gpu], precision, tp, pp, max_model_len=length)
    assert isinstance(fit.fits, bool) and fit.reason
    if fit.fits:
        assert fit.kv_cache_tokens >= fit.max_model_len


@SETTINGS
@given(cfg=configs())
def test_arithmetic_is_monotone(cfg):
    arch = arch_from_config(cfg)
    assert param_count(arch) > 0
    assert weight_bytes(arch, sixteen_bit()) >= 2 * param_count(arch) - 8
    short, long = kv_bytes_for_tokens(arch, 1000, "bf16"), kv_bytes_for_tokens(arch, 2000, "bf16")
    assert 0 < short <= long <= 2 * short


BAD_VALUES = [-1, 0, "12", None, 1.5, True, [], {}]


@SETTINGS
@given(cfg=configs(), key=st.sampled_from(REQUIRED), bad=st.sampled_from(BAD_VALUES + ["<delete>"]))
def test_broken_required_keys_are_invalid_input(cfg, key, bad):
    broken = dict(cfg)
    if bad == "<delete>":
        broken.pop(key)
    else:
        broken[key] = bad
    with pytest.raises(InvalidInput) as exc:
        plan(_model(broken), NodePool(name="p", gpu=GPUS["mi300x"], gpus_per_node=8))
    assert key in exc.value.line()


@SETTINGS
@given(cfg=configs(), mutation=st.sampled_from([
    ("num_key_value_heads", 7), ("layer_types", ["full_attention"]), ("torch_dtype", "int8"),
    ("quantization_config", {"quant_method": "bitsandbytes"}), ("quantization_config", "fp8"),
    ("num_experts_per_tok", 10_000), ("mlp_only_layers", "all"), ("tie_word_embeddings", "yes"),
    ("sliding_window", -3), ("architectures", "LlamaForCausalLM"),
]))
def test_inconsistent_configs_are_invalid_input(cfg, mutation):
    key, value = mutation
    broken = {**cfg, key: value}
    if key == "num_key_value_heads" and (cfg["num_attention_heads"] % 7 == 0 or cfg.get("kv_lora_rank")):
        broken["num_attention_heads"] = 8 * cfg["num_attention_heads"] + 1 if not cfg.get("kv_lora_rank") else 1
        if cfg.get("kv_lora_rank"):
            return  # MLA configs ignore num_key_value_heads
    is_moe = any(k in cfg for k in ("num_local_experts", "num_experts", "n_routed_experts"))
    if key == "num_experts_per_tok" and not is_moe:
        broken["num_experts"] = 4
    if key == "mlp_only_layers" and not is_moe:
        broken["num_experts"], broken["num_experts_per_tok"] = 4, 2
    if key == "layer_types" and cfg["num_hidden_layers"] == 1:
        broken[key] = ["full_attention", "full_attention"]
    with pytest.raises(InvalidInput):
        arch_from_config(broken)


JUNK_KEYS = REQUIRED + ("num_key_value_heads", "head_dim", "layer_types", "quantization_config", "text_config",
                        "num_experts", "intermediate_size", "kv_lora_rank")
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**7), st.floats(allow_nan=False), st.text(max_size=8))
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)


@SETTINGS
@given(junk=st.dictionaries(st.sampled_from(JUNK_KEYS), JSON_VALUES))
def test_junk_configs_never_crash(junk):
    try:
        arch = arch_from_config(junk)
    except AimgenError:
        return
    assert arch.num_layers >= 1 and math.isfinite(param_count(arch))
