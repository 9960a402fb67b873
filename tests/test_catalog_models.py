"""The model catalog against the shared facts: shapes, parameter counts, checkpoint sizes, KV bytes per token.

Anchored twice: to the catalog's own `published` figures, and to ../shared/amd/models.yaml read directly, so a
drift in either the catalog or the arithmetic shows up here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from aimgen import paths
from aimgen.catalog.models import find_model, load_models
from aimgen.planning.arch import arch_from_config
from aimgen.planning.formats import sixteen_bit, weight_format
from aimgen.planning.memory import active_param_count, checkpoint_bytes, kv_bytes_per_token, param_count

GIB = 1024**3
ALL_MODELS = load_models()
# Recipe-only models carry no config.json shape: tests/test_recipe_only.py holds them to their published facts.
MODELS = {k: m for k, m in ALL_MODELS.items() if not m.recipe_only}
CATALOG_IDS = sorted(MODELS)
SHARED_MODELS = Path(paths.shared_dir()) / "amd" / "models.yaml"
SHARED_REFS = Path(paths.shared_dir()) / "amd" / "reference-configs.yaml"
RAW_CATALOG = [m for m in yaml.safe_load((paths.recipes_dir() / "catalog" / "models.yaml").read_text())["models"]
               if "recipe_only" not in m]

PARAMS_TOLERANCE = 0.01
ACTIVE_TOLERANCE = 0.03  # "active" conventions differ by vendor (embedding lookup counted or not)
CHECKPOINT_TOLERANCE = 0.03
# Shared figures that are the size in the model's name, not a count: the catalog carries the model card's count.
NAME_LEVEL_PARAMS = {"Qwen/Qwen3-32B", "openai/gpt-oss-120b"}
# Models whose config.json ../shared/amd/models.yaml does not cover: transcribed from a public copy of the Hub's
# config.json, cited in their sources, and held to their published parameter counts (test_param_count_matches_published).
TRANSCRIBED = {"Qwen/Qwen3-Coder-480B-A35B-Instruct", "meta-llama/Llama-3.2-1B-Instruct",
               "meta-llama/Llama-3.2-3B-Instruct", "mistralai/Mixtral-8x22B-Instruct-v0.1"}
SHARED_DIR_PRESENT = SHARED_MODELS.is_file()


def _shared() -> list[dict]:
    return yaml.safe_load(SHARED_MODELS.read_text()) if SHARED_DIR_PRESENT else []


def _shared_id(entry: dict) -> str:
    # "deepseek-ai/DeepSeek-R1 (and -0528)" names a repo and a note.
    return entry["model"].split(" ", 1)[0]


def _number(value) -> float | None:
    """The leading number of a shared fact: 8, '8B', '~46.7B (computed from config)', '40960 (Qwen3...)'."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        return None
    match = re.match(r"\s*~?\s*([0-9]+(?:\.[0-9]+)?)", value)
    return float(match.group(1)) if match else None


def _billions(value) -> float | None:
    n = _number(value)
    return None if n is None else n * 1e9


def _arch(model_id: str):
    return arch_from_config(MODELS[model_id].config)


def _shared_by_id() -> dict[str, dict]:
    return {_shared_id(e): e for e in _shared()}


def test_catalog_has_every_shared_model(shared_dir):
    missing = [_shared_id(e) for e in _shared() if find_model(_shared_id(e)) is None]
    assert len(_shared()) >= 13
    assert not missing, f"shared models missing from recipes/catalog/models.yaml: {missing}"


@pytest.mark.parametrize("model_id", CATALOG_IDS)
def test_param_count_matches_published(model_id):
    published = MODELS[model_id].published
    count = param_count(_arch(model_id))
    assert abs(count / published["params"] - 1) <= PARAMS_TOLERANCE, (count, published["params"])
    if "params_active" in published:
        active = active_param_count(_arch(model_id))
        assert abs(active / published["params_active"] - 1) <= ACTIVE_TOLERANCE, (active, published["params_active"])


