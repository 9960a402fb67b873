"""Recipe-only models (hybrid/linear attention, sparse MLA variants, or no transcribed config.json): served exactly as
their cited recipes publish them, never sized by a guess."""

from __future__ import annotations

import pytest

from aimgen.catalog.gpus import get_gpu
from aimgen.catalog.models import load_models
from aimgen.catalog.nodepool import default_pool
from aimgen.errors import NoFeasiblePlan
from aimgen.planning.fit import fit_check
from aimgen.planning.planner import plan
from aimgen.recipes.load import profiles_for

RECIPE_ONLY = sorted(m.id for m in load_models().values() if m.recipe_only)
INFERENCEX_MODELS = ("deepseek-ai/DeepSeek-R1-0528", "deepseek-ai/DeepSeek-V4-Pro", "Qwen/Qwen3.5-397B-A17B",
                     "moonshotai/Kimi-K3", "zai-org/GLM-5.2", "MiniMaxAI/MiniMax-M3")


def test_the_catalog_covers_the_public_amd_matrix():
    models = load_models()
    assert len(models) >= 40
    for model in INFERENCEX_MODELS:
        assert model in models and profiles_for(model), model


@pytest.mark.parametrize("model_id", RECIPE_ONLY)
def test_recipe_only_models_cite_their_published_facts(model_id, shared_dir):
    model = load_models()[model_id]
    assert model.config == {} and len(model.recipe_only) >= 20
    assert model.published["params"] > 0 and (model.context_length or 1) > 0
    profiles = profiles_for(model_id)
    assert profiles, f"{model_id}: a recipe-only model is served only through its recipe"
    cited = {p.source["upstream"].split("#")[0] for p in profiles if "upstream" in p.source}
    texts = "".join((shared_dir / "upstream-configs" / c).read_text() for c in cited)
    # every checkpoint the catalog lists is named by a config the recipe cites
    for precision, repo in model.checkpoints.items():
        assert repo in texts or repo.split("/")[1] in texts, f"{model_id} {precision}: {repo}"
        assert any(p.checkpoint == repo for p in profiles), f"{model_id}: {repo} is listed but never served"


def test_the_planner_refuses_to_guess():
    model = load_models()["zai-org/GLM-5.2"]
    with pytest.raises(NoFeasiblePlan, match="recipe-only"):
        plan(model, default_pool(get_gpu("mi300x")))


def test_a_recipe_profile_is_taken_as_published_but_its_context_is_checked():
    model = load_models()["zai-org/GLM-5.2"]
    gpu = get_gpu("mi355x")
    ok = fit_check(model, gpu, "mxfp4", 8)
    assert ok.fits and "recipe-only" in ok.reason and ok.weights_bytes > 300 * 10**9
    too_long = fit_check(model, gpu, "mxfp4", 8, max_model_len=model.context_length + 1)
    assert not too_long.fits and "published context length" in too_long.reason


def test_cli_explains_the_refusal(cli):
    code, out, err = cli("render", "moonshotai/Kimi-K3", "--gpu", "mi300x")
    assert code == 3 and "recipe-only" in err, err
    code, out, err = cli("render", "moonshotai/Kimi-K3", "--gpu", "mi355x")
    assert code == 0, err
    assert "--tensor-parallel-size" in out and "moonshotai/Kimi-K3" in out
