"""The chart's generated files, compiled from recipes/ and the catalog by `aimgen chart sync`:
charts/aim-engine/files/profiles.json (the profile table), the enums of charts/aim-engine/values.schema.json and
files/aimgen.pyz.b64 (the aimgen bundle pods run with the engine image's Python, aimgen.podbundle)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from aimgen import paths, podbundle
from aimgen.catalog.compat import default_precision, runnable
from aimgen.catalog.gpus import load_gpus
from aimgen.catalog.models import load_models
from aimgen.catalog.nodepool import default_pool
from aimgen.compose import realize
from aimgen.constants import BACKENDS, CACHE_MOUNT_PATH, METRICS, PRECISIONS
from aimgen.observability.chart_files import chart_files as observability_files
from aimgen.recipes.load import load_all_profiles
from aimgen.render.values import profile_entry, profile_key
from aimgen.select import GPU_LADDER, Request, Selection, precision_preference

TABLE_PATH = ("files", "profiles.json")
BUNDLE_PATH = ("files", "aimgen.pyz.b64")
SCHEMA_PATH = ("values.schema.json",)
# What an unspecified chart install asks for: the defaults of `aimgen render` (select.Request).
DEFAULT_BACKEND = Request.__dataclass_fields__["backend"].default
DEFAULT_METRIC = Request.__dataclass_fields__["metric"].default


def table_path() -> Path:
    return paths.chart_dir().joinpath(*TABLE_PATH)


def schema_path() -> Path:
    return paths.chart_dir().joinpath(*SCHEMA_PATH)


def build_table() -> dict:
    """profiles: every recipe profile by key; order: per model|gpu, the profiles a zero-config install may pick,
    best first, ranked as aimgen.select ranks them for the default request on the GPU's default pool (so the
    first one is what `aimgen render MODEL --gpu GPU` picks); gpus: device ids; cache: the env of the serving and
    prefetch containers (constants of aimgen.cache.plan the chart cannot compute)."""
    from aimgen.cache.plan import serving_env
    from aimgen.render.kserve import prefetch_env_vars

    models, gpus = load_models(), load_gpus()
    profiles: dict[str, dict] = {}
    by_model_gpu: dict[str, list] = {}
    for p in load_all_profiles():
        model, gpu = models[p.model], gpus[p.gpu]
        pool = replace(default_pool(gpu), nodes=max(1, p.nodes))
        req = Request(model=model, pool=pool, gpus=p.gpus, precision=p.precision, backend=p.backend, metric=p.metric)
        d = realize(Selection(req, p, p.gpus, p.precision, p.backend, p.metric), "table")
        entry = profile_entry(d.serving, d.runtime, CACHE_MOUNT_PATH)
        key = profile_key(entry)
        profiles[key] = entry
        group = by_model_gpu.setdefault(f"{p.model}|{p.gpu}", [])
        home = default_pool(gpu)
        if p.nodes > 1 or p.gpus > home.gpus_per_node or not runnable(gpu, p.precision, model):
            continue  # the default pool cannot run it: only reachable through `aimgen values --node-pool`
        preference = precision_preference(model, default_precision(model, gpu))
        rank = (
            p.backend != DEFAULT_BACKEND,
            preference.index(p.precision) if p.precision in preference else len(preference),
            p.metric != DEFAULT_METRIC,
            p.gpus,
            key,
        )
        group.append((rank, key))
    order = {k: [key for _, key in sorted(v)] for k, v in sorted(by_model_gpu.items()) if v}
    gpu_table = {name: {"deviceIds": list(g.device_ids), "product": g.product} for name, g in sorted(gpus.items())}
    return {
        "profiles": dict(sorted(profiles.items())),
        "order": order,
        "gpus": gpu_table,
        "cache": {
            "mountPath": CACHE_MOUNT_PATH,
            "servingEnv": dict(sorted(serving_env(CACHE_MOUNT_PATH).items())),
            "prefetchEnv": prefetch_env_vars(CACHE_MOUNT_PATH),
        },
    }


def render_table(table: dict) -> str:
    return json.dumps(table, indent=1, sort_keys=False) + "\n"


def load_table() -> dict | None:
    path = table_path()
    if not path.exists():
        return None
    return json.loads(path.read_text())


def schema_enums() -> dict[str, list]:
    """The enums of values.schema.json's definitions that come from the catalog: a typo fails `helm install`."""
    return {
        "gpuName": sorted(load_gpus()),
        "precision": list(PRECISIONS),
        "backend": list(BACKENDS),
        "metric": list(METRICS),
        "gpuCount": sorted(GPU_LADDER),
    }


def gpu_precision_rule() -> dict:
    """Per GPU type, the precisions it runs for some model (catalog.compat.runnable, the rule selection uses):
    a values file that asks an MI210 for fp8 fails the schema instead of rendering a pod that cannot start."""
    models = load_models().values()
    rules = []
    for name, gpu in sorted(load_gpus().items()):
        allowed = [p for p in PRECISIONS if runnable(gpu, p) or any(runnable(gpu, p, m) for m in models)]
        if allowed != list(PRECISIONS):
            rules.append({"if": {"required": ["gpu"], "properties": {"gpu": {"const": name}}},
                          "then": {"properties": {"precision": {"enum": allowed}}}})
    return {"description": "the precisions each GPU type runs; generated by `aimgen chart sync`", "allOf": rules}


def render_schema(current: str) -> str:
    """values.schema.json with its generated enums and credential patterns (aimgen.secrets) brought up to date;
    everything else as written by hand."""
    from aimgen.secrets import schema_patterns
    from aimgen.sources import HOST_PATH_PATTERN, HUB_ENDPOINT_PATTERN

    schema = json.loads(current)
    for name, values in schema_enums().items():
        schema["definitions"][name]["enum"] = values
    schema["definitions"]["gpuRunsPrecision"] = gpu_precision_rule()
    for name, refused in schema_patterns().items():
        schema["definitions"][name]["not"] = refused
    schema["definitions"]["hubEndpoint"]["anyOf"][1]["pattern"] = HUB_ENDPOINT_PATTERN
    schema["properties"]["localModelCache"]["properties"]["hostPath"]["anyOf"][1]["pattern"] = HOST_PATH_PATTERN
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def chart_files() -> list[tuple[Path, str]]:
    """Every generated chart file with its wanted content: `aimgen chart sync` writes them, `check` compares."""
    return [
        (table_path(), render_table(build_table())),
        (schema_path(), render_schema(schema_path().read_text())),
        (paths.chart_dir().joinpath(*BUNDLE_PATH), podbundle.build_b64()),
        *observability_files(),
    ]