@pytest.mark.parametrize("model_id", CATALOG_IDS)
def test_checkpoint_bytes_match_published(model_id):
    model = MODELS[model_id]
    published = model.published
    if "checkpoint_gib" not in published:
        assert model.native_precision in ("bf16", "mxfp4")  # Qwen3 and gpt-oss publish no shard sizes
        return
    arch = _arch(model_id)
    precision = published["checkpoint_precision"]
    fmt = sixteen_bit(precision) if precision in ("bf16", "fp16") else weight_format(arch, precision, arch.quantization)
    size = checkpoint_bytes(arch, fmt) / GIB
    assert abs(size / published["checkpoint_gib"] - 1) <= CHECKPOINT_TOLERANCE, (size, published["checkpoint_gib"])


@pytest.mark.parametrize("model_id", sorted(TRANSCRIBED))
def test_transcribed_models_cite_their_config_json(model_id, shared_dir):
    assert model_id in MODELS, f"{model_id} is recipe-only again: drop it from TRANSCRIBED"
    assert _shared_entry(model_id) is None, f"{model_id} is in {SHARED_MODELS} now: check it there instead"
    family = model_id.removesuffix("-Instruct")
    assert any(re.search(rf"https://huggingface\.co/{re.escape(family)}(-Instruct)?/blob/main/config\.json", s)
               for s in _raw_sources(model_id)), model_id


def _raw_sources(model_id: str) -> list[str]:
    return next(m["sources"] for m in RAW_CATALOG if m["id"] == model_id)


def _shared_entry(model_id: str) -> dict | None:
    facts = _shared_by_id()
    base = model_id.removesuffix("-Instruct-2507").removesuffix("-Thinking-2507").removesuffix("-0528")
    return facts.get(model_id) or facts.get(base)


@pytest.mark.parametrize("model_id", sorted(set(CATALOG_IDS) - TRANSCRIBED))
def test_against_shared_facts(model_id, shared_dir):
    """Every figure the shared file states for this model, checked against the catalog config and the arithmetic."""
    base = model_id.removesuffix("-Instruct-2507").removesuffix("-Thinking-2507").removesuffix("-0528")
    entry = _shared_entry(model_id)
    assert entry is not None, f"{model_id} has no entry (or base entry) in {SHARED_MODELS}"
    arch, config = _arch(model_id), MODELS[model_id].config

    for key in ("num_hidden_layers", "hidden_size", "num_attention_heads", "vocab_size"):
        assert config[key] == _number(entry[key]), key
    if isinstance(entry.get("num_key_value_heads"), int):
        assert config["num_key_value_heads"] == entry["num_key_value_heads"]
    if isinstance(entry.get("head_dim"), int):
        assert arch.head_dim == entry["head_dim"]
    if model_id == base:  # the 2507 variants extend the context (stated in the same entry's text)
        assert arch.max_position_embeddings == _number(entry["max_position_embeddings"])
    if entry.get("intermediate_size") is not None:
        assert config["intermediate_size"] == _number(entry["intermediate_size"])
    moe = entry.get("moe") or {}
    if moe:
        assert arch.moe is not None
        experts = moe.get("num_experts") or moe.get("num_local_experts") or moe.get("n_routed_experts")
        assert arch.moe.num_experts == experts
        assert arch.moe.experts_per_token == moe["experts_per_token"]
        if "moe_intermediate_size" in moe:
            assert arch.moe.expert_intermediate_size == moe["moe_intermediate_size"]
        assert arch.moe.shared_intermediate_size == (moe.get("n_shared_experts") or moe.get("shared_experts") or 0) * \
            arch.moe.expert_intermediate_size
        if "first_k_dense_replace" in moe:
            assert arch.moe_layers.count(False) == moe["first_k_dense_replace"]
    for key, value in (entry.get("mla") or {}).items():
        assert getattr(arch.mla, key) == value, key

    kv = _number(entry.get("kv_cache_bytes_per_token_bf16_computed"))
    if kv is not None and "=" in str(entry["kv_cache_bytes_per_token_bf16_computed"]):
        kv = _number(str(entry["kv_cache_bytes_per_token_bf16_computed"]).split("=")[-1])
    assert kv_bytes_per_token(arch, "bf16") == kv

    count = param_count(arch)
    stated = _billions(entry["params_total"])
    if model_id in NAME_LEVEL_PARAMS:
        assert str(entry["params_total"]).lower() in model_id.lower(), "a name-level figure repeats the model's name"
        assert abs(stated / count - 1) <= 0.05
        assert abs(MODELS[model_id].published["params"] / count - 1) <= PARAMS_TOLERANCE
    else:
        assert abs(count / stated - 1) <= PARAMS_TOLERANCE, (count, entry["params_total"])
    if entry.get("params_active"):
        assert abs(active_param_count(arch) / _billions(entry["params_active"]) - 1) <= ACTIVE_TOLERANCE

    sizes = entry.get("checkpoint_size") or {}
    if "bf16_GiB" in sizes:
        bf16 = checkpoint_bytes(arch, sixteen_bit()) / GIB
        assert abs(bf16 / sizes["bf16_GiB"] - 1) <= CHECKPOINT_TOLERANCE, (bf16, sizes["bf16_GiB"])
    if "fp8_native_GiB" in sizes:
        fp8 = checkpoint_bytes(arch, weight_format(arch, "fp8", arch.quantization)) / GIB
        assert abs(fp8 / sizes["fp8_native_GiB"] - 1) <= CHECKPOINT_TOLERANCE, (fp8, sizes["fp8_native_GiB"])


