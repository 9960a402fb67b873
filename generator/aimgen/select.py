"""Pick what to serve for a request; the rules are written down in docs/selection.md.

A dimension the user pins (gpus, precision, backend, metric, max-model-len) is a constraint: it is kept or the
request is refused (NoFeasiblePlan, exit 3) with what would work. When the recipe lacks the exact pinned shape,
the nearest cited profile with the pinned precision, backend and metric is derived to the pinned GPU count (same
env and tuning; tensor parallelism and context recomputed and checked by the planner's arithmetic); with no such
profile, the planner sizes the deployment from the architecture within the pins. Only open dimensions fall back,
each fallback stated: the recipe's default for the GPU and metric first, then GPU count, precision, metric and the
backend last give way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from aimgen.catalog.compat import default_precision, runnable
from aimgen.catalog.models import CatalogModel
from aimgen.catalog.nodepool import NodePool
from aimgen.constants import BACKENDS, METRICS, PLANNED_BACKENDS, PRECISIONS
from aimgen.errors import NoFeasiblePlan, UsageError
from aimgen.parallel import from_flags
from aimgen.recipes.load import profiles_for
from aimgen.recipes.model import Profile

GPU_LADDER = (32, 16, 8, 4, 2, 1)
# What an open dimension is read as: the backend with the widest recipe coverage, and latency (one user waiting).
DEFAULT_BACKEND = "vllm"
DEFAULT_METRIC = "latency"
PINNABLE = ("gpus", "precision", "backend", "metric", "max_model_len")


@dataclass(frozen=True)
class Request:
    """None is an open dimension: selection chooses it. Anything else is pinned."""

    model: CatalogModel
    pool: NodePool
    gpus: int | None = None
    precision: str | None = None
    backend: str | None = None
    metric: str | None = None
    max_model_len: int | None = None
    features: tuple[str, ...] = ()  # recipe features to switch on (aimgen.recipes.features)

    def pins(self) -> str:
        """The pinned dimensions as the CLI spells them, for messages."""
        return " ".join(f"--{d.replace('_', '-')} {getattr(self, d)}" for d in PINNABLE if getattr(self, d) is not None)


@dataclass(frozen=True)
class Selection:
    """What will be deployed and why: a recipe profile (as cited, or derived to `gpus`), or None when the planner
    decides alone. `fallbacks` only ever name open dimensions."""

    request: Request
    profile: Profile | None
    gpus: int
    precision: str
    backend: str
    metric: str
    fallbacks: tuple[str, ...] = field(default=())
    # A derived profile's memory check at `gpus`, as selection found it fitting: realize() serves that, not a
    # second run of the same arithmetic.
    fit: Any = field(default=None, compare=False, repr=False)

    @property
    def derived(self) -> bool:
        return self.profile is not None and self.gpus != self.profile.gpus

    @property
    def source(self) -> str:
        return "planner" if self.profile is None else "derived" if self.derived else "recipe"


def _check_request(req: Request) -> None:
    if req.backend is not None and req.backend not in BACKENDS:
        raise UsageError(f"--backend {req.backend!r} is not one of: {', '.join(BACKENDS)}")
    if req.metric is not None and req.metric not in METRICS:
        raise UsageError(f"--metric {req.metric!r} is not one of: {', '.join(METRICS)}")
    if req.precision is not None and req.precision not in PRECISIONS:
        raise UsageError(f"--precision {req.precision!r} is not one of: {', '.join(PRECISIONS)}")
    if req.gpus is not None and req.gpus not in GPU_LADDER:
        raise UsageError(f"--gpus {req.gpus} is not one of: {', '.join(map(str, sorted(GPU_LADDER)))}")
    if req.gpus is not None and req.gpus > req.pool.total_gpus:
        raise NoFeasiblePlan(
            f"--gpus {req.gpus} exceeds the pool {req.pool.name!r} ({req.pool.nodes} node(s) x "
            f"{req.pool.gpus_per_node} {req.pool.gpu.product}); ask for at most {req.pool.total_gpus} or a larger pool"
        )
    gpu = req.pool.gpu
    if req.precision is not None and not runnable(gpu, req.precision, req.model):
        why = f"no FP8 on {gpu.gfx}" if req.precision == "fp8" else f"{req.precision} needs a GPU with native support"
        raise NoFeasiblePlan(f"--precision {req.precision}: {gpu.product} ({gpu.gfx}) cannot run it ({why}); "
                             f"--precision {default_precision(req.model, gpu)} would work, or a GPU that has it")


def _fits_pool(p: Profile, pool: NodePool) -> bool:
    per_node = p.gpus // p.nodes
    return p.nodes <= pool.nodes and per_node <= pool.gpus_per_node


def precision_preference(model: CatalogModel, first: str) -> list[str]:
    """Precisions in the order an open precision tries them: the wanted one, the checkpoint's own, then bf16."""
    return list(dict.fromkeys([first, model.native_precision, "bf16", "fp8", "mxfp4", "fp16", "int8", "int4"]))


