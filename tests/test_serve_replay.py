"""The replay: rendered pods, taken literally, prefetch their model from a fake Hub and start a stand-in engine with
the serving container's exact command, args and env; the rendered probes, `aimgen smoke` and the metrics scrape
then run against it (tests/replay_support.py, tests/standin/engine.py).

Whole pods (init container and engine as processes) for every render option, the planner's shapes, both backends
and the chart's zero-config output; every catalog profile of both backends boots (parse, world size, model found
offline where its init container wrote it) with the engine started in this process to keep the suite fast.
"""

from __future__ import annotations

import contextlib
import io
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent / "standin"))

from fakehub import CLEAN_ENV, FakeHub  # noqa: E402
from replay_support import Prefetches, Volumes, container_process, replay  # noqa: E402

CASES = Path(__file__).parent / "cases" / "valid"
QWEN = ["Qwen/Qwen3-8B", "--gpu", "mi300x"]
SGLANG = ["deepseek-ai/DeepSeek-R1", "--gpu", "mi355x", "--backend", "sglang"]
# Every render option at least once, both backends, and the planner's shapes (no recipe; a node pool's fallback).
RENDERS = {
    "vllm-defaults": QWEN,
    "sglang-defaults": SGLANG,
    "prefetch-job": [*QWEN, "--prefetch-job"],
    "prefetch-job-without-init-container": [*SGLANG, "--prefetch-job", "--no-init-container"],
    "no-cache-downloads-at-start": [*QWEN, "--no-cache"],
    "existing-claim": [*QWEN, "--existing-claim", "shared-models", "--cache-size", "500Gi"],
    "hf-token-secret": [*QWEN, "--hf-token-secret", "hf-token:token"],
    "cluster-runtime-and-names": [*QWEN, "--cluster-runtime", "--name", "chat", "--namespace", "llm"],
    "monitoring-autoscale": [*QWEN, "--monitoring", "--autoscale", "1:3"],
    "sglang-monitoring": [*SGLANG, "--monitoring"],
    "max-model-len-throughput": [*QWEN, "--max-model-len", "8192", "--metric", "throughput"],
    "ingress-tls": [*QWEN, "--ingress-host", "llm.example.com", "--tls-secret", "llm-tls", "--allow-namespace", "apps"],
    "gateway": [*QWEN, "--gateway", "gw/infra", "--ingress-host", "llm.example.com"],
    "two-models-one-release": ["Qwen/Qwen3-8B", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "mi300x",
                               "--name", "pair"],
    "fp8-pinned-revision": ["meta-llama/Llama-3.1-70B-Instruct", "--gpu", "mi300x", "--precision", "fp8"],
    "mxfp4-on-gfx950": ["openai/gpt-oss-120b", "--gpu", "mi355x"],
    "planner-model-config": ["acme/llama-3-8b-support", "--gpu", "mi325x", "--model-config",
                             str(CASES / "planned-finetune-mi325x" / "config.json")],
    "planner-no-recipe-for-gpu": ["Qwen/Qwen3-32B", "--gpu", "mi210"],
    "node-pool-fallback": ["meta-llama/Llama-3.1-405B-Instruct", "--precision", "fp8", "--node-pool",
                           str(CASES / "pool-4gpu-fallback" / "pool.yaml")],
}


def render(args: list[str]) -> list[dict]:
    from aimgen.cli.main import run

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert run(["render", *args]) == 0, args
    return list(yaml.safe_load_all(out.getvalue()))


def chart_zero_config() -> list[dict]:
    from chart_support import load_docs, template

    result = template("helm3", "zero", sets=["model=Qwen/Qwen3-8B", "gpu=mi300x"], namespace="llm")
    assert result.returncode == 0, result.stderr
    return [d for d in load_docs(result.stdout) if d]


def without_host(docs: list[dict]) -> list[dict]:
    """Issue 11 defect 1 as it was rendered: SGLang without --host."""
    for doc in docs:
        if doc["kind"] == "InferenceService":
            model = doc["spec"]["predictor"]["model"]
            model["args"] = [a for a in model["args"] if not a.startswith("--host")]
    return docs


def with_pipeline_parallel(docs: list[dict]) -> list[dict]:
    """Issue 11 defect 2 as it was rendered: PP2 on a pod given the GPUs of one node."""
    for doc in docs:
        if doc["kind"] == "InferenceService":
            doc["spec"]["predictor"]["model"]["args"].append("--pipeline-parallel-size=2")
    return docs


@pytest.fixture(scope="module")
def hub():
    with FakeHub() as server:
        yield server


@pytest.fixture(scope="module")
def outcomes(hub, tmp_path_factory):
    """Every whole-pod replay, run in parallel once for the module: {case: [Outcome per InferenceService]}."""
    work = tmp_path_factory.mktemp("replay")
    prefetches = Prefetches(hub, Volumes(work / "volumes"))
    # Rendered here, one at a time (the CLI writes to this process's stdout), then replayed in parallel.
    jobs = {name: render(args) for name, args in RENDERS.items()}
    jobs["chart-zero-config"] = chart_zero_config()
    jobs["regression-sglang-without-host"] = without_host(render(SGLANG))
    jobs["regression-pp-over-gpus"] = with_pipeline_parallel(render(QWEN))

    def one(item):
        name, docs = item
        return name, replay(docs, prefetches, work, name)

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(pool.map(one, jobs.items()))