def test_name_level_exceptions_are_exactly_those(shared_dir):
    """A new shared entry whose count disagrees with the arithmetic must be looked at, not silently excused."""
    off = set()
    for entry in _shared():
        model = find_model(_shared_id(entry))
        stated = _billions(entry["params_total"])
        if abs(param_count(arch_from_config(model.config)) / stated - 1) > PARAMS_TOLERANCE:
            off.add(model.id)
    assert off == NAME_LEVEL_PARAMS


def test_checkpoints_come_from_reference_configs(shared_dir):
    # expert reference records, the weights an AMD AIM profile serves (model_id) or a vLLM recipe's variant names
    aim = shared_dir / "upstream-configs" / "aim-build" / "profiles"
    vllm_recipes = shared_dir / "upstream-configs" / "vllm-recipes" / "models"
    text = SHARED_REFS.read_text()
    records = yaml.safe_load(text)
    text += "".join(f.read_text() for f in sorted(aim.glob("*/*/*.yaml")))
    text += "".join(f.read_text() for f in sorted(vllm_recipes.glob("*/*.yaml")))
    for model in MODELS.values():
        # A record may name the FP8 sibling in passing: "bf16 (also -FP8)".
        siblings = {f"{r['model']}-FP8" for r in records if "-FP8" in str(r.get("precision"))}
        for precision, repo in model.checkpoints.items():
            assert repo in text or repo in siblings, \
                f"{model.id} {precision} checkpoint {repo} is used by no reference config or AIM profile"


@pytest.mark.parametrize("entry", RAW_CATALOG, ids=[m["id"] for m in RAW_CATALOG])
def test_every_checkpoint_says_how_it_is_quantized(entry):
    assert set(entry.get("checkpoints", {})) == set(entry.get("checkpoint_quantization", {}))
    assert entry["sources"] and all(isinstance(s, str) and s.strip() for s in entry["sources"])
    assert entry.get("trust_remote_code", False) is False


def test_native_precisions_follow_quantization_configs():
    for model in MODELS.values():
        arch = arch_from_config(model.config)
        expected = arch.quantization.precision if arch.quantization else "bf16"
        assert model.native_precision == expected, model.id


def test_deepseek_quantization_is_block_fp8():
    arch = _arch("deepseek-ai/DeepSeek-V3")
    assert arch.quantization.weight_block_size == (128, 128)
    assert arch.mtp_layers == 1
    gpt_oss = _arch("openai/gpt-oss-120b")
    assert gpt_oss.quantization.precision == "mxfp4" and gpt_oss.quantization.scope == "mlp"
    assert gpt_oss.layer_windows.count(128) == 18 and gpt_oss.layer_windows.count(None) == 18