def _pinned_match(p: Profile, req: Request) -> bool:
    return all(getattr(req, d) is None or getattr(p, d) == getattr(req, d) for d in ("precision", "backend", "metric"))


def ranking(req: Request, first_precision: str):
    """The one ranking of profiles for a request (the chart's table is compiled from select(), never re-ranked):
    the preferred backend, precision and metric, then the recipe's default for the metric, then the GPU count
    the metric wants (latency: the widest tensor parallelism; throughput: the fewest GPUs per replica)."""
    order = precision_preference(req.model, first_precision)
    backend, metric = req.backend or DEFAULT_BACKEND, req.metric or DEFAULT_METRIC

    def rank(p: Profile) -> tuple:
        return (
            p.backend != backend,
            order.index(p.precision) if p.precision in order else len(order),
            p.metric != metric,
            not p.default,
            -p.gpus if p.metric == "latency" else p.gpus,
            p.nodes,
        )

    return rank


def _shape(p: Profile) -> str:
    return f"gpus={p.gpus} precision={p.precision} backend={p.backend} metric={p.metric}"


def _would_work(req: Request, candidates: list[Profile], rank) -> str:
    offered = [p for p in sorted(candidates, key=rank) if _fits_pool(p, req.pool)]
    if not offered:
        return f"the pool {req.pool.name!r} fits none of the recipe's profiles for {req.pool.gpu.product}"
    return "what would work: " + "; ".join(_shape(p) for p in offered[:6])


def _fit_at(req: Request, p: Profile, gpus: int):
    from aimgen.planning.profile_fit import derived_fit, profile_fit

    names = p.serving_runtime().flag_names
    gpu = req.pool.gpu
    shape = from_flags(gpus, p.nodes, p.args)
    if gpus == p.gpus:
        return profile_fit(req.model, gpu, p.precision, p.args, names, shape, max_model_len=req.max_model_len)
    return derived_fit(req.model, gpu, p.precision, p.args, names, shape, max_model_len=req.max_model_len)


def _derive(req: Request, sources: list[Profile], rank) -> tuple[Profile, int, Any] | None:
    """The nearest cited profile made to run on another GPU count: on the pinned one, or (GPU count open, no
    cited shape fitting the pool or the pinned context) on the counts the pool offers, in the metric's order."""
    if req.model.recipe_only:
        return None  # no arithmetic to recompute a shape with: only the experts' cited shapes are served
    if req.gpus is not None:
        if req.gpus > req.pool.gpus_per_node:
            return None  # deriving changes tensor parallelism within a node; a multi-node shape is cited or planned
        counts = [req.gpus]
    else:
        within = [n for n in GPU_LADDER if n <= req.pool.gpus_per_node]
        counts = within if (req.metric or DEFAULT_METRIC) == "latency" else within[::-1]
    for n in counts:
        def nearness(p: Profile) -> tuple:
            # open-dimension preference, then how far the GPU count moves, the recipe's default, the larger source
            return (*rank(p)[:3], abs(math.log2(p.gpus / n)), not p.default, -p.gpus)

        for p in sorted((p for p in sources if p.nodes == 1), key=nearness):
            fit = _fit_at(req, p, n)
            if fit.fits:
                return p, n, fit
    return None