@pytest.mark.parametrize("case", [*RENDERS, "chart-zero-config"])
def test_rendered_pod_serves(case, outcomes):
    assert outcomes[case], f"{case}: no InferenceService replayed"
    for outcome in outcomes[case]:
        assert outcome.started, f"{outcome.name}: the engine did not start: {outcome.engine_error}"
        assert outcome.probe_failures == [], outcome.probe_failures
        assert outcome.smoke_ok, outcome.smoke
        assert outcome.metrics_ok, f"{outcome.name}: no metrics on the scraped port"


def test_sglang_replay_listens_where_the_kubelet_probes(outcomes):
    ready = outcomes["sglang-defaults"][0].ready
    assert ready["host"] == "0.0.0.0" and ready["bound"][0] == "127.0.0.2"


def test_regression_sglang_on_loopback_fails_its_probes(outcomes):
    """What render produced before the fix: the engine starts, on 127.0.0.1, and no probe ever reaches it."""
    outcome = outcomes["regression-sglang-without-host"][0]
    assert outcome.started and outcome.ready["bound"][0] == "127.0.0.1"
    assert len(outcome.probe_failures) == 3 and not outcome.smoke_ok


def test_regression_pipeline_parallel_over_the_pods_gpus_never_starts(outcomes):
    outcome = outcomes["regression-pp-over-gpus"][0]
    assert not outcome.started and "world size TP1 x PP2 x DP1 needs 2 GPU(s) on this node but only 1 are visible" in outcome.engine_error


def test_no_cache_pod_downloads_into_its_tmp_and_cached_pods_load_from_the_claim(outcomes):
    downloaded = outcomes["no-cache-downloads-at-start"][0].ready["model_path"]
    assert "/pods/no-cache-downloads-at-start-qwen3-8b/tmp/.cache/huggingface/hub/models--Qwen--Qwen3-8B/" in downloaded
    served_from_volume = outcomes["vllm-defaults"][0].ready["model_path"]
    assert "/volumes/pvc/qwen3-8b-cache/hub/models--Qwen--Qwen3-8B/snapshots/" in served_from_volume


# --- every catalog profile boots ----------------------------------------------------------------------------


def _profiles():
    from aimgen.recipes.load import load_all_profiles

    return list(load_all_profiles())


PROFILES = _profiles()


def test_profiles_of_every_backend_are_covered():
    assert {p.backend for p in PROFILES} == {"vllm", "sglang", "atom"}


def test_every_catalog_profile_boots(hub, tmp_path, monkeypatch):
    """Each profile, rendered as `aimgen render` renders it, draws no SERVE finding; its init container fills the
    shared claim (one run per distinct container), then the stand-in engine boots with the serving container's args
    and env (in-process)."""
    import engine

    from aimgen.catalog.gpus import load_gpus
    from aimgen.catalog.models import load_models
    from aimgen.catalog.nodepool import default_pool
    from aimgen.compose import Options, compose
    from aimgen.render.manifests import render_all
    from aimgen.runtimes.cmdline import listens_everywhere
    from aimgen.select import Request
    from aimgen.validate.kserve_pod import find_runtime, gpus_of, predictor_pod
    from aimgen.validate.serving import serving_findings

    models, gpus = load_models(), load_gpus()
    volumes = Volumes(tmp_path / "volumes")
    prefetches = Prefetches(hub, volumes, in_process=True)
    for name in CLEAN_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)

    def boot(profile):
        pool = replace(default_pool(gpus[profile.gpu]), nodes=max(1, profile.nodes))
        request = Request(model=models[profile.model], pool=pool, gpus=profile.gpus, precision=profile.precision,
                          backend=profile.backend, metric=profile.metric)
        spec, decisions = compose([(request, "replay")], pool, Options(name="replay"))
        assert decisions[0].serving.profile_id == profile.id
        docs = render_all(spec)
        isvc = next(d for d in docs if d["kind"] == "InferenceService")
        pod = predictor_pod(isvc, find_runtime(isvc, docs))
        for init in pod["spec"]["initContainers"]:
            prefetches.run("replay", pod["spec"], init)
        container = pod["spec"]["containers"][0]
        argv, env = container_process(f"profile-{profile.id}", pod["spec"], container, volumes)
        runtime_words = len(decisions[0].runtime.command)
        try:
            cmd, path = engine.boot(tuple(argv[:runtime_words]), argv[runtime_words:], gpus_of(container),
                                    {**env, "HF_ENDPOINT": hub.url}, image=container["image"])
        except engine.Refused as exc:
            return f"{profile.id}: {exc}"
        probe_ports = {container[p]["httpGet"]["port"] for p in ("startupProbe", "readinessProbe", "livenessProbe")}
        problems = [f.line() for f in serving_findings([("rendered", d) for d in docs])]  # validate: not a word
        if not listens_everywhere(cmd.host):
            problems.append(f"listens on {cmd.host}")
        if probe_ports != {cmd.port} or container["ports"][0]["containerPort"] != cmd.port:
            problems.append(f"engine port {cmd.port}, probes {probe_ports}")
        if not path.startswith(str(volumes.root / "pvc" / "replay-cache" / "hub")):
            problems.append(f"model loaded from {path}, not from the claim")
        return f"{profile.id}: {', '.join(problems)}" if problems else None

    failures = [f for f in map(boot, PROFILES) if f]  # one at a time: booting swaps os.environ under a lock
    assert failures == [], "\n".join(failures)

