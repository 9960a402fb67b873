"""Recipe features (`render --feature tool-calling|reasoning|spec-decoding`): what the model's sources document,
checked against the pinned engine, added to the chosen profile, refused when the recipe does not document them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from aimgen.recipes.features import FEATURES, features_for
from aimgen.recipes.load import load_all_profiles
from aimgen.runtimes.flags import check_engine_config
from aimgen.runtimes.registry import runtime_for_backend

MODELS = sorted({p.model for p in load_all_profiles()})
DOCUMENTED = [(m, name) for m in MODELS for name in features_for(m)]


def test_the_recipes_document_every_feature_kind():
    assert {name for _, name in DOCUMENTED} == set(FEATURES)
    assert len(DOCUMENTED) >= 80


@pytest.mark.parametrize("model, name", DOCUMENTED, ids=[f"{m}:{n}" for m, n in DOCUMENTED])
def test_feature_args_exist_in_the_pinned_engine(model, name):
    feature = features_for(model)[name]
    for backend in feature.get("backends", ["vllm"]):
        errors = [f for f in check_engine_config(runtime_for_backend(backend), feature["args"], {}, file=model, path=name)
                  if f.level == "error"]
        assert not errors, errors[0].message


@pytest.mark.parametrize("model, gpu, name, flag", [
    ("Qwen/Qwen3.6-35B-A3B", "mi300x", "tool-calling", "--tool-call-parser=qwen3_coder"),
    ("deepseek-ai/DeepSeek-R1-0528", "mi355x", "reasoning", "--reasoning-parser=deepseek_r1"),
    ("deepseek-ai/DeepSeek-V4-Pro", "mi355x", "spec-decoding", "--speculative-config="),
])
def test_render_adds_the_feature_and_validates(cli, model, gpu, name, flag):
    code, out, err = cli("render", model, "--gpu", gpu, "--feature", name)
    assert code == 0, err
    assert flag in out
    code, out, err = cli("explain", model, "--gpu", gpu, "--feature", name)
    assert code == 0 and f"feature {name}:" in out


def test_an_undocumented_feature_is_refused_with_what_exists(cli):
    code, out, err = cli("render", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "mi300x", "--feature", "tool-calling")
    assert code == 3 and "documented: spec-decoding" in err and out == ""
    code, out, err = cli("render", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "mi300x", "--feature", "vision")
    assert code == 2 and "tool-calling" in err


def test_values_name_the_feature_and_the_table_profile(cli):
    """The table holds each profile's feature words (`aimgen chart sync`): values name the feature, no inline profile."""
    import yaml

    code, out, err = cli("values", "Qwen/Qwen3.6-35B-A3B", "--gpu", "mi300x", "--feature", "reasoning")
    assert code == 0, err
    (d,) = yaml.safe_load(out)["deployments"]
    assert d["features"] == ["reasoning"] and "profile" not in d


def test_feature_words_follow_the_profile_in_the_order_asked(cli):
    import yaml

    code, out, err = cli("render", "Qwen/Qwen3.6-35B-A3B", "--gpu", "mi300x", "--feature", "reasoning",
                         "--feature", "tool-calling")
    assert code == 0, err
    isvc = next(d for d in yaml.safe_load_all(out) if d and d["kind"] == "InferenceService")
    args = isvc["spec"]["predictor"]["model"]["args"]
    assert args[-3:] == ["--reasoning-parser=qwen3", "--enable-auto-tool-choice", "--tool-call-parser=qwen3_coder"]


def test_a_feature_changing_a_profile_flag_is_refused(tmp_path):
    """A feature only adds flags (the chart appends its words): one that would change a profile's flag, or that
    another feature of the recipe also sets, is a recipe error."""
    from aimgen.recipes import features
    from aimgen.recipes.lint import lint_features

    assert features.conflicts({"args": {"reasoning-parser": "qwen3"}}, {"reasoning-parser": "deepseek_r1"}) == \
        ["reasoning-parser"]
    assert features.added_args({"args": {"a": 1, "b": True}}, {"a": 1}) == {"b": True}
    profile = next(p for p in load_all_profiles() if p.model == "Qwen/Qwen3.6-35B-A3B" and p.backend == "vllm")
    clash = replace(profile, args={**profile.args, "reasoning-parser": "deepseek_r1"})
    found = lint_features(Path(profile.file), [clash])
    assert any("a feature only adds flags" in f.message for f in found), found
