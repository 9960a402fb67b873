"""Models the planner has no arithmetic for (hybrid or linear attention, DeepSeek-V4/GLM-5 sparse attention, or a
config.json nobody transcribed yet): their recipe profiles are served as the experts published them, with the
weights estimated from the published parameter count, and the planner refuses to invent a shape for them."""

from __future__ import annotations

from aimgen.catalog.models import CatalogModel
from aimgen.constants import GIB
from aimgen.errors import NoFeasiblePlan

# Bytes per parameter as stored: MXFP4 keeps one 8-bit scale per 32 4-bit values; int4 (AWQ/GPTQ/compressed
# tensors) one 16-bit scale per group of 128.
BYTES_PER_PARAM = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5 + 2 / 128, "mxfp4": 0.5 + 1 / 32}


def estimated_weight_bytes(model: CatalogModel, precision: str) -> int:
    """The checkpoint's size at `precision`: the recipe's published VRAM minimum for the native checkpoint, else
    published parameters x bytes per parameter."""
    published = model.published
    if precision == model.native_precision and published.get("vram_minimum_gb"):
        return int(published["vram_minimum_gb"] * 1e9)
    return int(published["params"] * BYTES_PER_PARAM[precision])


def recipe_only_fit(model: CatalogModel, precision: str, tp: int, pp: int, max_model_len: int | None,
                    max_num_seqs: int | None, gpu_memory_utilization: float | None):
    """A Fit for a recipe profile of a recipe-only model: the experts' shape is taken as published; only the
    context is checked (against the model's published context length)."""
    from aimgen.planning.fit import DEFAULT_GPU_MEMORY_UTILIZATION, DEFAULT_MAX_NUM_SEQS, Fit

    weights = estimated_weight_bytes(model, precision)
    limit = model.context_length
    length = max_model_len or limit or 0
    base = dict(tensor_parallel_size=tp, pipeline_parallel_size=pp, max_model_len=length,
                max_num_seqs=max_num_seqs or DEFAULT_MAX_NUM_SEQS,
                gpu_memory_utilization=float(gpu_memory_utilization or DEFAULT_GPU_MEMORY_UTILIZATION),
                precision=precision, checkpoint=model.checkpoints.get(precision, model.id),
                weights_bytes=weights, checkpoint_bytes=weights)
    if limit and length > limit:
        return Fit(False, f"max_model_len {length} exceeds the model's published context length {limit}", **base)
    reason = (f"recipe-only model, memory not checked by aimgen ({model.recipe_only}); the expert shape is used as "
              f"published, weights about {weights / GIB:.0f} GiB")
    return Fit(True, reason, reasons=(reason,), **base)


def refuse_planning(model: CatalogModel) -> None:
    """The planner's answer for a recipe-only model: no guess, exit 3, and what would work."""
    if model.recipe_only:
        raise NoFeasiblePlan(
            f"{model.id} is recipe-only: {model.recipe_only}; aimgen serves only its recipe profiles "
            f"(`aimgen list profiles` shows them: pick one with --gpus/--precision/--backend/--metric), or pass "
            f"--model-config CONFIG_JSON for a model the planner can size")
