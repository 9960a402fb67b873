"""A recipe profile's settings against GPU memory at a tensor-parallel size: the profile as cited, or derived to
another GPU count (docs/selection.md), where the context is recomputed for the new shape."""

from __future__ import annotations

from typing import Any, Mapping

from aimgen.catalog.gpus import Gpu
from aimgen.catalog.models import CatalogModel
from aimgen.parallel import Parallelism
from aimgen.planning.fit import Fit, fit_check

# A derived profile never serves less context than this: below it, say what would work instead.
MIN_DERIVED_CONTEXT = 4096


def setting(args: Mapping[str, Any], names: Mapping[str, str], role: str) -> Any:
    """The profile's value for a role (max_model_len, max_num_seqs, …) under the engine's own flag name."""
    name = names.get(role)
    return args.get(name) if name else None


def profile_fit(model: CatalogModel, gpu: Gpu, precision: str, args: Mapping[str, Any], names: Mapping[str, str],
                shape: Parallelism, *, max_model_len: int | None = None) -> Fit:
    """Engines default the context to the model's maximum: check the profile at what the engine will use."""
    context = max_model_len or setting(args, names, "max_model_len") or model.context_length
    kv = args.get("kv-cache-dtype")
    return fit_check(
        model, gpu, precision, shape.tensor, shape.pipeline,
        max_model_len=context,
        max_num_seqs=setting(args, names, "max_num_seqs"),
        gpu_memory_utilization=setting(args, names, "gpu_memory_utilization"),
        kv_cache_dtype=kv if kv not in (None, "auto") else None,
        dp=shape.data,
    )


def derived_fit(model: CatalogModel, gpu: Gpu, precision: str, args: Mapping[str, Any], names: Mapping[str, str],
                shape: Parallelism, *, max_model_len: int | None = None) -> Fit:
    """The profile at another TP. Its own context was sized for its own shape, so it is recomputed: the pinned
    one, else the model's maximum halved until it fits (never under MIN_DERIVED_CONTEXT)."""
    own = {k: v for k, v in args.items() if k != names.get("max_model_len")}
    if max_model_len:
        return profile_fit(model, gpu, precision, own, names, shape, max_model_len=max_model_len)
    length = int(model.context_length or MIN_DERIVED_CONTEXT)
    while True:
        fit = profile_fit(model, gpu, precision, own, names, shape, max_model_len=length)
        if fit.fits or length <= MIN_DERIVED_CONTEXT:
            return fit
        length = max(MIN_DERIVED_CONTEXT, length // 2 // 256 * 256)
