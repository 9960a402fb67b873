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
# The engine settings profile_fit reads, by role (runtime.yaml `flags:`), besides the context: an --engine-arg
# that sets one is laid over the profile before the memory check (docs/selection.md, "Engine overrides").
FIT_ROLES = ("gpu_memory_utilization", "max_num_seqs")
KV_CACHE_DTYPE = "kv-cache-dtype"  # both engines' spelling


def setting(args: Mapping[str, Any], names: Mapping[str, str], role: str) -> Any:
    """The profile's value for a role (max_model_len, max_num_seqs, …) under the engine's own flag name."""
    name = names.get(role)
    return args.get(name) if name else None


def profile_fit(model: CatalogModel, gpu: Gpu, precision: str, args: Mapping[str, Any], names: Mapping[str, str],
                shape: Parallelism, *, max_model_len: int | None = None) -> Fit:
    """Engines default the context to the model's maximum: check the profile at what the engine will use."""
    context = max_model_len or setting(args, names, "max_model_len") or model.context_length
    kv = args.get(KV_CACHE_DTYPE)
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


def fit_flags(names: Mapping[str, str]) -> set[str]:
    """The engine's spelling of the settings the memory check reads (the context aside: --max-model-len)."""
    return {names[r] for r in FIT_ROLES if names.get(r)} | {KV_CACHE_DTYPE}


def what_fits(model: CatalogModel, gpu: Gpu, precision: str, args: Mapping[str, Any], names: Mapping[str, str],
              shape: Parallelism, given: Mapping[str, Any]) -> list[str]:
    """For each setting in `given` (an override that made `args` not fit), the nearest value that fits with the
    others as they are: the smallest gpu_memory_utilization in hundredths, the largest max_num_seqs; else none."""
    def fits(name: str, value: Any) -> bool:
        return profile_fit(model, gpu, precision, {**args, name: value}, names, shape).fits

    hints = []
    gmu, seqs = names.get("gpu_memory_utilization"), names.get("max_num_seqs")
    for name, value in given.items():
        if fits(name, value):
            continue  # not this one alone
        if name == gmu and isinstance(value, (int, float)) and fits(name, 1.0):
            low = _first(lambda pct: fits(name, pct / 100), 1, 100)
            hints.append(f"{name}={low / 100:.2f} or more")
        elif name == seqs and isinstance(value, int) and value > 1 and fits(name, 1):
            high = _first(lambda n: not fits(name, n), 1, value) - 1
            hints.append(f"{name}={high} or fewer")
    return hints


def _first(holds, lo: int, hi: int) -> int:
    """The smallest n in [lo, hi] where `holds` (monotone: false, then true) is true; `holds(hi)` is known."""
    while lo < hi:
        mid = (lo + hi) // 2
        if holds(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo
