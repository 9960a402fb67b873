"""Planning: a model's architecture and a GPU pool in, a deployment shape with its arithmetic out.

arch (config.json → ModelArch) → memory (params, weight and KV bytes) → fit (one shape's budget) → planner (the
smallest shape, engine settings, env, reasons). Pure functions; the only I/O is the GPU catalog read for
suggestions when nothing fits.
"""

from aimgen.planning.arch import ModelArch, arch_from_config
from aimgen.planning.fit import Fit, fit_check
from aimgen.planning.planner import Plan, plan

__all__ = ["ModelArch", "arch_from_config", "Fit", "fit_check", "Plan", "plan"]
