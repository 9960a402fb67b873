"""Which precisions a GPU can run for a model: one rule shared by recipe checks, selection and planning."""

from __future__ import annotations

from aimgen.catalog.gpus import Gpu
from aimgen.catalog.models import CatalogModel


def runnable(gpu: Gpu, precision: str, model: CatalogModel | None = None) -> bool:
    """MXFP4 checkpoints (gpt-oss) also run on gfx942 through Triton kernels that unpack the weights;
    quantizing a model to MXFP4 needs gfx950. FP8 needs gfx942 (FNUZ) or gfx950 (OCP)."""
    if precision == "mxfp4" and not gpu.mxfp4:
        return model is not None and model.native_precision == "mxfp4" and gpu.supports_fp8
    return gpu.supports(precision)


def default_precision(model: CatalogModel, gpu: Gpu) -> str:
    if runnable(gpu, model.native_precision, model):
        return model.native_precision
    return "bf16"
