"""Convert AMD AIM runtime profiles (aim-build `profiles/<org>/<model>/vllm-<gpu>-<precision>-tp<N>-<metric>.yaml`)
into our recipe documents, one per model.

AIM shape::

    aim_id: Qwen/Qwen3-32B             # the model
    model_id: Qwen/Qwen3-32B-FP8       # the weights (a pre-quantized repo, or the model itself)
    metadata: {engine: vllm, gpu: MI300X, gpu_count: 1, precision: fp8, metric: latency,
               type: optimized|preview|general|unoptimized, manual_selection_only: bool, primary: bool}
    engine_args: {max-model-len: 32768, async-scheduling: null, ...}   # null = bare switch
    env_vars: {VLLM_ROCM_USE_AITER: '1', ...}

Kept: every profile aimgen can render, and every auto-selectable mark; a profile for a GPU that cannot run its
precision under aimgen's rule (gpt-oss MXFP4 on gfx90a) is skipped with a warning. AIM serves exactly one `primary` profile per (GPU, metric) (aim-build
docs/aim_conventions.md); where a profile carries none (the 0.9 snapshot predates the field) the primary is the
auto-selectable profile (type optimized, preview or general, not manual_selection_only) of the best type, then
the fewest GPUs. It becomes the recipe's `defaults:` for that GPU and metric; the type goes into each profile's
note. Changed, each with a warning: flags current vLLM removed, flags aimgen renders, `--trust-remote-code`,
benchmark-only switches (`no-enable-prefix-caching`), quick-reduce on one GPU. Pure: catalogs in, document out.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Mapping

from aimgen.catalog.compat import runnable
from aimgen.catalog.gpus import Gpu
from aimgen.catalog.models import CatalogModel
from aimgen.constants import METRICS
from aimgen.findings import ERROR, Finding
from aimgen.loading import InvalidDocument
from aimgen.recipes.engine_rules import ENGINE_ENV_PREFIXES
from aimgen.recipes.seed_import import _env, _model, _normalise_args, _Report

AIM_REPO = "amd-enterprise-ai/aim-build"
AIM_COMMIT = "2be2cf8ff7f0810fce19fbf75c0c8363a8680748"
# AIM's auto-selectable types, best first; unoptimized profiles are chosen only on request.
TYPE_RANK = {"optimized": 0, "preview": 1, "general": 2}
# Switches that only make random-prompt benchmarks honest (docs/recipes.md); prefix caching helps chat traffic.
BENCHMARK_ONLY = {"no-enable-prefix-caching"}


@dataclass(frozen=True)
class AimImport:
    recipes: tuple[dict, ...]  # one per model, in the order first seen
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class _Converted:
    model: str
    profile: dict
    type: str
    auto: bool  # auto-selectable in AIM
    primary: bool | None


def _precision(meta: Mapping, args: Mapping, checkpoint_precision: str | None) -> str:
    """AIM writes fp16 for 16-bit serving; the dtype flag says which 16-bit type the engine computes in."""
    raw = str(meta.get("precision", "")).lower()
    if raw in ("fp16", "bf16", "bfloat16", "float16"):
        return "fp16" if str(args.get("dtype", "")).lower() in ("float16", "half") else "bf16"
    # AIM writes fp4 for OCP MXFP4 (the only 4-bit float AMD Instinct GPUs run)
    return checkpoint_precision or {"fp4": "mxfp4"}.get(raw, raw)


def convert_profile(doc: Any, where: str, *, gpus: Mapping[str, Gpu], models: Mapping[str, CatalogModel],
                    report: _Report) -> _Converted | None:
    if not isinstance(doc, dict) or not isinstance(doc.get("metadata"), dict):
        report.error(where, "not an AIM model profile: expected aim_id, model_id, metadata, engine_args")
        return None
    meta = doc["metadata"]
    if str(meta.get("engine", "vllm")).lower() != "vllm":
        report.error(f"{where}: metadata.engine", f"engine {meta.get('engine')!r}: only vLLM AIM profiles exist to import")
        return None
    model, checkpoint = _model(doc.get("model_id") or doc.get("aim_id"), models, report)
    aim_id = doc.get("aim_id")
    if model and isinstance(aim_id, str) and aim_id != model and aim_id in models:
        # model_id names weights the catalog does not list under aim_id
        report.error(f"{where}: model_id", f"{doc.get('model_id')} is not a checkpoint of {aim_id} in recipes/catalog/models.yaml; "
                                           f"add it under checkpoints.<precision> first")
        return None
    gpu = gpus.get(str(meta.get("gpu", "")).lower())
    count = meta.get("gpu_count")
    metric = str(meta.get("metric", "")).lower()
    if gpu is None:
        report.error(f"{where}: metadata.gpu", f"unknown GPU {meta.get('gpu')!r}; known: {', '.join(sorted(gpus))}")
    if not isinstance(count, int) or isinstance(count, bool) or count not in (1, 2, 4, 8, 16, 32):
        report.error(f"{where}: metadata.gpu_count", f"{count!r} is not a GPU count (1, 2, 4, 8, 16, 32)")
    if metric not in METRICS:
        report.error(f"{where}: metadata.metric", f"{metric!r} is not one of: {', '.join(METRICS)}")
    raw_args = doc.get("engine_args") or {}
    if not isinstance(raw_args, dict):
        report.error(f"{where}: engine_args", "expected a mapping of flag: value (null for a bare switch)")
    if model is None or gpu is None or metric not in METRICS or not isinstance(raw_args, dict) or count not in (1, 2, 4, 8, 16, 32):
        return None
    known = models.get(model)
    ck_precision = next((p for p, repo in known.checkpoints.items() if repo == checkpoint), None) if known and checkpoint else None
    precision = _precision(meta, raw_args, ck_precision)
    if known and not runnable(gpu, precision, known):
        # AIM ships whole GPU families; one we would refuse to render is left out, loudly, not half-converted
        report.warn(f"{where}: metadata.precision", f"skipped: {gpu.product} ({gpu.gfx}) cannot run {precision} "
                                                    f"(aimgen's precision rule, docs/recipes.md)")
        return None
    pairs = [(name, True if value is None else value) for name, value in raw_args.items()]
    args = _normalise_args(pairs, count, "vllm", f"{where}: engine_args", report)
    env = _env(doc.get("env_vars"), count, "vllm", f"{where}: env_vars", where, report)
    if args is None or env is None:
        return None
    for name in sorted(BENCHMARK_ONLY & set(args)):
        report.warn(f"{where}: engine_args", f"dropped --{name}: a benchmark switch; prefix caching helps real chat traffic")
        del args[name]
    args.pop("no-trust-remote-code", None)  # vLLM's default already
    kind = str(meta.get("type", "unoptimized")).lower()
    auto = kind in TYPE_RANK and not meta.get("manual_selection_only", False)
    path = PurePosixPath(where)
    # A file of the pinned aim-build snapshot is cited by repository and commit; any other file by its name.
    shipped = "profiles" in path.parts and "aim-build" in path.parts
    repo_path = "/".join(path.parts[path.parts.index("profiles"):]) if shipped else None
    note = [f"AIM {kind} profile" + ("" if auto else " (AIM selects it only on request)")]
    foreign = [n for n in env if not n.startswith(ENGINE_ENV_PREFIXES)]
    if foreign:
        note.append(", ".join(f"{n}={env[n]}" for n in foreign) + " as the AIM profile sets it for ROCm")
    profile: dict[str, Any] = {"gpu": gpu.name, "gpus": count, "precision": precision, "backend": "vllm", "metric": metric}
    if checkpoint:
        profile["checkpoint"] = checkpoint
    profile["args"] = copy.deepcopy(args)
    if env:
        profile["env"] = env
    profile["source"] = {"title": f"AMD AIM profile {path.name}"}
    if repo_path:
        profile["source"].update(repo=AIM_REPO, path=repo_path, commit=AIM_COMMIT, upstream=f"aim-build/{repo_path}")
    profile["source"]["note"] = "; ".join(note) + "."
    primary = meta.get("primary")
    return _Converted(model, profile, kind, auto, primary if isinstance(primary, bool) else None)


def _defaults(items: list[_Converted]) -> dict:
    """AIM's primary per (GPU, metric), written as our default mark x<gpus>-<precision>-<backend>."""
    out: dict[str, dict[str, str]] = {}
    groups: dict[tuple[str, str], list[_Converted]] = {}
    for c in items:
        groups.setdefault((c.profile["gpu"], c.profile["metric"]), []).append(c)
    for (gpu, metric), group in sorted(groups.items()):
        marked = [c for c in group if c.primary]
        if not marked:
            marked = sorted((c for c in group if c.auto), key=lambda c: (TYPE_RANK[c.type], c.profile["gpus"]))[:1]
        if marked:
            p = marked[0].profile
            out.setdefault(gpu, {})[metric] = f"x{p['gpus']}-{p['precision']}-{p['backend']}"
    return out