def _open_fallbacks(req: Request, chosen: Profile, gpus: int, first: str, sources: list[Profile]) -> list[str]:
    """One line per open dimension whose preferred value was not taken."""
    gpu, out = req.pool.gpu, []
    if req.gpus is None:
        default = next((p for p in sources if p.default and p.metric == chosen.metric and p.precision == chosen.precision
                        and p.backend == chosen.backend), None)
        if default is not None and default.gpus != gpus:
            if not _fits_pool(default, req.pool):
                why = f"the pool {req.pool.name!r} has {req.pool.gpus_per_node} GPUs per node"
            else:
                why = f"{default.gpus} GPUs do not fit {req.pins() or 'the request'}"
            out.append(f"GPU count {default.gpus} → {gpus}: the recipe's default for {chosen.metric} is "
                       f"{default.shape}, but {why}")
    if req.precision is None and chosen.precision != first:
        out.append(f"precision {first} → {chosen.precision}: the recipe has no {first} profile for {gpu.product} "
                   f"that fits {req.pins() or 'the pool'}")
    if req.metric is None and chosen.metric != DEFAULT_METRIC:
        out.append(f"metric {DEFAULT_METRIC} → {chosen.metric}: the recipe has no {DEFAULT_METRIC} profile for "
                   f"this shape")
    if req.backend is None and chosen.backend != DEFAULT_BACKEND:
        out.append(f"backend {DEFAULT_BACKEND} → {chosen.backend}: the recipe has no {DEFAULT_BACKEND} profile for "
                   f"{gpu.product} that fits {req.pins() or 'the pool'}")
    return out


def select(req: Request, profiles: list[Profile] | None = None) -> Selection:
    """`profiles` replaces the model's recipe (the launcher's --recipes folder); default: recipes/models/."""
    _check_request(req)
    gpu, model = req.pool.gpu, req.model
    first = req.precision or default_precision(model, gpu)
    recipe = profiles_for(model.id) if profiles is None else [p for p in profiles if p.model == model.id]
    on_gpu = [p for p in recipe if p.gpu == gpu.name and runnable(gpu, p.precision, model)]
    sources = [p for p in on_gpu if _pinned_match(p, req)]
    rank = ranking(req, first)

    exact = [p for p in sources if _fits_pool(p, req.pool) and req.gpus in (None, p.gpus)]
    if req.max_model_len is not None:
        exact = [p for p in exact if _fit_at(req, p, p.gpus).fits]
    if exact:
        best = min(exact, key=rank)
        return Selection(req, best, best.gpus, best.precision, best.backend, best.metric,
                         tuple(_open_fallbacks(req, best, best.gpus, first, sources)))
    found = _derive(req, sources, rank) if sources else None
    if sources and found is None and (req.gpus is not None or model.recipe_only):
        why = (f"{model.id} is served only in its cited shapes ({model.recipe_only})" if model.recipe_only else
               "no cited profile can be derived to this shape (TP within one node, the context checked against "
               "memory)")
        raise NoFeasiblePlan(f"{why}; {_would_work(req, on_gpu, rank)}")
    if found is not None:
        p, n, fit = found
        notes = _open_fallbacks(req, p, n, first, sources)
        if req.gpus is None:  # one line for the GPU count: why it moved, and from which profile
            notes = [line for line in notes if not line.startswith("GPU count")]
            notes.append(f"GPU count {p.gpus} → {n}: no cited {p.shape} profile fits the pool {req.pool.name!r} "
                         f"({req.pool.gpus_per_node} GPUs per node){' at the pinned context' if req.max_model_len else ''}; "
                         f"derived from {p.id}")
        return Selection(req, p, n, p.precision, p.backend, p.metric, tuple(notes), fit=fit)
    # Nothing cited shares the pinned precision, backend and metric, or (GPU count open) no cited shape fits the
    # pool even derived: the planner sizes it from the architecture within the pins, over nodes if need be.
    if req.backend is not None and req.backend not in PLANNED_BACKENDS:
        # the same words whatever else is pinned when the GPU has no such profile at all (the chart's compiled
        # table stores each distinct answer once)
        which = (f"matches {req.pins()}" if any(p.backend == req.backend for p in on_gpu) else
                 f"runs on {req.backend}")
        raise NoFeasiblePlan(f"--backend {req.backend} serves only the shapes a recipe cites (the planner sizes "
                             f"{' and '.join(PLANNED_BACKENDS)}), and no {model.id} profile for {gpu.product} "
                             f"{which}; {_would_work(req, on_gpu, rank)}")
    notes = []
    if sources:
        notes.append(f"no cited {model.id} profile for {gpu.product}{' with ' + req.pins() if req.pins() else ''} "
                     f"fits the pool {req.pool.name!r} ({req.pool.gpus_per_node} GPUs per node), even derived; "
                     "planned from the architecture")
    elif on_gpu:
        notes.append(f"no recipe profile for {model.id} on {gpu.product} with {req.pins()}; planned from the "
                     "architecture")
    elif recipe or model.in_catalog:
        notes.append(f"no recipe profile for {model.id} on {gpu.product}; planned from the architecture")
    return Selection(req, None, req.gpus or 0, first, req.backend or DEFAULT_BACKEND, req.metric or DEFAULT_METRIC,
                     tuple(notes))
