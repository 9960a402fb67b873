"""Weight, KV-cache and overhead arithmetic, checked against hand-computed figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aimgen.catalog.models import load_models
from aimgen.errors import InvalidInput
from aimgen.planning.arch import arch_from_config, quantization_from_config
from aimgen.planning.formats import kv_bytes_per_element, sixteen_bit, weight_format
from aimgen.planning.memory import (
    active_param_count,
    kv_bytes_for_tokens,
    kv_bytes_per_token,
    layer_params,
    param_count,
    pp_partitions,
    weight_bytes,
    weight_bytes_per_gpu,
)

FIXTURES = Path(__file__).parent / "fixtures" / "planning"
GIB = 1024**3


def arch(model_id: str):
    return arch_from_config(load_models()[model_id].config)


def fixture(name: str):
    return arch_from_config(json.loads((FIXTURES / f"{name}.config.json").read_text()))


def test_llama_8b_by_hand():
    a = arch("meta-llama/Llama-3.1-8B-Instruct")
    per_layer = 2 * 4096 * 4096 + 2 * 4096 * 1024 + 3 * 4096 * 14336 + 2 * 4096
    assert param_count(a) == 32 * per_layer + 2 * 128256 * 4096 + 4096
    assert weight_bytes(a, sixteen_bit()) == 2 * param_count(a)
    assert kv_bytes_per_token(a, "bf16") == 2 * 32 * 8 * 128 * 2 == 131072
    assert kv_bytes_per_token(a, "fp8") == 65536


def test_kv_per_gpu_splits_kv_heads_then_replicates():
    a = arch("Qwen/Qwen3-235B-A22B")  # 4 KV heads
    full = kv_bytes_per_token(a, "bf16")
    assert kv_bytes_per_token(a, "bf16", tp=2) == full // 2
    assert kv_bytes_per_token(a, "bf16", tp=4) == full // 4
    assert kv_bytes_per_token(a, "bf16", tp=8) == full // 4  # one head per GPU, replicated beyond 4


def test_mla_latent_is_not_split_by_tp():
    a = arch("deepseek-ai/DeepSeek-V3")
    assert kv_bytes_per_token(a, "bf16") == 61 * (512 + 64) * 2 == 70272
    assert kv_bytes_per_token(a, "bf16", tp=8) == 70272


def test_sliding_window_layers_hold_their_window():
    a = arch("openai/gpt-oss-20b")  # 12 sliding (128) + 12 full layers, 8 KV heads x 64
    per_layer = 2 * 8 * 64 * 2
    assert kv_bytes_for_tokens(a, 100, "bf16") == 24 * 100 * per_layer
    assert kv_bytes_for_tokens(a, 10_000, "bf16") == (12 * 10_000 + 12 * 128) * per_layer
    assert kv_bytes_per_token(a, "bf16") == 24 * per_layer == 49152


def test_gemma_style_pattern_from_a_nested_text_config():
    a = fixture("gemma-3-27b-it")
    assert a.layer_windows.count(None) == 62 // 6 and a.tie_word_embeddings
    assert a.layer_windows[5] is None and a.layer_windows[0] == 1024


def test_pipeline_partitions_follow_vllm():
    assert pp_partitions(61, 2) == (31, 30)
    assert pp_partitions(126, 4) == (31, 32, 32, 31)
    assert pp_partitions(80, 1) == (80,)
    assert sum(pp_partitions(94, 3)) == 94


def test_per_gpu_weights():
    a = arch("meta-llama/Llama-3.1-70B-Instruct")
    fmt = sixteen_bit()
    total = weight_bytes(a, fmt)
    assert abs(weight_bytes_per_gpu(a, fmt, 1) - total) <= 1
    assert abs(weight_bytes_per_gpu(a, fmt, 8) * 8 / total - 1) < 0.01  # KV projections split evenly at TP8
    assert weight_bytes_per_gpu(a, fmt, 8, 2) < weight_bytes_per_gpu(a, fmt, 8) * 0.55


def test_kv_projection_replication_costs_memory():
    a = arch("Qwen/Qwen3-235B-A22B")  # 4 KV heads: at TP8 each k/v shard is duplicated on two GPUs
    fmt = sixteen_bit()
    kv_proj = sum(layer_params(a, i).attn_kv for i in range(a.num_layers))
    replicated = sum(layer_params(a, i).small for i in range(a.num_layers)) + a.hidden_size  # norms, routers
    extra = weight_bytes_per_gpu(a, fmt, 8) * 8 - weight_bytes(a, fmt)
    assert extra == pytest.approx(2 * kv_proj + 7 * 2 * replicated, rel=0.001)


def test_formats():
    llama = arch("meta-llama/Llama-3.1-8B-Instruct")
    assert weight_format(llama, "mxfp4").bits == 4.25
    assert weight_format(llama, "mxfp4").scope == "linear"
    assert weight_format(arch("openai/gpt-oss-20b"), "mxfp4").scope == "mlp"
    assert weight_format(llama, "int4").bits == pytest.approx(4 + 20 / 128)
    block_fp8 = quantization_from_config({"quant_method": "fp8", "weight_block_size": [128, 128]})
    block = weight_format(llama, "fp8", block_fp8)
    assert block.block == (128, 128) and block.bits == pytest.approx(8 + 32 / 16384)
    assert kv_bytes_per_element(llama, "auto") == 2 and kv_bytes_per_element(llama, "fp8") == 1


def test_quantized_weights_keep_embeddings_in_bf16():
    a = arch("meta-llama/Llama-3.1-8B-Instruct")
    embeddings = 2 * 128256 * 4096
    fp8 = weight_bytes(a, weight_format(a, "fp8"))
    linear = param_count(a) - embeddings - 32 * 2 * 4096 - 4096
    assert fp8 == pytest.approx(linear + 2 * embeddings + 2 * (32 * 2 * 4096 + 4096), abs=2)


def test_gpt_oss_native_mxfp4_size():
    """~65 GB as computed in the shared facts: 114.6B expert weights at 4.25 bits, the rest bf16."""
    a = arch("openai/gpt-oss-120b")
    size = weight_bytes(a, weight_format(a, "mxfp4", a.quantization))
    assert size == pytest.approx(65e9, rel=0.03)
    experts = sum(layer_params(a, i).experts for i in range(a.num_layers))
    assert experts == pytest.approx(114.6e9, rel=0.01)


def test_active_params_count_top_k_and_skip_the_input_embedding():
    a = arch("mistralai/Mixtral-8x7B-Instruct-v0.1")
    p = layer_params(a, 0)
    expected = 32 * (p.attn + p.attn_kv + p.experts * 2 // 8 + p.small) + 32000 * 4096 + 4096
    assert active_param_count(a) == expected


def test_mla_without_q_lora_and_shared_experts():
    a = fixture("deepseek-v2-lite")
    assert a.mla.q_lora_rank == 0 and a.moe.shared_intermediate_size == 2 * 1408
    assert a.moe_layers[0] is False and all(a.moe_layers[1:])
    assert param_count(a) == pytest.approx(15.7e9, rel=0.01)  # DeepSeek-V2-Lite: 15.7B total


@pytest.mark.parametrize("qc, precision, extra", [
    ({"quant_method": "fp8", "weight_block_size": [128, 128]}, "fp8", {"weight_block_size": (128, 128)}),
    ({"quant_method": "fp8"}, "fp8", {"weight_block_size": None}),
    ({"quant_method": "awq", "bits": 4, "group_size": 128}, "int4", {"group_size": 128}),
    ({"quant_method": "gptq", "bits": 8, "group_size": -1}, "int8", {"group_size": None}),
    ({"quant_method": "mxfp4", "modules_to_not_convert": ["model.layers.*.self_attn"]}, "mxfp4", {"scope": "mlp"}),
    ({"quant_method": "compressed-tensors", "config_groups": {"g": {"weights": {"num_bits": 8, "type": "float"}}}},
     "fp8", {}),
    ({"quant_method": "compressed-tensors",
      "config_groups": {"g": {"weights": {"num_bits": 4, "type": "int", "group_size": 128}}}},
     "int4", {"group_size": 128}),
    ({"quant_method": "quark", "global_quant_config": {"weight": {"dtype": "fp8_e4m3"}}}, "fp8", {}),
    ({"quant_method": "quark", "global_quant_config": {"weight": {"dtype": "fp4", "group_size": 32}}}, "mxfp4",
     {"group_size": 32}),
])
def test_quantization_configs(qc, precision, extra):
    q = quantization_from_config(qc)
    assert q.precision == precision
    for key, value in extra.items():
        assert getattr(q, key) == value


@pytest.mark.parametrize("qc", [
    {"quant_method": "bitsandbytes", "load_in_4bit": True},
    {"quant_method": "compressed-tensors",
     "config_groups": {"g": {"weights": {"num_bits": 4, "type": "float", "group_size": 16}}}},
    {"quant_method": "awq", "bits": 3},
    {"quant_method": "fp8", "weight_block_size": [128]},
    {"bits": 4},
    "fp8",
])
def test_unsupported_quantization_is_invalid_input(qc):
    with pytest.raises(InvalidInput) as exc:
        quantization_from_config(qc)
    assert "quantization_config" in exc.value.line()
