"""The chart renders exactly what aimgen renders: `helm template R charts/aim-engine -f <aimgen values> -n NS`
equals `aimgen render ... --name R --namespace NS` as parsed objects (order-insensitive; helm test hooks and the
managed-by label aside), on Helm 3.18 and Helm 4.1, for

- every profile of the chart's table (batched into multi-model releases on each GPU's default pool: each
  deployment names its table key, so the table path is what is checked),
- every node-pool file under recipes/node-pools/ with every profile of its GPU requested (fallbacks and planned
  profiles travel inline), with the render options varied,
- the zero-config install `--set model=M --set gpu=G` for every model and GPU of the catalog, alone and with
  every single constraint (gpus, precision, backend, metric), and a sample of constraint pairs (batched into one
  `helm template` of a parent chart with aliased copies; refusals: the chart fails with aimgen's own message),
- release names up to Helm's 53 characters, and two releases in one namespace (no shared object),
- a model known only by its config.json (planned, inline profile), and every option of the renderer.

The Python side runs in-process (the functions `aimgen render` / `aimgen values` call); Helm runs as processes,
two at a time.
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import pytest

from aimgen.chart_table import load_table
from aimgen.errors import AimgenError
from chart_support import (
    CHART,
    HELMS,
    NODE_POOLS,
    ROOT,
    Case,
    Expected,
    compare,
    helm_side,
    in_parallel,
    python_side,
    rendered_docs,
    template,
    template_batch,
)

TABLE = load_table()  # every profile the chart holds (aimgen.chart_table)
INDEX = json.loads((CHART / "files" / "chart.json").read_text())
FIXTURES = Path(__file__).parent / "fixtures" / "chart"
CHUNK = 24  # deployments per batched release


def shape(entry: dict, name: str | None) -> tuple:
    gpus = entry["parallelism"]["worldSize"]  # what the request asks for; entry["gpus"] is per pod
    return (entry["model"], gpus, entry["precision"], entry["backend"], entry["metric"], name)


def chunks(items: list, size: int = CHUNK) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def by_gpu() -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for entry in TABLE["profiles"].values():
        out.setdefault(entry["gpu"], []).append(entry)
    return out


def multinode_pool(gpu: str, nodes: int) -> Path:
    """The example node pool of `gpu` with at least `nodes` nodes (a multi-node profile needs one)."""
    from aimgen.catalog.nodepool import load_node_pool

    pools = [p for p in NODE_POOLS if (pool := load_node_pool(p)).gpu.name == gpu and pool.nodes >= nodes]
    assert pools, f"a {nodes}-node profile of {gpu} needs a node pool under recipes/node-pools/ with {nodes} nodes"
    return pools[0]


def table_cases() -> list[Case]:
    cases = []
    for gpu, entries in sorted(by_gpu().items()):
        single = [e for e in entries if e["nodes"] == 1]
        for n, part in enumerate(chunks(single)):
            models = tuple(shape(e, f"p{i:02d}") for i, e in enumerate(part))
            cases.append(Case(f"table-{gpu}-{n}", models, gpu=gpu, release=f"table-{gpu}", namespace="llm"))
        for i, e in enumerate(e for e in entries if e["nodes"] > 1):
            cases.append(Case(f"table-{gpu}-multinode-{i}", (shape(e, "group"),), release=f"table-{gpu}",
                              node_pool=multinode_pool(gpu, e["nodes"]), namespace="llm"))
    return cases


def feasible(models: list[tuple], pool: Path) -> list[tuple]:
    """The requests this pool can serve at all (a request the selector and planner refuse is an error for
    `aimgen render` too, so there is nothing to compare)."""
    from aimgen.cli.options import resolve_pool
    from aimgen.catalog.models import get_model
    from aimgen.compose import decide
    from aimgen.errors import AimgenError
    from aimgen.select import Request

    p = resolve_pool(None, pool)
    out = []
    for model_id, gpus, precision, backend, metric, name in models:
        gpus = gpus if gpus <= p.total_gpus else None  # ask the selector to fall back to what the pool has
        try:
            decide(Request(model=get_model(model_id), pool=p, gpus=gpus, precision=precision, backend=backend,
                           metric=metric), name)
        except AimgenError:
            continue
        out.append((model_id, gpus, precision, backend, metric, name))
    return out


def multinode(model: tuple, pool: Path) -> bool:
    from aimgen.catalog.models import get_model
    from aimgen.cli.options import resolve_pool
    from aimgen.compose import decide
    from aimgen.select import Request

    model_id, gpus, precision, backend, metric, name = model
    p = resolve_pool(None, pool)
    request = Request(model=get_model(model_id), pool=p, gpus=gpus if gpus and gpus <= p.total_gpus else None,
                      precision=precision, backend=backend, metric=metric)
    return decide(request, name).serving.nodes > 1


# Render options per node pool, one set per batched release, so every option meets every pool shape.
POOL_OPTIONS = [
    {"options": (("prefetch_job", True), ("hf_token_secret", "hf-token:token"), ("cluster_runtime", True))},
    {"options": (("init_container", False), ("existing_claim", "shared-models")),
     "exposure": (("ingress_host", "llm.example.com"), ("ingress_class", "nginx"), ("tls_secret", "llm-tls"))},
    {"options": (("cache_size", "4Ti"), ("hf_endpoint", "https://hf-mirror.internal:8443")),
     "exposure": (("gateway", ("shared-gw", "gateways")), ("ingress_host", "llm.example.com"),
                  ("allowed_namespaces", ("gateways", "monitoring")), ("allowed_pod_labels", (("role", "client"),)))},
    {"options": (("cache_enabled", False),), "exposure": (("network_policy", False), ("pdb", False))},
]


@lru_cache(maxsize=None)
def pool_cases() -> list[Case]:
    from aimgen.catalog.nodepool import load_node_pool

    cases = []
    for pool in NODE_POOLS:
        gpu = load_node_pool(pool).gpu.name
        models = feasible([shape(e, f"p{i:02d}") for i, e in enumerate(by_gpu()[gpu])], pool)
        assert len(models) >= len(by_gpu()[gpu]) // 2, f"{pool.name}: most profiles of {gpu} must be servable"
        for n, part in enumerate(chunks(models)):
            extra = POOL_OPTIONS[n % len(POOL_OPTIONS)]
            if ("cache_enabled", False) in extra.get("options", ()):
                part = [m for m in part if not multinode(m, pool)]  # a group needs the shared cache claim
            cases.append(Case(f"pool-{pool.stem}-{n}", tuple(part), node_pool=pool, release=f"pool-{n}",
                              namespace="inference", **extra))
    return cases


def option_cases() -> list[Case]:
    from aimgen.compose import Overrides
    from aimgen.sources import model_source

    qwen = (("Qwen/Qwen3-8B", None, None, "vllm", "latency", None),)
    pair = (("Qwen/Qwen3-8B", 1, "bf16", "vllm", "latency", "qwen"),
            ("deepseek-ai/DeepSeek-R1", 8, "fp8", "sglang", "throughput", "deepseek"))
    # GLM-5.2's SGLang profile runs on sglang-0516-rocm (its `runtime:`), Qwen3-8B's on the default sglang-rocm
    versions = (("zai-org/GLM-5.2", 8, "fp8", "sglang", "throughput", "glm"),
                ("Qwen/Qwen3-8B", None, None, "sglang", None, "qwen"))
    planned = (("example/tiny-llama-1b", None, None, "vllm", "latency", None),)
    config = FIXTURES / "tiny-llama-config.json"
    return [
        Case("defaults", qwen, gpu="mi300x"),
        Case("named", qwen, gpu="mi325x", release="chat", namespace="team-a"),
        Case("cluster-runtime", qwen, gpu="mi300x", options=(("cluster_runtime", True),)),
        Case("prefetch-job-token", qwen, gpu="mi300x",
             options=(("prefetch_job", True), ("hf_token_secret", "hf-secret:hf_token"))),
        Case("token-no-init", qwen, gpu="mi300x", options=(("init_container", False), ("hf_token_secret", "hf"))),
        Case("no-cache", qwen, gpu="mi300x", options=(("cache_enabled", False),)),
        Case("existing-claim", qwen, gpu="mi300x", options=(("existing_claim", "models"), ("prefetch_job", True))),
        Case("cache-size", qwen, gpu="mi300x", options=(("cache_size", "750Gi"),)),
        Case("two-engines", pair, gpu="mi300x", release="mixed"),
        Case("two-engine-versions", versions, gpu="mi325x", release="mixed"),
        Case("ingress-host", qwen, gpu="mi300x", exposure=(("ingress_host", "qwen.example.com"),)),
        Case("ingress-tls-class", pair, gpu="mi300x", release="mixed",
             exposure=(("ingress_host", "llm.example.com"), ("ingress_class", "nginx"), ("tls_secret", "tls"))),
        Case("gateway", qwen, gpu="mi300x", exposure=(("gateway", ("gw", "")),)),
        Case("gateway-host-ns", pair, gpu="mi300x", release="mixed",
             exposure=(("gateway", ("gw", "infra")), ("ingress_host", "llm.example.com"))),
        Case("policy-sources", qwen, gpu="mi300x",
             exposure=(("allowed_namespaces", ("ingress-nginx",)), ("allowed_pod_labels", (("app", "client"),)))),
        Case("no-policy-no-pdb", qwen, gpu="mi300x", exposure=(("network_policy", False), ("pdb", False))),
        Case("monitoring", qwen, gpu="mi300x", options=(("monitoring", True),)),
        Case("autoscale", pair, gpu="mi300x", release="mixed", options=(("autoscale", (1, 4)), ("monitoring", True))),
        Case("llmisvc", qwen, gpu="mi300x", options=(("api", "llmisvc"), ("monitoring", True))),
        Case("llmisvc-gateway-token", pair, gpu="mi300x", release="mixed", namespace="llm",
             options=(("api", "llmisvc"), ("gateway", ("gw", "infra")), ("prefetch_job", True),
                      ("hf_token_secret", "hf"))),
        Case("llmisvc-no-router-no-cache", qwen, gpu="mi300x",
             options=(("api", "llmisvc"), ("router", "none"), ("cache_enabled", False))),
        Case("llmisvc-pd", (("meta-llama/Llama-3.3-70B-Instruct", None, "fp8", "vllm", "latency", None),),
             node_pool=ROOT / "recipes" / "node-pools" / "mi300x-8gpu.yaml", namespace="llm",
             options=(("api", "llmisvc"), ("disaggregate", True), ("monitoring", True))),
        Case("hf-endpoint", qwen, gpu="mi300x",
             options=(("hf_endpoint", "http://hf-mirror.internal:8080/hf"), ("prefetch_job", True))),
        Case("hf-endpoint-no-cache", qwen, gpu="mi300x",
             options=(("hf_endpoint", "https://hf-mirror.internal"), ("cache_enabled", False))),
        Case("hf-endpoint-llmisvc", qwen, gpu="mi300x",
             options=(("api", "llmisvc"), ("hf_endpoint", "http://[fd00::1]"), ("prefetch_job", True))),
        Case("model-source-pvc", qwen, gpu="mi300x", options=(("model_source", model_source("pvc://models/qwen3")),)),
        Case("model-source-s3-no-cache", qwen, gpu="mi300x",
             options=(("model_source", model_source("s3://llm-weights/qwen3-8b")), ("cache_enabled", False),
                      ("storage_secret", "minio-creds"))),
        Case("model-source-oci", pair[:1], gpu="mi300x", release="car",
             options=(("model_source", model_source("oci://registry.example.com/models/qwen3-8b:1.0")),
                      ("existing_claim", "compile-caches"))),
        Case("model-source-multinode", (("meta-llama/Llama-3.1-405B-Instruct", None, None, "vllm", "latency", None),),
             node_pool=ROOT / "recipes" / "node-pools" / "mi250x-2nodes.yaml", namespace="llm",
             options=(("model_source", model_source("pvc://weights/llama-405b")),)),
        # A LeaderWorkerSet group: DP16 + EP over two 8-GPU nodes (leader `template`, one `worker`).
        Case("llmisvc-multinode", (("deepseek-ai/DeepSeek-R1", 16, "fp8", "vllm", "throughput", None),),
             node_pool=ROOT / "recipes" / "node-pools" / "mi300x-2nodes.yaml", namespace="llm",
             options=(("api", "llmisvc"), ("monitoring", True))),
        Case("llmisvc-multinode-no-cache", (("deepseek-ai/DeepSeek-R1", 16, "fp8", "vllm", "throughput", None),),
             node_pool=ROOT / "recipes" / "node-pools" / "mi300x-2nodes.yaml",
             options=(("api", "llmisvc"), ("router", "none"), ("cache_enabled", False))),
        Case("llmisvc-model-source-s3", qwen, gpu="mi300x", namespace="llm",
             options=(("api", "llmisvc"), ("model_source", model_source("s3://llm-weights/qwen3-8b")),
                      ("storage_secret", "minio-creds"))),
        Case("local-model-cache", pair, gpu="mi300x", release="mixed", namespace="llm",
             options=(("local_model_cache", "/mnt/nvme/models"),)),
        Case("local-model-cache-s3-pool", qwen, node_pool=ROOT / "recipes" / "node-pools" / "mi300x-8gpu.yaml",
             options=(("local_model_cache", "/mnt/nvme"), ("model_source", model_source("s3://llm-weights/q")),
                      ("cache_enabled", False))),
        # A profile whose own args name a draft model the catalog sizes (Llama 3.2 1B): an inline profile with
        # extraRepos, prefetched beside the checkpoint and counted in the claim.
        Case("draft-model-in-profile", (("meta-llama/Llama-3.1-8B-Instruct", None, None, "vllm", "latency", None),),
             gpu="mi300x", options=(("prefetch_job", True), ("overrides", Overrides(args=(
                 ("speculative-config", '{"model":"meta-llama/Llama-3.2-1B-Instruct","num_speculative_tokens":3}'),
             ))))),
        Case("planned-model", planned, gpu="mi300x", model_config=config),
        Case("planned-model-pool", planned, node_pool=ROOT / "recipes" / "node-pools" / "mi325x-4gpu.yaml",
             model_config=config, namespace="llm"),
    ]


@lru_cache(maxsize=None)
def aimgen_side(case: Case) -> Expected:
    """Rendered once per session, compared with both Helms."""
    return python_side(case, TABLE)


def check(cases: list[Case], which: str) -> dict[str, Expected]:
    """Render every case both ways; fail listing every case that differs (with where it first differs)."""
    expected = {case.id: aimgen_side(case) for case in cases}

    def run(case: Case):
        exp = expected[case.id]
        return case.id, compare(exp.docs, helm_side(which, exp.release, exp.values_text, exp.namespace))

    differences = {cid: diff for cid, diff in in_parallel(run, cases) if diff}
    assert not differences, "\n".join(f"{cid}: {diff}" for cid, diff in differences.items())
    return expected


@pytest.mark.parametrize("which", sorted(HELMS))
def test_every_table_profile(which):
    cases = table_cases()
    expected = check(cases, which)
    covered = set()
    for case in cases:
        for d in expected[case.id].values["deployments"]:
            assert "profile" not in d, f"{case.id}/{d['name']}: should be looked up in the table, not inline"
            covered.add("|".join(str(d[k]) for k in ("model", "gpu", "gpus", "precision", "backend", "metric")))
    assert covered == set(TABLE["profiles"]), "every profile of files/zero-config/ is rendered"


@pytest.mark.parametrize("which", sorted(HELMS))
def test_node_pools(which):
    assert len(NODE_POOLS) >= 3
    cases = pool_cases()
    expected = check(cases, which)
    inline = sum("profile" in d for c in cases for d in expected[c.id].values["deployments"])
    looked_up = sum("profile" not in d for c in cases for d in expected[c.id].values["deployments"])
    assert inline and looked_up, "the pools exercise both the table lookup and inline (fallback/planned) profiles"


@pytest.mark.parametrize("which", sorted(HELMS))
def test_render_options(which):
    cases = option_cases()
    expected = check(cases, which)
    for cid in ("planned-model", "planned-model-pool"):
        assert all("profile" in d for d in expected[cid].values["deployments"]), f"{cid}: planned → inline profile"
    for cid in ("llmisvc", "llmisvc-gateway-token", "llmisvc-no-router-no-cache", "llmisvc-pd", "llmisvc-multinode",
                "llmisvc-multinode-no-cache"):
        kinds = {d["kind"] for d in expected[cid].docs}
        assert {"LLMInferenceService", "LLMInferenceServiceConfig"} <= kinds and "InferenceService" not in kinds
        assert all(d["profile"]["api"] == "llmisvc" for d in expected[cid].values["deployments"]), cid
    assert "prefill" in next(d for d in expected["llmisvc-pd"].docs if d["kind"] == "LLMInferenceService")["spec"]
    images = {d["spec"]["containers"][0]["image"] for d in expected["two-engine-versions"].docs
              if d["kind"] == "ServingRuntime"}
    assert images == {"docker.io/lmsysorg/sglang:v0.5.16-rocm720-mi30x", "docker.io/lmsysorg/sglang:v0.5.12-rocm700-mi30x"}
    for cid in ("llmisvc-multinode", "llmisvc-multinode-no-cache"):
        assert "worker" in next(d for d in expected[cid].docs if d["kind"] == "LLMInferenceServiceConfig")["spec"]


# ---- zero-config installs: `helm template R --set model=M --set gpu=G [--set PIN=V ...]` ----

def zero_config_pins() -> tuple[list[dict], list[dict]]:
    """Every single constraint a zero-config install may set (values.schema.json's enums), and every pair."""
    from aimgen.chart_table import zero_config_constraints

    every = zero_config_constraints()
    return [c for c in every if len(c) <= 1], [c for c in every if len(c) == 2]


def zero_config_case(model: str, gpu: str, pins: dict, release: str = "zc", namespace: str = "default") -> Case:
    shape_ = (model, pins.get("gpus"), pins.get("precision"), pins.get("backend"), pins.get("metric"), release)
    return Case(f"{model}@{gpu}{pins}", (shape_,), gpu=gpu, release=release, namespace=namespace)


@lru_cache(maxsize=None)
def zero_config_side(case: Case) -> list[dict] | str:
    """The manifests `aimgen render M --gpu G --name R [pins]` renders, or the message it exits with."""
    from aimgen.errors import AimgenError

    try:
        return rendered_docs(case)[2]
    except AimgenError as exc:
        return exc.message


def zero_config_installs(pins_list: list[dict], per_model: int | None = None) -> list[tuple[str, str, dict]]:
    """Installs to compare: every model on every GPU with no pin; each pin of `pins_list` on one GPU per model,
    rotating with the pin so that across models every GPU meets every pin (`per_model` pins each for recipe-only
    models, whose answers come through the same lookup). `aimgen chart check` (test_chart_values) proves the
    compiled answers equal select() for every model, GPU and constraint; these installs prove the chart looks the
    right one up and renders it as `aimgen render` does."""
    from aimgen.catalog.models import load_models

    recipe_only = {m.id for m in load_models().values() if m.recipe_only}
    by_model: dict[str, list[str]] = {}
    for key in sorted(INDEX["zeroConfig"]):
        model, gpu = key.split("|")
        by_model.setdefault(model, []).append(gpu)
    out = [(model, gpu, {}) for model, gpus in by_model.items() for gpu in gpus]
    for i, (model, gpus) in enumerate(sorted(by_model.items())):
        pins = [p for p in pins_list if p]
        if model in recipe_only and per_model is not None:
            pins = [pins[(i + k) % len(pins)] for k in range(per_model)]
        out += [(model, gpus[(i + j) % len(gpus)], p) for j, p in enumerate(pins)]
    return out


def check_zero_config(which: str, installs: list[tuple[str, str, dict]]) -> None:
    """Installs that render are batched (chart_support.template_batch); the chart must fail with aimgen's own
    message where aimgen exits (a sample of those, one helm run each: a failure ends a batch)."""
    rendered, refused = [], []
    for model, gpu, pins in installs:
        exp = zero_config_side(zero_config_case(model, gpu, pins))
        (refused if isinstance(exp, str) else rendered).append((model, gpu, pins, exp))
    batches = chunks(rendered, 96)

    def run(batch):
        values = [{"model": m, "gpu": g, **pins} for m, g, pins, _ in batch]
        got = template_batch(which, "zc", values)
        return [(f"{m} on {g} {pins}", compare(exp, docs)) for (m, g, pins, exp), docs in zip(batch, got)]

    differences = {cid: diff for result in in_parallel(run, batches) for cid, diff in result if diff}
    assert not differences, f"{len(differences)} differ:\n" + "\n".join(f"{c}: {d}" for c, d in differences.items())

    def refuse(item):
        model, gpu, pins, message = item
        sets = [f"model={model}", f"gpu={gpu}"] + [f"{k}={v}" for k, v in pins.items()]
        result = template(which, "zc", sets=sets)
        ok = result.returncode != 0 and message in result.stderr.replace("\n", " ")
        return f"{model} on {gpu} {pins}", None if ok else f"aimgen: {message!r}; helm: {result.stderr.strip()!r}"

    sample = sorted(refused, key=lambda r: (r[3], r[0], r[1]))
    by_message = list({r[3].split(":")[-1]: r for r in sample}.values())[:12]  # one per kind of refusal
    failures = {cid: diff for cid, diff in in_parallel(refuse, by_message) if diff}
    assert not failures, "\n".join(f"{c}: {d}" for c, d in failures.items())
    assert rendered and refused


@pytest.mark.parametrize("which", sorted(HELMS))
def test_zero_config_install_picks_what_aimgen_render_picks(which):
    """`helm template zc --set model=M --set gpu=G [--set PIN=V]` equals `aimgen render M --gpu G [--PIN V]`: every
    model on every GPU, and every single constraint (gpus, precision, backend, metric) per model on rotating GPUs
    (zero_config_installs)."""
    singles, _ = zero_config_pins()
    check_zero_config(which, zero_config_installs(singles, per_model=2))


@pytest.mark.parametrize("which", sorted(HELMS))
def test_zero_config_pairs_sample(which):
    import random

    _, pairs = zero_config_pins()
    installs = [i for i in zero_config_installs(pairs) if i[2]]
    check_zero_config(which, random.Random(12).sample(installs, 160))


@pytest.mark.parametrize("which", sorted(HELMS))
def test_zero_config_llmisvc_installs_render_what_aimgen_render_renders(which):
    """`helm template zc --set model=M --set gpu=G [--set PIN=V] --set api=llmisvc` equals `aimgen render M --gpu G
    [--PIN V] --api llmisvc`: the compiled answer with the fields compiled for the LLMInferenceService laid over it
    (chart_table.llmisvc_variant: the engine on KServe's port 8000); every model with no pin on a rotating GPU,
    and a sample of single pins (cited and planned profiles alike, vLLM and SGLang)."""
    import random

    singles, _ = zero_config_pins()
    every = zero_config_installs(singles, per_model=2)
    models = sorted({m for m, _, _ in every})
    plain = []
    for n, model in enumerate(models):
        open_ = [i for i in every if i[0] == model and not i[2]]
        plain.append(open_[n % len(open_)])
    sglang = [i for i in every if i[2] == {"backend": "sglang"}]
    installs = plain + sglang + random.Random(14).sample([i for i in every if i[2]], 60)
    rendered = []
    for model, gpu, pins in installs:
        shape_ = (model, pins.get("gpus"), pins.get("precision"), pins.get("backend"), pins.get("metric"), "zc")
        try:
            exp = rendered_docs(Case(f"{model}@{gpu}{pins}-llmisvc", (shape_,), gpu=gpu, release="zc",
                                     options=(("api", "llmisvc"),)))[2]
        except AimgenError:
            continue  # aimgen refuses it: the isvc test checks the chart refuses with the same message
        rendered.append((model, gpu, pins, exp))
    engines = {c["image"].split("/")[-1].split(":")[0] for *_, exp in rendered for d in exp
               if d["kind"] == "LLMInferenceServiceConfig" for c in d["spec"]["template"]["containers"]}
    assert len(rendered) > len(models) // 2 and len(engines) >= 2, engines  # vLLM and SGLang images

    def run(batch):
        values = [{"model": m, "gpu": g, **pins, "api": "llmisvc"} for m, g, pins, _ in batch]
        got = template_batch(which, "zc", values)
        return [(f"{m} on {g} {pins}", compare(exp, docs)) for (m, g, pins, exp), docs in zip(batch, got)]

    differences = {cid: diff for result in in_parallel(run, chunks(rendered, 96)) for cid, diff in result if diff}
    assert not differences, f"{len(differences)} differ:\n" + "\n".join(f"{c}: {d}" for c, d in differences.items())


@pytest.mark.parametrize("which", sorted(HELMS))
def test_llmisvc_router_options_and_table_keys(which):
    """The router's options on a zero-config llmisvc install (its Gateway's namespace let through the policy as
    `aimgen values` writes it), and deployments that name a cited profile by its key (vLLM and SGLang) under
    api llmisvc."""
    routing = [((("router", "none"),), {"llmisvc": {"router": "none"}}),
               ((("gateway", ("gw", "infra")),), {"llmisvc": {"gateway": {"name": "gw", "namespace": "infra"}}}),
               ((("gateway", ("gw", "")),), {"llmisvc": {"gateway": {"name": "gw"}}})]

    def route(item):
        options, values = item
        exp = rendered_docs(Case(f"qwen-llmisvc-{options}", (("Qwen/Qwen3-8B", None, None, None, None, "zc"),),
                                 gpu="mi300x", release="zc", options=(("api", "llmisvc"), *options)))[2]
        [got] = template_batch(which, "zc", [{"model": "Qwen/Qwen3-8B", "gpu": "mi300x", "api": "llmisvc", **values}])
        return str(options), compare(exp, got)

    def by_key(entry):
        shape_ = (entry["model"], entry["parallelism"]["worldSize"], entry["precision"], entry["backend"],
                  entry["metric"], "zc")
        isvc = aimgen_side(Case(f"{entry['id']}-isvc", (shape_,), gpu=entry["gpu"], release="zc"))
        assert all("profile" not in d for d in isvc.values["deployments"])  # named by its key
        llm = aimgen_side(Case(f"{entry['id']}-llmisvc", (shape_,), gpu=entry["gpu"], release="zc",
                               options=(("api", "llmisvc"),)))
        values = isvc.values_text.replace("\napi: isvc\n", "\napi: llmisvc\n")
        assert values != isvc.values_text
        return entry["id"], compare(llm.docs, helm_side(which, "zc", values, "default"))

    single = [e for e in TABLE["profiles"].values() if e["nodes"] == 1 and e["gpus"] <= 8]
    sample = [next(e for e in single if e["backend"] == b and e["gpu"] == "mi300x") for b in ("vllm", "sglang")]
    differences = {cid: diff for cid, diff in in_parallel(route, routing) + in_parallel(by_key, sample) if diff}
    assert not differences, "\n".join(f"{cid}: {diff}" for cid, diff in differences.items())


LONG_RELEASES = ["a", "r" * 44, "r" * 45, "r" * 46, "rel-" + "x" * 47, "x" * 52, "q-" + "z" * 51, "a1b2" * 13 + "c"]


@pytest.mark.parametrize("which", sorted(HELMS))
def test_release_names_up_to_53_characters(which):
    """Python's naming rule and the chart's are one: names cut (and hashed) the same for every length Helm
    allows, on the zero-config path and on the `aimgen values` path."""
    assert max(map(len, LONG_RELEASES)) == 53

    def run(release):
        exp = aimgen_side(zero_config_case("Qwen/Qwen3-8B", "mi300x", {}, release=release))
        zero = compare(exp.docs, helm_side(which, release, None, "default",
                                           sets=["model=Qwen/Qwen3-8B", "gpu=mi300x"]))
        case = Case(f"values-{release}", (("Qwen/Qwen3-8B", None, None, None, None, None),
                                          ("meta-llama/Llama-3.1-8B-Instruct", None, None, None, None, None)),
                    gpu="mi300x", release=release, options=(("prefetch_job", True),))
        pair = aimgen_side(case)
        values = compare(pair.docs, helm_side(which, pair.release, pair.values_text, pair.namespace))
        return release, zero or values

    differences = {r: d for r, d in in_parallel(run, LONG_RELEASES) if d}
    assert not differences, "\n".join(f"{len(r)} chars {r}: {d}" for r, d in differences.items())


def _objects(docs: list[dict]) -> set[tuple[str, str]]:
    return {(d["kind"], d["metadata"]["name"]) for d in docs}


@pytest.mark.parametrize("which", sorted(HELMS))
def test_two_releases_in_one_namespace_share_no_object(which):
    """A second `helm install` of the same model in the same namespace renders none of the first's objects
    (runtimes are release-scoped), and neither do two `aimgen render` outputs of different models."""
    sets = ["model=Qwen/Qwen3-8B", "gpu=mi300x", "cache.prefetchJob=true", "monitoring.enabled=true"]
    first = helm_side(which, "chat-a", None, "llm", sets=sets)
    second = helm_side(which, "chat-b", None, "llm", sets=sets)
    assert first and not _objects(first) & _objects(second)
    a = zero_config_side(Case("qwen", (("Qwen/Qwen3-8B", None, None, None, None, None),), gpu="mi300x", namespace="llm"))
    b = zero_config_side(Case("llama", (("meta-llama/Llama-3.1-8B-Instruct", None, None, None, None, None),),
                              gpu="mi300x", namespace="llm"))
    assert not _objects(a) & _objects(b)


# Recipe features (`render --feature`, chart `features:`): on a table profile (looked up, not inline), several
# models in one release, a multi-node group (the workers get the words too), an LLMInferenceService.
FEATURE_CASES = [
    Case("features-table", (("Qwen/Qwen3.6-35B-A3B", None, None, "vllm", "latency", None),), gpu="mi300x",
         features=("reasoning", "tool-calling")),
    Case("features-spec-decoding", (("deepseek-ai/DeepSeek-V4-Pro", None, None, "vllm", "latency", None),),
         gpu="mi355x", features=("spec-decoding",)),
    Case("features-two-models", (("Qwen/Qwen3.6-35B-A3B", 1, "bf16", "vllm", "latency", "qwen"),
                                 ("deepseek-ai/DeepSeek-R1", 8, "fp8", "vllm", "latency", "deepseek")),
         gpu="mi300x", release="mixed", features=("tool-calling", "reasoning")),
    Case("features-multinode", (("deepseek-ai/DeepSeek-R1", 16, "fp8", "vllm", "throughput", "group"),),
         node_pool=multinode_pool("mi300x", 2), namespace="llm", features=("reasoning",)),
    Case("features-llmisvc", (("Qwen/Qwen3.6-35B-A3B", None, None, "vllm", "latency", None),), gpu="mi300x",
         options=(("api", "llmisvc"),), features=("tool-calling",)),
    Case("features-llmisvc-multinode", (("deepseek-ai/DeepSeek-R1", 16, "fp8", "vllm", "throughput", "group"),),
         node_pool=multinode_pool("mi300x", 2), namespace="llm", options=(("api", "llmisvc"),),
         features=("tool-calling",)),
    # A draft model (EAGLE head) prefetched beside the checkpoint: init container and prefetch Job, both APIs.
    Case("features-draft-model", (("mistralai/Mistral-Medium-3.5-128B", None, None, "vllm", "latency", None),),
         gpu="mi300x", options=(("prefetch_job", True),), features=("spec-decoding",)),
    Case("features-draft-model-llmisvc", (("poolside/Laguna-XS.2", None, None, "vllm", "latency", None),),
         gpu="mi300x", options=(("api", "llmisvc"), ("prefetch_job", True)), features=("spec-decoding",)),
]


@pytest.mark.parametrize("which", sorted(HELMS))
def test_features_render_as_aimgen_render_feature(which):
    expected = check(FEATURE_CASES, which)
    for case in FEATURE_CASES:
        for d in expected[case.id].values["deployments"]:
            assert d["features"] == list(case.features), case.id
            if case.options == ():
                assert "profile" not in d, f"{case.id}: a feature switches on words the table holds, not inline"
        args = [a for doc in expected[case.id].docs for a in json.dumps(doc).split('"') if a.startswith("--")]
        assert any(a.startswith(("--reasoning-parser", "--tool-call-parser", "--speculative-config")) for a in args)
    group = next(d for d in expected["features-multinode"].docs if d["kind"] == "InferenceService")
    assert "--reasoning-parser=deepseek_r1" in group["spec"]["predictor"]["workerSpec"]["containers"][0]["args"]
    for case, draft in (("features-draft-model", "mistralai/Mistral-Medium-3.5-128B-EAGLE"),
                        ("features-draft-model-llmisvc", "poolside/Laguna-XS.2-speculator.dflash")):
        prefetched = {c["args"][2] for doc in expected[case].docs for c in _prefetch_containers(doc)}
        assert draft in prefetched and len(prefetched) == 2, (case, prefetched)


def _prefetch_containers(doc: dict) -> list[dict]:
    """The `aimgen cache prefetch` containers of a Job, an InferenceService or an LLMInferenceServiceConfig."""
    pods = [doc.get("spec", {}).get("template", {}).get("spec", {}),
            doc.get("spec", {}).get("predictor", {}), doc.get("spec", {}).get("template", {})]
    return [c for pod in pods for c in pod.get("initContainers", []) + pod.get("containers", [])
            if c.get("name", "").startswith("model-prefetch")]


ZERO_CONFIG_FEATURES = [
    ("Qwen/Qwen3.6-35B-A3B", "mi300x", ("tool-calling", "reasoning", "spec-decoding")),
    ("mistralai/Mistral-Medium-3.5-128B", "mi300x", ("spec-decoding",)),  # a draft model: its prefetch and claim
    ("moonshotai/Kimi-K2.6", "mi355x", ("spec-decoding",)),
    ("deepseek-ai/DeepSeek-V4-Pro", "mi355x", ("reasoning", "tool-calling")),
    ("openai/gpt-oss-120b", "mi300x", ("tool-calling",)),
]


@pytest.mark.parametrize("which", sorted(HELMS))
def test_zero_config_features_equal_render_feature(which):
    """`helm template --set model=M --set gpu=G --set features={...}` equals `aimgen render M --gpu G --feature ...`
    in the order given."""
    def run(item):
        model, gpu, features = item
        exp = aimgen_side(replace(zero_config_case(model, gpu, {}), features=features))
        got = helm_side(which, "zc", None, "default",
                        sets=[f"model={model}", f"gpu={gpu}", "features={" + ",".join(features) + "}"])
        return model, compare(exp.docs, got)

    differences = {m: diff for m, diff in in_parallel(run, ZERO_CONFIG_FEATURES) if diff}
    assert not differences, "\n".join(f"{m}: {diff}" for m, diff in differences.items())
