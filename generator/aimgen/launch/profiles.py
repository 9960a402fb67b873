"""Which recipe profile the launcher runs: the resolver protocol and a minimal recipe-file resolver.

`select_resolver` makes the same choice `aimgen render` makes, so a pod launched from the AIM environment
contract runs the command the manifests show.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple, Protocol


from aimgen.console import console
from aimgen.errors import NoFeasiblePlan


class ResolvedProfile(NamedTuple):
    runtime_name: str
    args: dict[str, Any]  # complete engine args (parallelism included), flag names without dashes
    env: dict[str, str]
    checkpoint: str | None = None  # the repo to load when it differs from the model id (pre-quantized)


class ProfileResolver(Protocol):
    def __call__(self, model: str, gpu: str, gpus: int, precision: str | None, metric: str | None,
                 backend: str | None, profile_id: str | None, *, pinned: bool = True) -> ResolvedProfile:
        """`gpus` is how many GPUs the launch may use, exactly that many when `pinned` (AIM_GPU_COUNT);
        raise NoFeasiblePlan when nothing fits."""


def select_resolver(recipes_dir: Path | None = None) -> ProfileResolver:
    """The profile `aimgen render` would choose (aimgen.select + aimgen.compose), for the GPUs this pod sees:
    the pinned profile id if given, else what select() gives with the pod's GPUs as the pool (docs/selection.md). `recipes_dir` replaces the bundled recipes/models/ (tests, custom recipes)."""

    def resolve(model: str, gpu: str, gpus: int, precision: str | None, metric: str | None,
                backend: str | None, profile_id: str | None, *, pinned: bool = True) -> ResolvedProfile:
        from dataclasses import replace

        from aimgen.catalog.gpus import get_gpu
        from aimgen.catalog.models import get_model
        from aimgen.catalog.nodepool import default_pool
        from aimgen.compose import realize
        from aimgen.recipes.load import load_recipe, profiles_for
        from aimgen.select import Request, Selection, select

        catalog_model = get_model(model)
        pool = replace(default_pool(get_gpu(gpu)), gpus_per_node=gpus)
        profiles = None
        if recipes_dir is not None:
            profiles = [p for path in sorted(Path(recipes_dir).glob("*.yaml")) for p in load_recipe(path)]
        if profile_id:
            known = profiles if profiles is not None else profiles_for(catalog_model.id)
            chosen = next((p for p in known if p.id == profile_id), None)
            if chosen is None:
                raise NoFeasiblePlan(f"AIM_PROFILE_ID {profile_id!r} is not a profile of {model}; "
                                     f"profiles: {', '.join(p.id for p in known) or 'none'}")
            req = Request(catalog_model, replace(pool, gpus_per_node=max(gpus, chosen.gpus)), chosen.gpus,
                          chosen.precision, chosen.backend, chosen.metric)
            selection = Selection(req, chosen, chosen.gpus, chosen.precision, chosen.backend, chosen.metric)
        else:
            req = Request(catalog_model, pool, gpus if pinned else None, precision, backend, metric)
            selection = select(req, profiles)
        for line in selection.fallbacks:
            console.warning(line, event="profile_fallback")
        decision = realize(selection, "launch")
        console.info(f"profile {decision.serving.profile_id}", event="profile_selected",
                     profile=decision.serving.profile_id, source=decision.serving.source_title)
        return ResolvedProfile(decision.runtime.plugin, dict(decision.engine_flags),
                               dict(decision.serving.env), decision.serving.checkpoint)

    return resolve
