"""Load every recipe under recipes/models/ into profiles, checking schema and cross-references."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from aimgen import paths, secrets
from aimgen.catalog.compat import runnable
from aimgen.catalog.gpus import load_gpus
from aimgen.catalog.models import load_models
from aimgen.findings import ERROR, Finding, json_path
from aimgen.loading import InvalidDocument, load_checked
from aimgen.recipes.model import Profile
from aimgen.runtimes.registry import runtime_gpu_problem, runtime_problem
from aimgen.yamlio import line_of


def recipe_files() -> list[Path]:
    return sorted((paths.recipes_dir() / "models").glob("*.yaml"))


def _is_default(data: dict, p: dict) -> bool:
    named = (data.get("defaults") or {}).get(p["gpu"], {}).get(p["metric"])
    return named == f"x{p['gpus']}-{p['precision']}-{p['backend']}"


def profiles_from(data: dict, file: str) -> list[Profile]:
    return [
        Profile(
            model=data["model"],
            gpu=p["gpu"],
            gpus=p["gpus"],
            precision=p["precision"],
            backend=p["backend"],
            metric=p["metric"],
            args=dict(p["args"]),
            env=dict(p.get("env", {})),
            source=dict(p["source"]),
            checkpoint=p.get("checkpoint"),
            revision=p.get("revision"),
            nodes=p.get("nodes", 1),
            trust_remote_code_reason=(p.get("trust_remote_code") or {}).get("reason"),
            file=file,
            index=i,
            default=_is_default(data, p),
            runtime=p.get("runtime"),
        )
        for i, p in enumerate(data["profiles"])
    ]


def check_defaults(data: dict, profiles: list[Profile], file: str, lines: dict) -> list[Finding]:
    """Every shape `defaults:` names is a profile of the file for that GPU and metric."""
    shapes = {(p.gpu, p.metric, p.shape) for p in profiles}
    findings = []
    for gpu, by_metric in (data.get("defaults") or {}).items():
        for metric, shape in by_metric.items():
            if (gpu, metric, shape) not in shapes:
                line = line_of(lines, ("defaults", gpu, metric))
                offered = sorted(s for g, m, s in shapes if g == gpu and m == metric)
                findings.append(Finding(ERROR, "RECIPE", f"{file}:{line}" if line else file,
                                        f"defaults.{gpu}.{metric}",
                                        f"{shape!r} names no {metric} profile on {gpu}; "
                                        f"{metric} profiles there: {', '.join(offered) or 'none'}"))
    return findings


def cross_check(profiles: list[Profile], file: str, lines: dict) -> list[Finding]:
    """What the schema cannot say: known model and GPU, unique keys, trust_remote_code only with a reason."""
    gpus, models = load_gpus(), load_models()
    findings: list[Finding] = []
    seen: dict[tuple, int] = {}

    def add(index: int, field_: str, message: str) -> None:
        line = line_of(lines, ("profiles", index, field_))
        findings.append(Finding(ERROR, "RECIPE", f"{file}:{line}" if line else file, f"profiles[{index}].{field_}", message))

    for p in profiles:
        if p.model not in models:
            findings.append(Finding(ERROR, "RECIPE", file, "model", f"model {p.model!r} is not in recipes/catalog/models.yaml; add it there first"))
            break
        if p.gpu not in gpus:
            add(p.index, "gpu", f"unknown GPU {p.gpu!r}; known: {', '.join(sorted(gpus))}")
        elif not runnable(gpus[p.gpu], p.precision, models[p.model]):
            add(p.index, "precision", f"{p.gpu} ({gpus[p.gpu].gfx}) cannot run {p.precision}; use bf16 or a GPU that supports it")
        if p.key in seen:
            add(p.index, "metric", f"duplicate profile: same gpu/gpus/precision/backend/metric as profiles[{seen[p.key]}]")
        seen.setdefault(p.key, p.index)
        if p.runtime is not None and (problem := runtime_problem(p.backend, p.runtime)):
            add(p.index, "runtime", problem)
        elif p.gpu in gpus and (problem := runtime_gpu_problem(p.backend, p.runtime, p.gpu, gpus[p.gpu].gfx)):
            add(p.index, "runtime" if p.runtime else "backend", problem)
        if p.args.get("trust-remote-code") and not p.trust_remote_code_reason:
            add(p.index, "args", "trust-remote-code is off unless the profile says why: add trust_remote_code: {reason: ...}")
    return findings


def secret_findings(data: Any, file: str, lines: dict) -> list[Finding]:
    """Credentials in a recipe: token-named flags and env names (with any value) and token-shaped text anywhere."""
    found: list[tuple[tuple, str]] = []
    profiles = data.get("profiles") if isinstance(data, dict) else None  # screened before the schema check
    for i, p in enumerate(profiles if isinstance(profiles, list) else []):
        args, env = (p.get("args"), p.get("env")) if isinstance(p, dict) else (None, None)
        found += [(("profiles", i, *where.split(".", 1)), message) for where, message in
                  secrets.args_env_problems(args if isinstance(args, dict) else {}, env if isinstance(env, dict) else {})]
    flagged = {path[:4] for path, _ in found}
    found += [(path, f"a token-shaped value or a URL with a password is refused; {secrets.INSTEAD}")
              for path in secrets.secret_paths(data) if path[:4] not in flagged]
    out = []
    for path, message in found:
        line = line_of(lines, path)
        out.append(Finding(ERROR, "SECRET", f"{file}:{line}" if line else file, json_path(path), message))
    return out


def load_recipe(path: Path) -> list[Profile]:
    # Secrets first: a schema message may quote the value it refuses.
    data, lines = load_checked(path, "recipe", "recipe", screen=secret_findings)
    profiles = profiles_from(data, str(path))
    findings = cross_check(profiles, str(path), lines) + check_defaults(data, profiles, str(path), lines)
    if findings:
        raise InvalidDocument(findings)
    return profiles


@lru_cache(maxsize=None)
def _load_cached(path: Path) -> tuple[Profile, ...]:
    return tuple(load_recipe(path))


def load_all_profiles() -> tuple[Profile, ...]:
    out: list[Profile] = []
    for path in recipe_files():
        out.extend(_load_cached(path))
    return tuple(out)


def recipe_path(model_id: str) -> Path:
    """Each model's recipe lives in recipes/models/<repo name, lower-case>.yaml (a test holds every file to it)."""
    return paths.recipes_dir() / "models" / f"{model_id.split('/')[-1].lower()}.yaml"


def profiles_for(model_id: str) -> list[Profile]:
    # Read one file, not the whole catalog: `aimgen render` start-up stays flat as recipes grow.
    path = recipe_path(model_id)
    if not path.exists():
        return []
    return [p for p in _load_cached(path) if p.model == model_id]
