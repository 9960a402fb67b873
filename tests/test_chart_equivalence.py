"""The chart renders exactly what aimgen renders: `helm template R charts/aim-engine -f <aimgen values> -n NS`
equals `aimgen render ... --name R --namespace NS` as parsed objects (order-insensitive; helm test hooks and the
managed-by label aside), on Helm 3.18 and Helm 4.1, for

- every profile of the chart's table (batched into multi-model releases on each GPU's default pool: each
  deployment names its table key, so the table path is what is checked),
- every node-pool file under recipes/node-pools/ with every profile of its GPU requested (fallbacks and planned
  profiles travel inline), with the render options varied,
- the zero-config install `--set model=M --set gpu=G` for every model and GPU of the table,
- a model known only by its config.json (planned, inline profile), and every option of the renderer.

The Python side runs in-process (the functions `aimgen render` / `aimgen values` call); Helm runs as processes,
two at a time.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pytest

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
)

TABLE = json.loads((CHART / "files" / "profiles.json").read_text())
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
    from aimgen.sources import model_source

    qwen = (("Qwen/Qwen3-8B", None, None, "vllm", "latency", None),)
    pair = (("Qwen/Qwen3-8B", 1, "bf16", "vllm", "latency", "qwen"),
            ("deepseek-ai/DeepSeek-R1", 8, "fp8", "sglang", "throughput", "deepseek"))
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
        Case("local-model-cache", pair, gpu="mi300x", release="mixed", namespace="llm",
             options=(("local_model_cache", "/mnt/nvme/models"),)),
        Case("local-model-cache-s3-pool", qwen, node_pool=ROOT / "recipes" / "node-pools" / "mi300x-8gpu.yaml",
             options=(("local_model_cache", "/mnt/nvme"), ("model_source", model_source("s3://llm-weights/q")),
                      ("cache_enabled", False))),
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
    assert covered == set(TABLE["profiles"]), "every profile of files/profiles.json is rendered"


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
    for cid in ("llmisvc-multinode", "llmisvc-multinode-no-cache"):
        assert "worker" in next(d for d in expected[cid].docs if d["kind"] == "LLMInferenceServiceConfig")["spec"]


@pytest.mark.parametrize("which", sorted(HELMS))
def test_zero_config_install_picks_what_aimgen_render_picks(which):
    """`helm template R --set model=M --set gpu=G` equals `aimgen render M --gpu G --name R`: every GPU of every
    planned model, and one GPU per recipe-only model (the pick runs the same template path; sampled, rotating the
    GPU, to keep the suite's Helm calls near one per model)."""
    from aimgen.catalog.models import load_models

    recipe_only = {m.id for m in load_models().values() if m.recipe_only}
    pairs, seen = [], {}
    for key in sorted(TABLE["order"]):
        model, gpu = key.split("|")
        if model in recipe_only:
            seen.setdefault(model, []).append(gpu)
            continue
        pairs.append([model, gpu])
    for i, (model, gpus) in enumerate(sorted(seen.items())):
        pairs.append([model, gpus[i % len(gpus)]])

    def run(pair):
        model, gpu = pair
        exp = aimgen_side(Case(f"{model}@{gpu}", ((model, None, None, "vllm", "latency", "zc"),), gpu=gpu,
                               release="zc"))
        got = helm_side(which, "zc", None, "default", sets=[f"model={model}", f"gpu={gpu}"])
        return f"{model} on {gpu}", compare(exp.docs, got)

    differences = {cid: diff for cid, diff in in_parallel(run, pairs) if diff}
    assert not differences, "\n".join(f"{cid}: {diff}" for cid, diff in differences.items())
