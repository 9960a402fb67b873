"""`aimgen recipes audit`: our recipes against InferenceX's AMD matrix, vLLM's recipes and AMD AIM's profiles.
The shipped recipes leave no divergence unexplained, and the audit does notice a recipe drifting from its source."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from aimgen.catalog.models import load_models
from aimgen.recipes.audit import audit
from aimgen.recipes.load import load_all_profiles


@pytest.fixture(scope="module")
def upstream(shared_dir):
    return shared_dir / "upstream-configs"


def test_every_divergence_in_the_shipped_recipes_is_explained(cli):
    code, out, err = cli("recipes", "audit", "--json")
    found = json.loads(out)
    assert code == 0, err
    assert found and all(d["explained"] and d["why"] for d in found)
    # every source is compared, and the built-in limit (disaggregated runs) is reported, not hidden
    assert {d["source"] for d in found} == {"inferencex", "vllm-recipes", "aim-build"}
    assert any(d["code"] == "not-served:disagg" for d in found)
    # every single-node ATOM launch has an ATOM profile (runtime atom-rocm): none is left unserved
    assert not [d for d in found if d["code"].startswith("not-served") and "-atom" in d["message"] and "disagg" not in d["message"]]


def _with(model: str, gpu: str, change) -> list:
    out = []
    for p in load_all_profiles():
        out.append(change(p) if p.model == model and p.gpu == gpu and p.backend == "vllm" and p.metric == "latency" else p)
    return out


@pytest.mark.parametrize("change, code", [
    (lambda p: replace(p, args={k: v for k, v in p.args.items() if k != "moe-backend"}), "flag:moe-backend"),
    (lambda p: replace(p, env={**p.env, "VLLM_ROCM_USE_AITER": "0"}), "env:VLLM_ROCM_USE_AITER"),
    (lambda p: replace(p, args={**p.args, "max-model-len": 2_000_000}), "max-context"),
])
def test_a_drifting_profile_is_reported_unexplained(upstream, change, code):
    found = audit(_with("zai-org/GLM-5.2", "mi355x", change), load_models(), upstream, {})
    hits = [d for d in found if d.model == "zai-org/GLM-5.2" and d.gpu == "mi355x" and d.code == code]
    assert hits and not hits[0].explained and hits[0].upstream == "vllm-recipes/models/zai-org/GLM-5.2.yaml"


def test_inferencex_shapes_are_compared(upstream):
    # serve Qwen3.5's MI355X SGLang FP8 point on 8 GPUs instead of InferenceX's TP4
    moved = [replace(p, gpus=8) if p.model == "Qwen/Qwen3.5-397B-A17B" and p.gpu == "mi355x" and p.backend == "sglang"
             and p.precision == "fp8" else p for p in load_all_profiles()]
    found = audit(moved, load_models(), upstream, {})
    assert any(d.code == "tp" and d.source == "inferencex" and d.model == "Qwen/Qwen3.5-397B-A17B" for d in found)


def test_a_recipe_note_explains_a_divergence(upstream):
    notes = {"openai/gpt-oss-20b": [{"source": "aim-build", "code": "not-served", "gpu": "mi250x", "why": "no MXFP4 on gfx90a here"}]}
    found = audit(load_all_profiles(), load_models(), upstream, notes)
    d = next(d for d in found if d.model == "openai/gpt-oss-20b" and d.gpu == "mi250x")
    assert d.why == "no MXFP4 on gfx90a here"
    bare = next(d for d in audit(load_all_profiles(), load_models(), upstream, {}) if d.model == "openai/gpt-oss-20b" and d.gpu == "mi250x")
    assert not bare.explained


def test_audit_fails_without_the_upstream_configs(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("AIM_SHARED_DIR", str(tmp_path))
    code, out, err = cli("recipes", "audit")
    assert code == 4 and "upstream-configs" in err
