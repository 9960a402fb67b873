"""Models the planner has no arithmetic for (hybrid or linear attention, DeepSeek-V4/GLM-5 sparse attention, or a
config.json nobody transcribed yet): their recipe profiles are served as the experts published them, with the
weights estimated from the published parameter count, and the planner refuses to invent a shape for them."""

from __future__ import annotations

from aimgen.catalog.models import CatalogModel
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


def refuse_planning(model: CatalogModel) -> None:
    """The planner's answer for a recipe-only model: no guess, exit 3, and what would work."""
    if model.recipe_only:
        raise NoFeasiblePlan(
            f"{model.id} is recipe-only: {model.recipe_only}; aimgen serves only its recipe profiles "
            f"(`aimgen list profiles` shows them: pick one with --gpus/--precision/--backend/--metric), or pass "
            f"--model-config CONFIG_JSON for a model the planner can size")
