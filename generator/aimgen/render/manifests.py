"""Every object one DeploymentSpec renders to, in apply order."""

from __future__ import annotations

from aimgen.render import exposure, kserve, monitoring
from aimgen.spec import DeploymentSpec


def render_all(spec: DeploymentSpec) -> list[dict]:
    return kserve.render(spec) + exposure.render(spec) + monitoring.render(spec)
