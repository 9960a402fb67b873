"""Where aimgen finds its data (recipes/, schemas/, runtimes/, charts/) and the shared CRDs.

In a checkout these are siblings of generator/; in the runtime image they are copied under
AIMGEN_DATA_DIR. The shared folder (CRDs, AMD facts) is ../shared beside the checkout unless
AIM_SHARED_DIR says otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    env = os.environ.get("AIMGEN_DATA_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2]


def recipes_dir() -> Path:
    return data_dir() / "recipes"


def schemas_dir() -> Path:
    return data_dir() / "schemas"


def runtimes_dir() -> Path:
    return data_dir() / "runtimes"


def chart_dir() -> Path:
    return data_dir() / "charts" / "aim-engine"


def shared_dir() -> Path:
    env = os.environ.get("AIM_SHARED_DIR")
    if env:
        return Path(env)
    return data_dir().parent / "shared"


def default_crd_dirs() -> list[Path]:
    """CRD folders used when neither --crds nor AIMGEN_CRD_DIR is given."""
    env = os.environ.get("AIMGEN_CRD_DIR")
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    root = shared_dir()
    found = sorted(p for p in root.glob("*/*/crds") if p.is_dir())
    return found


def user_cache_dir() -> Path:
    """aimgen's per-user cache: $XDG_CACHE_HOME/aimgen (default ~/.cache/aimgen)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "aimgen"


def shipped(path: Path | str) -> bool:
    """A file of the recipes or runtimes aimgen ships, read unchanged on every run: the only documents the
    start-up caches under user_cache_dir() keep (a user's own inputs would only grow them)."""
    try:
        real = Path(path).resolve()
    except OSError:
        return False
    return any(real.is_relative_to(root.resolve()) for root in (recipes_dir(), runtimes_dir()))
