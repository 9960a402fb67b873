"""Every object one DeploymentSpec renders to, in apply order."""

from __future__ import annotations

from aimgen.constants import API_LLMISVC
from aimgen.render import exposure, kserve, monitoring
from aimgen.spec import DeploymentSpec


def render_all(spec: DeploymentSpec) -> list[dict]:
    workloads = None
    if spec.api == API_LLMISVC:
        from aimgen.render import llmisvc  # loaded for that API only

        workloads = llmisvc.render(spec)
    return kserve.render(spec, workloads) + exposure.render(spec) + monitoring.render(spec)
