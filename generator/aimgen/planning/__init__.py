"""Planning: a model's architecture and a GPU pool in, a deployment shape with its arithmetic out.

arch (config.json → ModelArch) → memory (params, weight and KV bytes) → fit (one shape's budget) → planner (the
smallest shape, engine settings, env, reasons). Pure functions; the only I/O is the GPU catalog read for
suggestions when nothing fits.
"""

from importlib import import_module

# Resolved on first use, so that importing one planning module (a cited profile's fit) does not load the planner's
# search as well: start-up time of `aimgen render`.
_EXPORTS = {"ModelArch": "arch", "arch_from_config": "arch", "Fit": "fit", "fit_check": "fit", "Plan": "planner",
            "plan": "planner"}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"aimgen.planning.{_EXPORTS[name]}"), name)
