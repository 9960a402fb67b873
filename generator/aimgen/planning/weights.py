"""Which weights serve a model at a precision on a GPU: the model's own checkpoint, a pre-quantized one from the
catalog, or vLLM's on-the-fly FP8; and whether the GPU can run them at all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from aimgen.catalog.compat import runnable
from aimgen.catalog.gpus import Gpu
from aimgen.catalog.models import CatalogModel
from aimgen.errors import AimgenError, NoFeasiblePlan, UsageError
from aimgen.planning.arch import ModelArch, Quantization
from aimgen.planning.formats import WeightFormat, sixteen_bit, weight_format

PRECISIONS = ("bf16", "fp16", "fp8", "int8", "int4", "mxfp4")


@dataclass(frozen=True)
class ServedWeights:
    precision: str
    checkpoint: str  # Hugging Face repo actually loaded
    format: WeightFormat  # how the weights sit in GPU memory
    disk_format: WeightFormat  # how they sit in the checkpoint (bf16 for on-the-fly fp8)
    quantization_arg: str | None = None  # vLLM --quantization when the engine must quantize at load
    kv_cache_dtype_hint: str | None = None  # the checkpoint ships scales for this KV dtype
    notes: tuple[str, ...] = ()


def _checkpoint_quantization(model: CatalogModel, precision: str) -> Quantization | None:
    # checkpoint_quantization is an optional catalog field; configs from --model-config never have it.
    table: Mapping[str, Any] = getattr(model, "checkpoint_quantization", None) or {}
    q = table.get(precision)
    if not q:
        return None
    block = q.get("weight_block_size")
    return Quantization(
        precision=precision,
        method=q.get("quant_method", ""),
        weight_block_size=(block[0], block[1]) if block else None,
        group_size=q.get("group_size"),
        scope=q.get("scope"),
    )


def _kv_hint(model: CatalogModel, precision: str) -> str | None:
    table: Mapping[str, Any] = getattr(model, "checkpoint_quantization", None) or {}
    return (table.get(precision) or {}).get("kv_cache_dtype")


def native_precision(model: CatalogModel, arch: ModelArch) -> str:
    """The precision the model's own checkpoint stores: its quantization_config wins over the catalog field."""
    if arch.quantization:
        return arch.quantization.precision
    return model.native_precision if model.native_precision in PRECISIONS else "bf16"


def available_precisions(model: CatalogModel, arch: ModelArch) -> tuple[str, ...]:
    native = native_precision(model, arch)
    out = [native]
    if native in ("bf16", "fp16"):
        out += ["bf16", "fp16", "fp8"]  # a cast, and vLLM's on-the-fly FP8
    out += list(model.checkpoints)
    return tuple(dict.fromkeys(out))


def gpu_blocker(gpu: Gpu, precision: str, model: CatalogModel) -> str | None:
    """Why gpu cannot run model's weights in precision (None when it can). The rule itself is shared with recipe
    selection (aimgen.catalog.compat): native MXFP4 MoE checkpoints (gpt-oss) run on gfx942 through Triton kernels
    that unpack the weights; quantized-to-MXFP4 checkpoints need gfx950's MX instructions."""
    if runnable(gpu, precision, model):
        return None
    if precision == "fp8":
        return f"{gpu.product} ({gpu.gfx}) has no FP8 support in vLLM"
    if precision == "mxfp4":
        return f"{gpu.product} ({gpu.gfx}) has no MXFP4 support (OCP MX needs gfx950: MI350X/MI355X)"
    return f"{gpu.product} ({gpu.gfx}) cannot run {precision} weights"


def _gpus_that_run(model: CatalogModel, precision: str) -> str:
    """GPUs of the catalog that run precision (the catalog is read only on this error path)."""
    from aimgen.catalog.gpus import load_gpus

    try:
        gpus = load_gpus().values()
    except AimgenError:
        return "GPUs with native support"
    names = [g.product for g in gpus if gpu_blocker(g, precision, model) is None]
    return "/".join(names) or "GPUs with native support"


def resolve_weights(model: CatalogModel, arch: ModelArch, precision: str, gpu: Gpu) -> ServedWeights:
    """The weights that serve `model` at `precision` on `gpu`, or NoFeasiblePlan saying what would work."""
    if precision not in PRECISIONS:
        raise UsageError(f"precision {precision!r} is not one of: {', '.join(PRECISIONS)}")
    native = native_precision(model, arch)
    notes: list[str] = []
    if precision == native:
        fmt = weight_format(arch, precision, arch.quantization)
        served = ServedWeights(precision, model.id, fmt, fmt)
    elif precision in ("bf16", "fp16") and native in ("bf16", "fp16"):
        served = ServedWeights(precision, model.id, sixteen_bit(precision), sixteen_bit(native),
                               notes=(f"{native} checkpoint served as {precision} (--dtype cast at load)",))
    elif precision in model.checkpoints:
        quant = _checkpoint_quantization(model, precision)
        fmt = weight_format(arch, precision, quant)
        served = ServedWeights(precision, model.checkpoints[precision], fmt, fmt,
                               kv_cache_dtype_hint=_kv_hint(model, precision),
                               notes=(f"pre-quantized checkpoint {model.checkpoints[precision]}",))
    elif precision == "fp8" and native in ("bf16", "fp16"):
        fmt = weight_format(arch, "fp8")
        served = ServedWeights("fp8", model.id, fmt, sixteen_bit(native), quantization_arg="fp8",
                               notes=(f"no FP8 checkpoint of {model.id} in the catalog: vLLM quantizes the {native} "
                                      "weights to FP8 at load (--quantization fp8); the cache still holds the "
                                      f"{native} checkpoint",))
    else:
        options = ", ".join(available_precisions(model, arch))
        if native not in ("bf16", "fp16") and precision in ("bf16", "fp16"):
            why = f"{model.id} ships {native} weights only; a {precision} copy would be another checkpoint"
        else:
            why = f"no {precision} checkpoint of {model.id} is known"
        raise NoFeasiblePlan(f"{why}; available precisions: {options} (or pass --model-config with the "
                             "config.json of a checkpoint in that precision)")
    blocker = gpu_blocker(gpu, served.precision, model)
    if blocker:
        usable = [p for p in available_precisions(model, arch) if gpu_blocker(gpu, p, model) is None]
        instead = f"use --precision {' or '.join(usable)}" if usable else "no precision of this model runs there"
        raise NoFeasiblePlan(f"{blocker}: {instead}, or a pool of {_gpus_that_run(model, served.precision)}")
    if served.precision == "fp8" and gpu.fp8 == "fnuz":
        notes.append(f"{gpu.product} ({gpu.gfx}) computes in FP8 FNUZ: vLLM rescales the OCP e4m3 weights at load "
                     "(same memory)")
    if served.precision == "mxfp4" and not gpu.mxfp4:
        notes.append(f"{gpu.product} has no native MXFP4: the MoE weights stay MXFP4 in memory and Triton kernels "
                     "unpack them per GEMM (slower than gfx950, same memory)")
    return ServedWeights(**{**served.__dict__, "notes": served.notes + tuple(notes)})


def disk_bytes(model: CatalogModel, arch: ModelArch, served: ServedWeights) -> int:
    """The checkpoint's size on disk: exact where the Hub listed the files of the checkpoint served (models fetched
    by id, catalog/hub.py), else computed from the architecture."""
    from aimgen.planning.memory import checkpoint_bytes

    listed = model.published.get("checkpoint_bytes")
    if listed and served.checkpoint == model.id:
        return int(listed)
    return checkpoint_bytes(arch, served.disk_format)
