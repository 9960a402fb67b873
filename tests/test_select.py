"""Selection (docs/selection.md): pinned dimensions are kept or refused; open ones fall back, stated."""

from dataclasses import replace

import pytest

from aimgen.catalog.gpus import get_gpu
from aimgen.catalog.models import get_model
from aimgen.catalog.nodepool import default_pool
from aimgen.compose import realize
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


def test_a_pinned_gpu_count_beyond_a_node_is_refused_with_what_would_work():
    pool = replace(default_pool(get_gpu("mi300x")), gpus_per_node=4, nodes=2)
    with pytest.raises(NoFeasiblePlan, match="what would work: gpus=1"):
        select(_req("meta-llama/Llama-3.1-70B-Instruct", "mi300x", gpus=8, precision="bf16", pool=pool))


def test_an_open_gpu_count_steps_down_within_the_pool_and_says_so():
    pool = replace(default_pool(get_gpu("mi300x")), gpus_per_node=4)
    sel = select(_req("meta-llama/Llama-3.1-70B-Instruct", "mi300x", pool=pool, precision="bf16", metric="latency"))
    assert sel.gpus <= 4 and sel.precision == "bf16" and sel.metric == "latency"
    assert any(f.startswith("GPU count 8 → ") and "4 GPUs per node" in f for f in sel.fallbacks)


def test_pinned_gpus_derive_tp_from_the_nearest_cited_profile():
    """Issue 12: --gpus 2 for Llama-3.1-70B on MI300X serves TP2 on 2 GPUs, not 1 GPU with exit 0."""
    sel = select(_req("meta-llama/Llama-3.1-70B-Instruct", "mi300x", gpus=2))
    assert (sel.gpus, sel.precision, sel.source) == (2, "bf16", "derived")
    assert sel.profile.id == "llama-3-1-70b-instruct-mi300x-x1-bf16-vllm-latency"
    d = realize(sel, "llama")
    assert d.serving.tensor_parallel_size == 2 and d.serving.gpus == 2
    assert d.serving.derived_from == sel.profile.id
    assert dict(d.serving.env)["VLLM_ROCM_USE_AITER"] == "1"  # the cited env travels
    assert "--gpu-memory-utilization=0.95" in d.serving.args  # and its tuning
    assert not any("GPU count" in f for f in sel.fallbacks)


def test_pinned_bf16_on_four_mi325x_stays_bf16_on_four():
    """Issue 12: Llama-3.1-405B --precision bf16 --gpus 4 on MI325X: bf16 TP4 fits (x8 bf16 profiles exist)."""
    sel = select(_req("meta-llama/Llama-3.1-405B-Instruct", "mi325x", gpus=4, precision="bf16"))
    assert (sel.gpus, sel.precision, sel.metric) == (4, "bf16", "latency")
    d = realize(sel, "llama")
    assert (d.serving.tensor_parallel_size, d.serving.precision, d.serving.checkpoint) == \
        (4, "bf16", "meta-llama/Llama-3.1-405B-Instruct")


def test_latency_gets_more_tensor_parallelism_than_throughput():
    """The recipe's defaults follow the cited configs: TP8 for latency, TP4 for throughput (Llama-3.1-70B)."""
    lat = select(_req("meta-llama/Llama-3.1-70B-Instruct", "mi300x", metric="latency"))
    thr = select(_req("meta-llama/Llama-3.1-70B-Instruct", "mi300x", metric="throughput"))
    assert (lat.gpus, thr.gpus) == (8, 4)
    assert lat.profile.default and thr.profile.default


def test_a_pinned_precision_the_gpu_cannot_run_is_refused():
    with pytest.raises(NoFeasiblePlan, match="--precision bf16 would work"):
        select(_req("Qwen/Qwen3-8B", "mi250x", precision="fp8"))


def test_a_pinned_backend_without_a_cited_profile_is_planned_with_that_backend():
    sel = select(_req("Qwen/Qwen3-8B", "mi300x", backend="sglang"))
    assert (sel.backend, sel.source) == ("sglang", "planner")
    assert realize(sel, "qwen").serving.backend == "sglang"


def test_open_dimensions_fall_back_and_say_so():
    sel = select(_req("deepseek-ai/DeepSeek-R1", "mi355x", gpus=4))
    assert (sel.gpus, sel.backend, sel.metric) == (4, "sglang", "throughput")
    assert any(f.startswith("metric latency → throughput") for f in sel.fallbacks)
    assert any(f.startswith("backend vllm → sglang") for f in sel.fallbacks)


def test_fallbacks_are_annotated_on_the_inference_service():
    from aimgen.compose import Options, compose
    from aimgen.constants import ANN_FALLBACKS
    from aimgen.render.manifests import render_all as render

    req = _req("deepseek-ai/DeepSeek-R1", "mi355x", gpus=4)
    spec, _ = compose([(req, None)], req.pool, Options())
    isvc = next(d for d in render(spec) if d["kind"] == "InferenceService")
    assert "backend vllm → sglang" in isvc["metadata"]["annotations"][ANN_FALLBACKS]


def _single_constraints():
    from aimgen.constants import BACKENDS, METRICS, PRECISIONS
    from aimgen.select import GPU_LADDER

    pairs = sorted({(p.model, p.gpu) for p in load_all_profiles()})
    pins = [("gpus", n) for n in sorted(GPU_LADDER) if n <= 8] + [("precision", p) for p in PRECISIONS] + \
        [("backend", b) for b in BACKENDS] + [("metric", m) for m in METRICS] + [("max_model_len", 32768)]
    return [(m, g, k, v) for m, g in pairs for k, v in pins]


def test_a_pinned_value_is_kept_or_refused_never_changed():
    """Every single-constraint request on every recipe model and GPU: the decision carries the pinned value,
    or selection/planning refuses with exit 3; no fallback line names a pinned dimension."""
    from aimgen.errors import AimgenError

    kept = refused = 0
    for model, gpu, key, value in _single_constraints():
        try:
            d = realize(select(_req(model, gpu, **{key: value})), "x")
        except NoFeasiblePlan:
            refused += 1
            continue
        except AimgenError as exc:  # pragma: no cover - the message names the case
            raise AssertionError(f"{model} {gpu} {key}={value}: {exc}") from exc
        kept += 1
        s = d.serving
        got = {"gpus": s.tensor_parallel_size * s.pipeline_parallel_size, "precision": s.precision,
               "backend": s.backend, "metric": s.metric}
        if key == "max_model_len":
            assert d.engine_flags.get("max-model-len", d.engine_flags.get("context-length")) == value
        else:
            assert got[key] == value, f"{model} {gpu} {key}={value}: got {got}"
        word = {"gpus": "GPU count", "max_model_len": "max_model_len"}.get(key, key)
        assert not any(f.startswith(word) for f in s.fallbacks), (model, gpu, key, s.fallbacks)
    assert kept > 1000 and refused > 0  # recipe-only models refuse every shape they are not cited in


def test_more_gpus_than_the_pool_is_no_feasible_plan():
    with pytest.raises(NoFeasiblePlan):
        select(_req("Qwen/Qwen3-8B", "mi300x", gpus=16))


@pytest.mark.parametrize("field,value", [("backend", "tgi"), ("metric", "cost"), ("precision", "fp4"), ("gpus", 3)])
def test_bad_choices_are_usage_errors(field, value):
    with pytest.raises(UsageError):
        select(_req("Qwen/Qwen3-8B", "mi300x", **{field: value}))
