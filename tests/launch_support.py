"""Shared by the launcher tests: replay a recorded GPU case (fake amd-smi/rocm-smi on PATH, sysfs root)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import yaml

GPU_FIXTURES = Path(__file__).parent / "fixtures" / "gpus"
RECIPES = GPU_FIXTURES / "recipes"
CASES = sorted(p.name for p in GPU_FIXTURES.iterdir() if (p / "case.yaml").is_file())


def load_case(name: str) -> dict:
    return yaml.safe_load((GPU_FIXTURES / name / "case.yaml").read_text())


def replay_env(name: str, bin_dir: Path, *, tools: tuple[str, ...] = ("amd-smi", "rocm-smi")) -> dict[str, str]:
    """An environment whose PATH holds fake tools printing the case's recorded output, and whose sysfs root is
    the case's recorded tree. No real tool is reachable: PATH is the fake bin and the system's /usr/bin:/bin."""
    case_dir = GPU_FIXTURES / name
    bin_dir.mkdir(parents=True, exist_ok=True)
    for tool in tools:
        recorded = case_dir / f"{tool}.json"
        if recorded.is_file():
            script = bin_dir / tool
            script.write_text(f"#!/bin/sh\n# recorded `{tool} ... --json` output\ncat '{recorded}'\n")
            script.chmod(script.stat().st_mode | stat.S_IEXEC)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIM_", "HIP_", "ROCR_", "CUDA_VISIBLE", "HF_HOME", "AIMGEN_SYSFS"))}
    env["PATH"] = f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin"
    env["AIMGEN_SYSFS_ROOT"] = str(case_dir / "sysfs")
    env.update({k: str(v) for k, v in (load_case(name).get("env") or {}).items()})
    return env
