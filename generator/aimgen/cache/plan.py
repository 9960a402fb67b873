"""Pure helpers the renderer calls: how big the cache volume should be, how the prefetch is invoked, and the
environment a serving container needs to read the cache with no network. No I/O here."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping

from aimgen.cache.layout import check_model_id, check_revision
from aimgen.constants import GIB

HEADROOM_FRACTION = 0.15  # tokenizer/config files, filesystem overhead, a changed shard or two of a new revision
HEADROOM_FIXED = 2 * GIB
MIN_CACHE_BYTES = 10 * GIB


def cache_size_bytes(weights_bytes: int) -> int:
    """Recommended cache volume size for a model whose files total `weights_bytes`: +15% +2 GiB, rounded up to a
    whole GiB, at least 10 GiB. Keeping two full revisions side by side needs twice this (or a prune in between)."""
    if weights_bytes < 0:
        raise ValueError("weights_bytes must be >= 0")
    wanted = weights_bytes * (1 + HEADROOM_FRACTION) + HEADROOM_FIXED
    return max(MIN_CACHE_BYTES, math.ceil(wanted / GIB) * GIB)


def extra_cache_gib(size_bytes: int | None) -> int:
    """Whole GiB of claim a repo prefetched beside the checkpoint (a draft model) adds: its size +15%, rounded up;
    0 when its size is unknown (nothing is added: the caller says so rather than guess)."""
    if not size_bytes:
        return 0
    return math.ceil(size_bytes * (1 + HEADROOM_FRACTION) / GIB)


def prefetch_args(model_id: str, revision: str, cache_dir: str, allow_patterns: list[str] | tuple[str, ...] = (),
                  *, token_file: str | None = None, allow_pickle: bool = False) -> list[str]:
    """argv after the `aimgen` executable for the init container and the prefetch Job. Give the token either as
    HF_TOKEN from a Secret (env) or as a mounted Secret file (token_file); it never appears in the argv itself."""
    check_model_id(model_id)
    check_revision(revision)
    args = ["cache", "prefetch", model_id, "--revision", revision, "--cache-dir", cache_dir]
    for pattern in allow_patterns:
        args += ["--allow-pattern", pattern]
    if allow_pickle:
        args.append("--allow-pickle")
    if token_file:
        args += ["--token-file", token_file]
    return args


def prefetch_env() -> dict[str, str]:
    """Env for the prefetch container: JSON progress lines, no telemetry, Xet's chunk cache kept off the volume."""
    return {
        "AIMGEN_LOG_FORMAT": "json",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_XET_CACHE": "/tmp/hf-xet",
        "HF_XET_CHUNK_CACHE_SIZE_BYTES": "0",
    }


COMPILE_DIR = "compile"


def compile_cache_key(image: str) -> str:
    """The folder of one engine image's compile caches: readable (the image's last path part and tag) and exact (a
    hash of the whole reference), so two builds never share compiled kernels even when their names look alike."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", image.rsplit("/", 1)[-1])[:60].strip("-.") or "image"
    return f"{readable}-{hashlib.sha256(image.encode()).hexdigest()[:12]}"


def compile_cache_env(cache_dir: str, image: str, gfx: str, caches: Mapping[str, str]) -> dict[str, str]:
    """Env that puts the engine's compile/JIT caches (the runtime's `compile_caches`) on the cache volume, under
    <cache>/compile/<image key>/<gfx>/: a kernel compiled by one build for one GPU architecture is never loaded by
    another. The pod's fsGroup makes the volume writable by the non-root engine, which creates the folders."""
    root = cache_dir.rstrip("/") or "/"
    base = f"{root}/{COMPILE_DIR}/{compile_cache_key(image)}/{gfx}"
    return {name: f"{base}/{sub}" for name, sub in sorted(caches.items())}


_SNAPSHOT_FOLDER = re.compile(r"^(?P<hub>/.+)/(?P<folder>models--[^/]+)/snapshots/(?P<commit>[0-9a-f]{40})/?$")


def hub_dir(cache_dir: str) -> str:
    """Where the prefetch writes the Hugging Face layout on the cache volume (HF_HUB_CACHE)."""
    return f"{cache_dir.rstrip('/') or ''}/hub"


def snapshot_folder(hub: str, repo: str, revision: str) -> str | None:
    """The folder a prefetch of `repo` at commit `revision` fills in the Hub cache `hub`: what an engine with no
    revision flag (ATOM) is given as its model, since a pinned prefetch writes no refs/main for it to resolve
    offline. None when `revision` is not a full commit (a branch is resolved from the repo id)."""
    from aimgen.cache.layout import is_commit, repo_folder

    return f"{hub}/{repo_folder(repo)}/snapshots/{revision}" if is_commit(revision) else None


def read_snapshot_folder(path: str) -> tuple[str, str, str] | None:
    """(hub, repo, commit) of a folder snapshot_folder() names; None for any other path."""
    from aimgen.cache.layout import model_from_folder

    found = _SNAPSHOT_FOLDER.match(path)
    repo = model_from_folder(found.group("folder")) if found else None
    return (found.group("hub"), repo, found.group("commit")) if repo else None


def serving_env(cache_dir: str) -> dict[str, str]:
    """Env for the serving container: the engine loads the model by its id from the cache, with no network and no
    token. The volume may be mounted read-only; Python modules of trust_remote_code models go to /tmp."""
    root = cache_dir.rstrip("/") or "/"
    return {
        "HF_HOME": root,
        "HF_HUB_CACHE": hub_dir(root),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_MODULES_CACHE": "/tmp/hf-modules",
    }
