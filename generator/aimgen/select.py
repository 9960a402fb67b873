"""Pick the profile for a request: the recipe's exact profile when the pool can offer it, else the nearest one,
each fallback stated; no recipe → the planner. What gives way first is the GPU count (8 → 4 → 2 → 1 within the
pool), then precision, then metric, and the backend last."""

from __future__ import annotations

from dataclasses import dataclass, field

from aimgen.catalog.compat import default_precision, runnable
from aimgen.catalog.models import CatalogModel
from aimgen.catalog.nodepool import NodePool
from aimgen.constants import BACKENDS, METRICS, PRECISIONS
from aimgen.errors import NoFeasiblePlan, UsageError
from aimgen.recipes.load import profiles_for
from aimgen.recipes.model import Profile

GPU_LADDER = (32, 16, 8, 4, 2, 1)


@dataclass(frozen=True)
class Request:
    model: CatalogModel
    pool: NodePool
    gpus: int | None = None
    precision: str | None = None
    backend: str = "vllm"
    metric: str | None = "latency"  # None: no preference (the launcher then fills the pod's GPUs first)
    max_model_len: int | None = None
    features: tuple[str, ...] = ()  # recipe features to switch on (aimgen.recipes.features)


@dataclass(frozen=True)
class Selection:
    """What will be deployed and why: a recipe profile, or None when the planner decides alone."""

    request: Request
    profile: Profile | None
    gpus: int
    precision: str
    backend: str
    metric: str
    fallbacks: tuple[str, ...] = field(default=())

    @property
    def source(self) -> str:
        return "recipe" if self.profile else "planner"


def _check_request(req: Request) -> None:
    if req.backend not in BACKENDS:
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


def _fits_pool(p: Profile, pool: NodePool) -> bool:
    per_node = p.gpus // p.nodes
    return p.nodes <= pool.nodes and per_node <= pool.gpus_per_node


def _gpu_rank(requested: int | None, gpus: int) -> tuple[int, int]:
    if requested is None:
        return (0, gpus)  # fewest GPUs that carry a profile
    if gpus == requested:
        return (0, 0)
    if gpus < requested:
        return (1, requested - gpus)  # step down the ladder first: 8 → 4 → 2 → 1
    return (2, gpus - requested)


def precision_preference(model: CatalogModel, first: str) -> list[str]:
    """Precisions in the order a fallback tries them: the wanted one, the checkpoint's own, then bf16."""
    return list(dict.fromkeys([first, model.native_precision, "bf16", "fp8", "mxfp4", "fp16", "int8", "int4"]))


def select(req: Request, profiles: list[Profile] | None = None) -> Selection:
    """`profiles` replaces the model's recipe (the launcher's --recipes folder); default: recipes/models/."""
    _check_request(req)
    gpu, model = req.pool.gpu, req.model
    fallbacks: list[str] = []
    precision = req.precision or default_precision(model, gpu)
    if not runnable(gpu, precision, model):
        alternative = default_precision(model, gpu)
        why = "no FP8 on " + gpu.gfx if precision == "fp8" else f"{precision} needs a GPU with native support"
        fallbacks.append(f"precision {precision} → {alternative}: {gpu.product} ({gpu.gfx}) cannot run {precision} ({why})")
        precision = alternative

    recipe = profiles_for(model.id) if profiles is None else [p for p in profiles if p.model == model.id]
    candidates = [p for p in recipe if p.gpu == gpu.name]
    feasible = [p for p in candidates if _fits_pool(p, req.pool) and runnable(gpu, p.precision, model)]
    if not feasible:
        if candidates:
            fallbacks.append(
                f"no recipe profile for {gpu.product} fits the pool {req.pool.name!r} "
                f"({req.pool.gpus_per_node} GPUs/node x {req.pool.nodes}); planning from the architecture"
            )
        elif recipe or model.in_catalog:
            fallbacks.append(f"no recipe profile for {model.id} on {gpu.product}; planning from the architecture")
        return Selection(req, None, req.gpus or 0, precision, req.backend, req.metric or "latency", tuple(fallbacks))

    precision_order = precision_preference(model, precision)

    def rank(p: Profile) -> tuple:
        return (
            p.backend != req.backend,
            precision_order.index(p.precision) if p.precision in precision_order else len(precision_order),
            req.metric is not None and p.metric != req.metric,
            _gpu_rank(req.gpus, p.gpus),
        )

    best = min(feasible, key=rank)
    if req.gpus is not None and best.gpus != req.gpus:
        if req.gpus > req.pool.gpus_per_node:
            why = f"the pool has {req.pool.gpus_per_node} GPUs per node"
        else:
            why = f"the recipe has no {req.gpus}-GPU {best.precision} profile"
        fallbacks.append(f"GPU count {req.gpus} → {best.gpus}: {why}")
    if best.precision != precision:
        fallbacks.append(f"precision {precision} → {best.precision}: the recipe has no {precision} profile for {gpu.product}")
    if req.metric is not None and best.metric != req.metric:
        fallbacks.append(f"metric {req.metric} → {best.metric}: the recipe has no {req.metric} profile for this shape")
    if best.backend != req.backend:
        fallbacks.append(f"backend {req.backend} → {best.backend}: the recipe has no {req.backend} profile for {gpu.product}")
    return Selection(req, best, best.gpus, best.precision, best.backend, best.metric, tuple(fallbacks))
