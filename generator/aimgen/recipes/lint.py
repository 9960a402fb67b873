"""Checks on recipe profiles beyond schema and catalog: args and env the pinned engine does not accept (its
snapshot), flags current engines removed, settings aimgen renders itself, quick-reduce on one GPU, ROCm env
without a stated reason, and citations that resolve."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from aimgen.findings import ERROR, Finding
from aimgen.parallel import from_flags
from aimgen.recipes.engine_rules import (
    ENGINE_ENV_PREFIXES,
    QUICK_REDUCE_ENV,
    REMOVED_VLLM_ENV,
    REMOVED_VLLM_FLAGS,
    RENDERED_FLAGS,
)
from aimgen.recipes.model import Profile


def lint_profile(p: Profile, known_refs: set[str] | None, upstream_dir: Path | None = None) -> list[Finding]:
    out: list[Finding] = []

    def err(field: str, message: str) -> None:
        out.append(Finding(ERROR, "RECIPE-LINT", p.file, f"profiles[{p.index}].{field}", message))

    for name in p.args:
        if p.backend == "vllm" and name in REMOVED_VLLM_FLAGS:
            err(f"args.{name}", f"--{name} is not a flag of current vLLM ({REMOVED_VLLM_FLAGS[name]}); remove it")
        if name in RENDERED_FLAGS:
            err(f"args.{name}", f"--{name} is set by aimgen (from gpus, nodes and the deployment); remove it from args")
    for name in p.env:
        if p.backend == "vllm" and name in REMOVED_VLLM_ENV:
            err(f"env.{name}", f"{name} is not read by current vLLM; remove it")
        if name in QUICK_REDUCE_ENV and p.gpus < 2:
            err(f"env.{name}", "quick-reduce quantizes all-reduce between GPUs; it only belongs in profiles with gpus > 1")
        if not name.startswith(ENGINE_ENV_PREFIXES) and name not in p.source.get("note", ""):
            err(f"env.{name}", f"{name} is not an engine setting; say why it is set by naming it in source.note")
    shape = from_flags(p.gpus, p.nodes, p.args)
    problems = shape.problems() or ([] if shape.world_size == p.gpus else
                                    [f"gpus {p.gpus} is not TP x PP x DP of {shape.label}"])
    if problems:
        err("nodes", f"{problems[0]}; make gpus a multiple of nodes x data-parallel-size")
    ref = p.source.get("ref")
    if ref and known_refs is not None and ref not in known_refs:
        err("source.ref", f"{ref!r} is not a record id in amd/reference-configs.yaml")
    upstream = p.source.get("upstream")
    if upstream and upstream_dir is not None:
        problem = upstream_problem(upstream_dir, upstream)
        if problem:
            err("source.upstream", problem)
    return out


def lint_engine_config(profiles: Iterable[Profile]) -> list[Finding]:
    """Each profile's args and env against the snapshot of the engine version its runtime pins (its `runtime:`, else
    its backend's default): the check render and launch run, so a flag, choice or parser name the engine lacks
    fails here and not in a pod."""
    from aimgen.runtimes.flags import check_engine_config

    return [f for p in profiles
            for f in check_engine_config(p.serving_runtime(), p.args, p.env, file=p.file,
                                         path=f"profiles[{p.index}]")
            if f.level == ERROR]


def upstream_problem(upstream_dir: Path, upstream: str) -> str | None:
    """Why `upstream` (a file under ../shared/upstream-configs, optionally #entry of an InferenceX matrix) does not
    resolve, or None."""
    from aimgen.recipes.upstream import upstream_entry

    path, _, key = upstream.partition("#")
    if not (upstream_dir / path).is_file():
        return f"{path} is not a file in ../shared/upstream-configs"
    if key and upstream_entry(upstream_dir, path, key) is None:
        return f"{path} has no entry {key!r}"
    return None


def lint_profiles(profiles: Iterable[Profile], known_refs: set[str] | None = None,
                  upstream_dir: Path | None = None) -> list[Finding]:
    return [f for p in profiles for f in lint_profile(p, known_refs, upstream_dir)]


def reference_ids(path: Path) -> set[str] | None:
    """Record ids of the shared expert reference configs, or None where that file is not shipped (runtime image)."""
    import yaml

    try:
        # 2,400 lines: the C loader keeps `recipes check` quick where libyaml is built in
        records = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(records, list):
        return None
    return {r["id"] for r in records if isinstance(r, dict) and isinstance(r.get("id"), str)}


def lint_features(path: Path, profiles: list) -> list[Finding]:
    """A recipe's features: args that every engine version the recipe's profiles of each backend run on accepts (their
    runtime's), none aimgen renders, none that changes a profile's flag or that another feature sets (a feature is
    words appended to the command line, recipes/features.py)."""
    from aimgen.recipes.features import backends_of, conflicts, features_for
    from aimgen.runtimes.flags import check_engine_config
    from aimgen.runtimes.registry import runtime_for_backend

    out: list[Finding] = []
    model = profiles[0].model if profiles else ""
    if not model or path.resolve() != _recipe_path(model).resolve():
        return out  # features are read from recipes/models/ only
    set_by: dict[str, str] = {}
    for name, feature in features_for(model).items():
        at = f"features.{name}"
        for flag in feature["args"]:
            if flag in set_by:
                out.append(Finding(ERROR, "RECIPE-LINT", str(path), f"{at}.args.{flag}",
                                   f"feature {set_by[flag]} already sets --{flag}; each flag belongs to one feature"))
            set_by.setdefault(flag, name)
        for p in profiles:
            if p.backend in backends_of(feature) and (changed := conflicts(feature, p.args)):
                out.append(Finding(ERROR, "RECIPE-LINT", str(path), f"{at}.args.{changed[0]}",
                                   f"profile {p.id} sets --{changed[0]} {p.args[changed[0]]}: a feature only adds "
                                   f"flags; give both the same value or drop it from the feature"))
        for backend in backends_of(feature):
            # against every engine version the recipe's profiles of that backend run on (their `runtime:`)
            for name in sorted({p.runtime for p in profiles if p.backend == backend} or {None}, key=str):
                out.extend(f for f in check_engine_config(runtime_for_backend(backend, name), feature["args"], {},
                                                          file=str(path), path=at) if f.level == ERROR)
            out.extend(Finding(ERROR, "RECIPE-LINT", str(path), f"{at}.args.{flag}", f"--{flag} is set by aimgen; a feature cannot set it")
                       for flag in feature["args"] if flag in RENDERED_FLAGS)
    return out


def _recipe_path(model: str) -> Path:
    from aimgen.recipes.load import recipe_path

    return recipe_path(model)


def check_recipes(files: list[Path] | None = None) -> tuple[list[Finding], int]:
    """Every finding for the given recipe files (default: all of recipes/models/) and how many profiles loaded."""
    from aimgen import paths
    from aimgen.catalog.gpus import load_gpus
    from aimgen.catalog.models import load_models
    from aimgen.errors import InvalidInput
    from aimgen.loading import InvalidDocument
    from aimgen.recipes.load import load_recipe, recipe_files

    findings: list[Finding] = []
    count = 0
    try:  # a broken catalog would otherwise be reported once per recipe file
        load_gpus()
        load_models()
    except InvalidDocument as exc:
        return list(exc.findings), 0
    except InvalidInput as exc:
        return [Finding(ERROR, "CATALOG", exc.file or "", exc.path or "", exc.message)], 0
    refs = reference_ids(paths.shared_dir() / "amd" / "reference-configs.yaml")
    upstream_dir = paths.shared_dir() / "upstream-configs"
    upstream_dir = upstream_dir if upstream_dir.is_dir() else None  # not shipped in the runtime image
    for path in files if files is not None else recipe_files():
        try:
            profiles = load_recipe(Path(path))
        except InvalidDocument as exc:
            findings.extend(exc.findings)
            continue
        except InvalidInput as exc:
            findings.append(Finding(ERROR, "RECIPE", exc.file or str(path), exc.path or "", exc.message))
            continue
        count += len(profiles)
        linted = lint_profiles(profiles, refs, upstream_dir)
        reported = {(f.file, f.path) for f in linted}  # a flag the lint names as removed is not named twice
        findings.extend(linted)
        findings.extend(f for f in lint_engine_config(profiles) if (f.file, f.path) not in reported)
        findings.extend(lint_features(Path(path), profiles))
    return findings, count
