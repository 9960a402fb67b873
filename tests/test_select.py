"""Selection: the recipe's exact profile when the pool offers it, else stated fallbacks; the planner otherwise."""

from dataclasses import replace

import pytest

from aimgen.catalog.gpus import get_gpu
from aimgen.catalog.models import get_model
from aimgen.catalog.nodepool import default_pool
from aimgen.errors import NoFeasiblePlan, UsageError
from aimgen.recipes.load import load_all_profiles
from aimgen.select import Request, select


def _req(model, gpu, **kw):
    pool = kw.pop("pool", None) or default_pool(get_gpu(gpu))
    return Request(model=get_model(model), pool=pool, **kw)


@pytest.mark.parametrize("profile", load_all_profiles(), ids=lambda p: p.id)
def test_every_profile_is_selected_exactly(profile):
    pool = replace(default_pool(get_gpu(profile.gpu)), nodes=max(1, profile.nodes))
    sel = select(Request(get_model(profile.model), pool, profile.gpus, profile.precision, profile.backend, profile.metric))
    assert sel.profile is not None
    assert sel.profile.key == profile.key
    assert sel.fallbacks == ()


def test_gpu_count_steps_down_within_the_pool():
    pool = replace(default_pool(get_gpu("mi300x")), gpus_per_node=4)
    sel = select(_req("meta-llama/Llama-3.1-70B-Instruct", "mi300x", pool=pool, gpus=4, precision="bf16"))
    assert sel.gpus <= 4
    big = select(_req("meta-llama/Llama-3.1-70B-Instruct", "mi300x", gpus=8, precision="bf16",
                      pool=replace(pool, nodes=2)))
    assert big.gpus <= 4 and any("GPU count 8" in f and "per node" in f for f in big.fallbacks)


def test_fp8_on_gfx90a_falls_back_to_bf16_with_a_reason():
    sel = select(_req("Qwen/Qwen3-8B", "mi250x", precision="fp8"))
    assert sel.precision == "bf16"
    assert any("fp8" in f and "gfx90a" in f for f in sel.fallbacks)
    assert sel.profile is None  # no MI250X recipe: the planner decides


def test_backend_falls_back_when_the_recipe_has_no_such_backend():
    sel = select(_req("Qwen/Qwen3-8B", "mi300x", backend="sglang"))
    assert sel.backend == "vllm"
    assert any("backend sglang" in f for f in sel.fallbacks)


def test_default_is_native_precision_latency_and_fewest_gpus():
    sel = select(_req("Qwen/Qwen3-8B", "mi300x"))
    assert (sel.backend, sel.metric, sel.precision) == ("vllm", "latency", "bf16")
    assert sel.gpus == min(p.gpus for p in load_all_profiles()
                           if p.model == "Qwen/Qwen3-8B" and p.gpu == "mi300x" and p.precision == "bf16"
                           and p.metric == "latency" and p.backend == "vllm")


def test_more_gpus_than_the_pool_is_no_feasible_plan():
    with pytest.raises(NoFeasiblePlan):
        select(_req("Qwen/Qwen3-8B", "mi300x", gpus=16))


@pytest.mark.parametrize("field,value", [("backend", "tgi"), ("metric", "cost"), ("precision", "fp4"), ("gpus", 3)])
def test_bad_choices_are_usage_errors(field, value):
    with pytest.raises(UsageError):
        select(_req("Qwen/Qwen3-8B", "mi300x", **{field: value}))
