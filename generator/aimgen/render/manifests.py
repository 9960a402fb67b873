"""Every object one DeploymentSpec renders to, in apply order."""

from __future__ import annotations

from aimgen.constants import API_LLMISVC
from aimgen.render import exposure, kserve, llmisvc, monitoring
from aimgen.spec import DeploymentSpec


def render_all(spec: DeploymentSpec) -> list[dict]:
    workloads = llmisvc.render(spec) if spec.api == API_LLMISVC else None
    return kserve.render(spec, workloads) + exposure.render(spec) + monitoring.render(spec)