def convert_aim(docs: list[tuple[str, Any]], *, gpus: Mapping[str, Gpu], models: Mapping[str, CatalogModel],
                source: str) -> AimImport:
    """(path, parsed profile) pairs → one recipe per model. Raises InvalidDocument with every error found."""
    report = _Report(source, "AIM")
    by_model: dict[str, list[_Converted]] = {}
    seen: dict[tuple, str] = {}
    for where, doc in docs:
        converted = convert_profile(doc, where, gpus=gpus, models=models, report=report)
        if converted is None:
            continue
        p = converted.profile
        key = (converted.model, p["gpu"], p["gpus"], p["precision"], p["backend"], p["metric"])
        if key in seen:
            report.error(where, f"same model, GPU, count, precision and metric as {seen[key]}; keep one of them")
            continue
        seen[key] = where
        by_model.setdefault(converted.model, []).append(converted)
    if not by_model and not report.failed:
        report.error(source, "no AIM model profiles found (profiles/<org>/<model>/vllm-*.yaml)")
    if report.failed:
        raise InvalidDocument(list(dict.fromkeys(f for f in report.items if f.level == ERROR)))
    recipes = []
    for model, items in by_model.items():
        recipe: dict[str, Any] = {"model": model, "description": f"Imported from AMD AIM profiles ({len(items)}) of {model}."}
        defaults = _defaults(items)
        if defaults:
            recipe["defaults"] = defaults
        recipe["profiles"] = [c.profile for c in items]
        recipes.append(recipe)
    return AimImport(tuple(recipes), tuple(dict.fromkeys(report.items)))
