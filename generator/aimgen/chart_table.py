"""The chart's generated files, compiled from recipes/ and the catalog by `aimgen chart sync`:
files/zero-config/<model>--<gpu>.json (the recipe profiles of that model on that GPU, and select()'s answer for
every zero-config install), files/chart.json (their index), files/pod.json (the fixed pod pieces), the enums of charts/aim-engine/values.schema.json and files/aimgen.pyz.b64 (the aimgen bundle
pods run with the engine image's Python, aimgen.podbundle). The chart looks answers up; it never ranks or selects
(docs/chart.md)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from itertools import combinations, product
from pathlib import Path

from aimgen import paths, podbundle
from aimgen.catalog.compat import runnable
from aimgen.catalog.gpus import load_gpus
from aimgen.catalog.models import load_models
from aimgen.catalog.nodepool import default_pool
from aimgen.compose import KSERVE_GATEWAY_NAMESPACE, realize
from aimgen.constants import API_LLMISVC, BACKENDS, CACHE_MOUNT_PATH, LLMISVC_PORT, METRICS, PRECISIONS
from aimgen.errors import AimgenError
from aimgen.observability.chart_files import chart_files as observability_files
from aimgen.recipes.load import load_all_profiles
from aimgen.render.values import profile_entry, profile_key
from aimgen.select import GPU_LADDER, Request, Selection, select
from aimgen.spec import PodPolicy, Probes

BUNDLE_PATH = ("files", "aimgen.pyz.b64")
INDEX_PATH = ("files", "chart.json")
POD_PATH = ("files", "pod.json")  # small: the templates that place a pod piece parse it alone
ZERO_CONFIG_DIR = ("files", "zero-config")
SCHEMA_PATH = ("values.schema.json",)
# The values a zero-config install may pin, in the order of its answer keys ("gpus|precision|backend|metric",
# empty where open): all of them alone and every pair; more pins need `aimgen values`.
ZERO_CONFIG_DIMENSIONS = ("gpus", "precision", "backend", "metric")
MAX_ZERO_CONFIG_PINS = 2


def index_path() -> Path:
    return paths.chart_dir().joinpath(*INDEX_PATH)


def zero_config_dir() -> Path:
    return paths.chart_dir().joinpath(*ZERO_CONFIG_DIR)


def schema_path() -> Path:
    return paths.chart_dir().joinpath(*SCHEMA_PATH)


def zero_config_constraints() -> list[dict]:
    """Every constraint a zero-config install may set (values.schema.json's enums), alone and in pairs."""
    choices = {"gpus": sorted(GPU_LADDER), "precision": list(PRECISIONS), "backend": list(BACKENDS),
               "metric": list(METRICS)}
    out: list[dict] = [{}]
    for n in range(1, MAX_ZERO_CONFIG_PINS + 1):
        for dims in combinations(ZERO_CONFIG_DIMENSIONS, n):
            out += [dict(zip(dims, values)) for values in product(*(choices[d] for d in dims))]
    return out


def constraint_key(pins: dict) -> str:
    return "|".join(str(pins.get(d, "")) for d in ZERO_CONFIG_DIMENSIONS)


def zero_config_answers(model, gpu, table: dict, llmisvc: dict | None = None) -> dict:
    """What `aimgen render MODEL --gpu GPU [pins]` decides for every zero-config constraint: the profile (its key
    in the file's `profiles` when it is a cited one, else the entry) and the fallbacks it states, or the message it
    exits 3 (or 2) with. Answers share their choices, so the chart's release record stays small. A file is read
    by every install of its model and GPU and by no other, so each template parses a few KiB, not the catalog.
    `llmisvc` (by profile key, llmisvc_variant()) gives each cited profile of the file its `--api llmisvc` fields;
    an inline choice carries its own."""
    pool = default_pool(gpu)
    choices: list[dict] = []
    seen: dict[str, int] = {}
    answers: list[int] = []  # in the order of zero_config_constraints() (chart.json zeroConfigKeys)
    for pins in zero_config_constraints():
        try:
            selection = select(Request(model=model, pool=pool, **pins))
            d = realize(selection, "zero-config")
            entry = profile_entry(d.serving, d.runtime, CACHE_MOUNT_PATH)
            key = profile_key(entry)
            found = {"key": key} if table.get(key) == entry else {"profile": entry}
            choice = {**found, "fallbacks": list(selection.fallbacks)}
        except AimgenError as exc:
            # the chart puts "MODEL on GPU with PINS: " in front, as explain_refusal() below does
            choice = {"error": exc.message}
        key = json.dumps(choice, sort_keys=True)
        if key not in seen:
            seen[key] = len(choices)
            if "profile" in choice:
                choice["llmisvc"] = llmisvc_variant(selection, choice["profile"])
            choices.append(choice)
        answers.append(seen[key])
    profiles = {k: dict(e) for k, e in sorted(table.items()) if e["model"] == model.id and e["gpu"] == gpu.name}
    variants = {k: (llmisvc or {}).get(k, {}) for k in profiles}
    base = _factor_out([c["profile"] for c in choices if "profile" in c] + list(profiles.values()))
    return {"answers": answers, "choices": choices, "base": base, "profiles": profiles, "llmisvc": variants}


def llmisvc_variant(selection: Selection, entry: dict) -> dict:
    """What the profile compiled for KServe's LLMInferenceService changes in `entry`: compose decides the engine
    port per API (8000, where KServe's workload Service, InferencePool and routing sidecar send traffic) and how
    a group's workers reach their leader, so the argv and the runtime's port differ. The chart lays these fields
    over the profile when `api: llmisvc` and places them like every other compiled field. Compiled with our cache
    on: without it KServe's storage initializer fills /mnt/models, an argv only `aimgen values --api llmisvc
    --no-cache` writes."""
    from aimgen.multinode import LWS_WORKER_TO_LEADER

    d = realize(selection, "zero-config", port=LLMISVC_PORT, to_head=LWS_WORKER_TO_LEADER)
    return _changes(entry, profile_entry(d.serving, d.runtime, CACHE_MOUNT_PATH, api=API_LLMISVC))


def _changes(base: dict, new: dict) -> dict:
    """The keys of `new` that differ from `base`, maps compared key by key (Sprig's merge lays maps over maps and
    replaces lists whole, as the chart applies the result)."""
    out = {}
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            if inner := _changes(base[key], value):
                out[key] = inner
        elif base.get(key) != value:
            out[key] = value
    return out


def _factor_out(entries: list[dict]) -> dict:
    """Per backend, the fields every profile entry of a file shares (model, gpu, runtime, env, ...), taken out of
    the entries (in place) and kept once in the file's `base`; the chart merges them back. Only to keep the release
    record small (Helm keeps the chart's files in every release Secret, 1 MiB at most)."""
    bases: dict[str, dict] = {}
    for backend in sorted({e["backend"] for e in entries}):
        inline = [e for e in entries if e["backend"] == backend]
        base = {k: v for k, v in inline[0].items()
                if k != "backend" and all(k in p and p[k] == v for p in inline[1:])}
        for p in inline:
            for k in base:
                del p[k]
        bases[backend] = base
    return bases


def zero_config_file(model_id: str, gpu: str) -> Path:
    slug = re.sub(r"[^a-z0-9.-]+", "-", model_id.lower().replace("/", "--"))
    return zero_config_dir() / f"{slug}--{gpu}.json"


def build_table() -> dict:
    """profiles: every recipe profile by key: what `aimgen values` names and the chart looks up; llmisvc: the
    fields each of them has otherwise when compiled for `--api llmisvc` (llmisvc_variant)."""
    models, gpus = load_models(), load_gpus()
    profiles: dict[str, dict] = {}
    variants: dict[str, dict] = {}
    for p in load_all_profiles():
        model, gpu = models[p.model], gpus[p.gpu]
        pool = replace(default_pool(gpu), nodes=max(1, p.nodes))
        req = Request(model=model, pool=pool, gpus=p.gpus, precision=p.precision, backend=p.backend, metric=p.metric)
        d = realize(Selection(req, p, p.gpus, p.precision, p.backend, p.metric), "table")
        entry = profile_entry(d.serving, d.runtime, CACHE_MOUNT_PATH)
        profiles[profile_key(entry)] = entry
        variants[profile_key(entry)] = llmisvc_variant(Selection(req, p, p.gpus, p.precision, p.backend, p.metric),
                                                       entry)
    return {"profiles": dict(sorted(profiles.items())), "llmisvc": variants}


def build_index() -> dict:
    """What every install reads (small: every template parses it): zeroConfig, per model|gpu, the file under
    files/zero-config/ with every zero-config answer; zeroConfigKeys, each constraint's place in a file's
    answers; gpus: device ids; cache: the env of the serving and prefetch
    containers (constants of aimgen.cache.plan the chart cannot compute); llmisvc: the namespace of KServe's
    ingress Gateway, which a router without gateway.refs attaches to (compose lets it through the policy)."""
    from aimgen.cache.plan import serving_env
    from aimgen.render.kserve import prefetch_env_vars

    models, gpus = load_models(), load_gpus()
    return {
        "zeroConfig": {f"{m}|{g}": "/".join((*ZERO_CONFIG_DIR, zero_config_file(m, g).name))
                       for m in sorted(models) for g in sorted(gpus)},
        "zeroConfigKeys": {constraint_key(pins): i for i, pins in enumerate(zero_config_constraints())},
        "gpus": {name: {"deviceIds": list(g.device_ids), "product": g.product} for name, g in sorted(gpus.items())},
        "llmisvc": {"ingressGatewayNamespace": KSERVE_GATEWAY_NAMESPACE},
        "cache": {
            "mountPath": CACHE_MOUNT_PATH,
            "servingEnv": dict(sorted(serving_env(CACHE_MOUNT_PATH).items())),
            "prefetchEnv": prefetch_env_vars(CACHE_MOUNT_PATH),
        },
    }


def refusal(model_id: str, gpu: str, pins: dict, message: str) -> str:
    """A zero-config refusal as the chart words it (the template writes the same prefix)."""
    asked = " ".join(f"{k}={pins[k]}" for k in ZERO_CONFIG_DIMENSIONS if k in pins)
    return f"{model_id} on {gpu}{' with ' + asked if asked else ''}: {message}"


def pod_fragments(pod: PodPolicy) -> dict:
    """The fixed pod pieces as the Python builders build them (aimgen.render.k8s), for the templates to place:
    security contexts, prefetch resources, sizes, grace, backoff, TTL, and the probes without their per-profile
    path, port and startup threshold."""
    from aimgen.render import k8s

    probes = {name: {k: v for k, v in probe.items() if k != "httpGet"}
              for name, probe in k8s.probes(Probes(), 0).items()}
    del probes["startupProbe"]["failureThreshold"]  # sized per profile: the entry's startupFailureThreshold
    return {
        "podSecurityContext": k8s.pod_security_context(pod),
        "containerSecurityContext": k8s.container_security_context(read_only_root=False),
        "readOnlyContainerSecurityContext": k8s.container_security_context(read_only_root=True),
        "prefetchResources": pod.prefetch_resources,
        "terminationGracePeriodSeconds": pod.termination_grace_seconds,
        "tmpSizeLimit": pod.tmp_size,
        "jobTmpSizeLimit": pod.job_tmp_size,
        "backoffLimit": pod.job_backoff_limit,
        "ttlSecondsAfterFinished": pod.job_ttl_seconds,
        "tokenFileMode": pod.token_file_mode,
        "testPodSecurityContext": k8s.client_pod_security_context(pod),
        "testResources": pod.test_resources,
        "testTmpSizeLimit": pod.test_tmp_size,
        "testWaitSeconds": pod.test_wait_seconds,
        "probes": probes,
    }


def zero_config_files(table: dict) -> list[tuple[Path, str]]:
    models, gpus = load_models(), load_gpus()
    profiles = table["profiles"]
    return [(zero_config_file(m, g), render_answers(zero_config_answers(models[m], gpus[g], profiles,
                                                                        table["llmisvc"])))
            for m in sorted(models) for g in sorted(gpus)]


def render_answers(answers: dict) -> str:
    """Compact (the chart ships in every release record), one choice per line (diffs stay readable)."""
    def compact(value) -> str:
        return json.dumps(value, separators=(",", ":"), sort_keys=True)

    choices = ",\n".join(compact(c) for c in answers["choices"])
    profiles = ",\n".join(f"{json.dumps(k)}:{compact(e)}" for k, e in answers["profiles"].items())
    variants = ",\n".join(f"{json.dumps(k)}:{compact(e)}" for k, e in answers["llmisvc"].items())
    return (f'{{"answers":{compact(answers["answers"])},\n"base":{compact(answers["base"])},\n'
            f'"choices":[\n{choices}\n],\n"llmisvc":{{\n{variants}\n}},\n"profiles":{{\n{profiles}\n}}}}\n')



def render_table(table: dict) -> str:
    return json.dumps(table, indent=1, sort_keys=False) + "\n"


def load_table(pairs: set[tuple[str, str]] | None = None) -> dict | None:
    """{"profiles": {key: entry}} as the chart holds them, from the files of the (model, gpu) pairs given (default:
    all); None before the first `aimgen chart sync`."""
    if not zero_config_dir().is_dir():
        return None
    if pairs is None:
        files = sorted(zero_config_dir().glob("*.json"))
    else:
        files = [f for f in (zero_config_file(m, g) for m, g in sorted(pairs)) if f.is_file()]
    profiles: dict[str, dict] = {}
    for f in files:
        data = json.loads(f.read_text())
        profiles.update({k: {**data["base"][e["backend"]], **e} for k, e in data["profiles"].items()})
    return {"profiles": dict(sorted(profiles.items()))}


def schema_enums() -> dict[str, list]:
    """The enums of values.schema.json's definitions that come from the catalog: a typo fails `helm install`."""
    from aimgen.recipes.features import FEATURES

    return {
        "featureName": list(FEATURES),
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


def model_features_rule(table: dict) -> dict:
    """Per catalog model, the features some profile of it offers (the table's, compiled by compose): values that
    ask a model for a feature its recipe does not document fail the schema; a feature the picked profile lacks
    (another backend) fails in templates/_features.tpl."""
    from aimgen.recipes.features import FEATURES

    offered: dict[str, set] = {}
    for entry in table["profiles"].values():
        offered.setdefault(entry["model"], set()).update(entry["features"])
    rules = []
    for model, names in sorted(offered.items()):
        documented = [n for n in FEATURES if n in names]
        features = {"items": {"enum": documented}} if documented else {"maxItems": 0}
        rules.append({"if": {"required": ["model", "features"], "properties": {"model": {"const": model}}},
                      "then": {"properties": {"features": features}}})
    return {"description": "the features each catalog model's recipe documents; generated by `aimgen chart sync`",
            "allOf": rules}


def render_schema(current: str, table: dict) -> str:
    """values.schema.json with its generated enums, rules and credential patterns (aimgen.secrets) brought up to
    date; everything else as written by hand."""
    from aimgen.secrets import schema_patterns
    from aimgen.sources import HOST_PATH_PATTERN, HUB_ENDPOINT_PATTERN

    schema = json.loads(current)
    for name, values in schema_enums().items():
        schema["definitions"][name]["enum"] = values
    schema["definitions"]["gpuRunsPrecision"] = gpu_precision_rule()
    schema["definitions"]["modelFeatures"] = model_features_rule(table)
    for name, refused in schema_patterns().items():
        schema["definitions"][name]["not"] = refused
    schema["definitions"]["hubEndpoint"]["anyOf"][1]["pattern"] = HUB_ENDPOINT_PATTERN
    schema["properties"]["localModelCache"]["properties"]["hostPath"]["anyOf"][1]["pattern"] = HOST_PATH_PATTERN
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def orphan_files(wanted: list[tuple[Path, str]]) -> list[Path]:
    """Generated files no longer wanted (a model or GPU left the catalog): sync deletes them, check fails."""
    keep = {path for path, _ in wanted}
    return sorted(p for p in zero_config_dir().glob("*.json") if p not in keep)


def chart_files() -> list[tuple[Path, str]]:
    """Every generated chart file with its wanted content: `aimgen chart sync` writes them, `check` compares."""
    table = build_table()
    return [
        (index_path(), render_table(build_index())),
        (paths.chart_dir().joinpath(*POD_PATH), render_table(pod_fragments(PodPolicy()))),
        *zero_config_files(table),
        (schema_path(), render_schema(schema_path().read_text(), table)),
        (paths.chart_dir().joinpath(*BUNDLE_PATH), podbundle.build_b64()),
        *observability_files(),
    ]
