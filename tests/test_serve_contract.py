"""SERVE00x: `aimgen validate` refuses manifests whose pod would never serve, and passes what render and the chart
produce. Each bad case is a rendered manifest with one thing changed, as a user might hand-edit it."""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

from aimgen.validate.serving import serving_findings


@lru_cache(maxsize=None)
def _rendered(*args: str) -> tuple:
    import contextlib
    import io

    from aimgen.cli.main import run

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert run(["render", *args]) == 0
    return tuple(yaml.safe_load_all(out.getvalue()))


def rendered(*args: str) -> list[dict]:
    return copy.deepcopy(list(_rendered(*args)))


SGLANG = ("deepseek-ai/DeepSeek-R1", "--gpu", "mi355x", "--backend", "sglang")
VLLM_FP8 = ("meta-llama/Llama-3.1-70B-Instruct", "--gpu", "mi300x", "--precision", "fp8", "--prefetch-job",
            "--monitoring")


def isvc(docs: list[dict]) -> dict:
    return next(d for d in docs if d["kind"] == "InferenceService")


def model(docs: list[dict]) -> dict:
    return isvc(docs)["spec"]["predictor"]["model"]


def env_set(docs: list[dict], name: str, value: str) -> None:
    for item in model(docs)["env"]:
        if item["name"] == name:
            item["value"] = value


def codes(docs: list[dict], level: str = "error") -> list[str]:
    return [f.code for f in serving_findings([("test", d) for d in docs]) if f.level == level]


def test_sglang_is_rendered_listening_on_all_interfaces():
    """Issue 11 defect 1: SGLang's default host is 127.0.0.1; render must pass --host."""
    args = model(rendered(*SGLANG))["args"]
    assert "--host=0.0.0.0" in args
    assert codes(rendered(*SGLANG)) == []


def test_vllm_default_host_already_listens_everywhere():
    # vLLM binds every interface without --host (its snapshot's default is None): nothing added.
    assert not [a for a in model(rendered("Qwen/Qwen3-8B", "--gpu", "mi300x"))["args"] if a.startswith("--host")]


def mutate_no_host(docs):
    model(docs)["args"] = [a for a in model(docs)["args"] if not a.startswith("--host")]


def mutate_pp_over_gpus(docs):
    model(docs)["args"].append("--pp-size=2")


def mutate_tp_over_gpus(docs):
    model(docs)["args"] = [a.replace("--tp-size=8", "--tp-size=16") for a in model(docs)["args"]]


def mutate_probe_port(docs):
    model(docs)["readinessProbe"]["httpGet"]["port"] = 8000


def mutate_engine_port(docs):
    model(docs)["args"] = [a for a in model(docs)["args"] if not a.startswith("--port")]  # SGLang's 30000


def mutate_metrics_port(docs):
    isvc(docs)["metadata"]["annotations"]["prometheus.io/port"] = "9090"


def mutate_no_metrics(docs):
    model(docs)["args"].remove("--enable-metrics")


def mutate_cache_path(docs):
    env_set(docs, "HF_HUB_CACHE", "/models/cache")


def mutate_cache_volume(docs):
    model(docs)["volumeMounts"] = [m for m in model(docs)["volumeMounts"] if m["name"] != "model-cache"]


def mutate_revision(docs):
    init = isvc(docs)["spec"]["predictor"]["initContainers"][0]
    init["args"][init["args"].index("--revision") + 1] = "0123456789abcdef0123456789abcdef01234567"


def mutate_shm_disk(docs):
    for volume in isvc(docs)["spec"]["predictor"]["volumes"]:
        if volume["name"] == "dshm":
            volume["emptyDir"] = {}


def mutate_shm_small(docs):
    for volume in isvc(docs)["spec"]["predictor"]["volumes"]:
        if volume["name"] == "dshm":
            volume["emptyDir"]["sizeLimit"] = "1Gi"


def mutate_memory_limit(docs):
    model(docs)["resources"]["limits"]["memory"] = "32Gi"
    model(docs)["resources"]["requests"]["memory"] = "32Gi"


def mutate_context(docs):
    model(docs)["args"].append("--context-length=1000000")


def mutate_served_name(docs):
    model(docs)["args"] = [a.replace("--served-model-name=deepseek-ai/DeepSeek-R1", "--served-model-name=r1")
                           for a in model(docs)["args"]]


def mutate_image_version(docs):
    rt = next(d for d in docs if d["kind"] == "ServingRuntime")
    rt["spec"]["containers"][0]["image"] = "docker.io/lmsysorg/sglang:v0.4.0-rocm630"


def mutate_unknown_arg(docs):
    model(docs)["args"].append("--no-such-flag=1")


def mutate_compile_cache_in_image(docs):
    env_set(docs, "TRITON_CACHE_DIR", "/opt/triton")  # the root filesystem is read-only


def mutate_compile_cache_read_only(docs):
    for mount in model(docs)["volumeMounts"]:
        if mount["name"] == "model-cache":
            mount["readOnly"] = True


SGLANG_CASES = {
    "SERVE002": [mutate_no_host],
    "SERVE003": [mutate_probe_port, mutate_engine_port, mutate_metrics_port, mutate_no_metrics],
    "SERVE004": [mutate_pp_over_gpus, mutate_tp_over_gpus],
    "SERVE005": [mutate_cache_path, mutate_cache_volume, mutate_revision],
    "SERVE006": [mutate_shm_disk, mutate_shm_small, mutate_memory_limit],
    "SERVE007": [mutate_context],
    "SERVE009": [mutate_served_name],
    "SERVE010": [mutate_image_version],
    "SERVE011": [mutate_unknown_arg],
    "SERVE012": [mutate_compile_cache_in_image, mutate_compile_cache_read_only],
}


@pytest.mark.parametrize("code,mutate", [(c, m) for c, ms in SGLANG_CASES.items() for m in ms],
                         ids=lambda v: v if isinstance(v, str) else v.__name__)
def test_a_pod_that_would_not_serve_is_an_error(code, mutate):
    docs = rendered(*SGLANG)
    mutate(docs)
    assert code in codes(docs)


@pytest.mark.parametrize("name, value, fragment", [
    ("TRITON_CACHE_DIR", "/tmp/triton", "off the cache claim"),
    ("AITER_JIT_DIR", "/models/aiter", "not keyed by the image"),
    ("SGLANG_CACHE_DIR", None, "is not set"),
])
def test_compile_caches_off_the_claim_or_unkeyed_are_warnings(name, value, fragment):
    """Every start would recompile (minutes per AITER kernel on gfx950), or one build would load another's kernels."""
    docs = rendered(*SGLANG)
    assert "SERVE012" not in codes(docs, "warning")
    if value is None:
        model(docs)["env"] = [e for e in model(docs)["env"] if e["name"] != name]
    else:
        env_set(docs, name, value)
    found = [f for f in serving_findings([("test", d) for d in docs]) if f.code == "SERVE012"]
    assert [f.level for f in found] == ["warning"] and fragment in found[0].message and name in found[0].message


def test_fp8_on_a_mi250x_pinned_pod_is_refused():
    docs = rendered(*VLLM_FP8)
    assert codes(docs) == []
    terms = isvc(docs)["spec"]["predictor"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    terms["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] = ["7408", "740c"]  # MI250X (gfx90a)
    found = serving_findings([("test", d) for d in docs])
    assert [f.code for f in found if f.level == "error"] == ["SERVE008"]
    assert "gfx90a" in found[0].message and "gfx942" in found[0].message


def test_prefetch_job_path_mismatch_names_the_job():
    docs = rendered(*VLLM_FP8, "--no-init-container")
    env_set(docs, "HF_HOME", "/data")
    isvc(docs)["spec"]["predictor"]["model"]["env"] = [e for e in model(docs)["env"] if e["name"] != "HF_HUB_CACHE"]
    found = [f for f in serving_findings([("test", d) for d in docs]) if f.code == "SERVE005"]
    assert found and "Job/" in found[0].message and "/models/hub" in found[0].message


def test_podmonitor_on_another_port_is_refused():
    docs = rendered(*VLLM_FP8)
    monitor = next(d for d in docs if d["kind"] == "PodMonitor")
    monitor["spec"]["podMetricsEndpoints"][0]["portNumber"] = 9400
    assert "SERVE003" in codes(docs)


def test_a_multi_node_plan_rendered_as_one_pod_is_refused():
    """Issue 11 defect 2, as validate sees it: PP2 on one 4-GPU pod."""
    docs = rendered("Qwen/Qwen3-235B-A22B", "--gpu", "mi300x", "--gpus", "4")
    model(docs)["args"].append("--pipeline-parallel-size=2")
    found = [f for f in serving_findings([("test", d) for d in docs]) if f.code == "SERVE004"]
    assert found and found[0].level == "error" and "8 GPU rank(s)" in found[0].message and "gets 4 GPU(s)" in found[0].message


def test_the_runtime_may_come_from_another_file_and_a_missing_one_is_said():
    docs = rendered("Qwen/Qwen3-8B", "--gpu", "mi300x")
    runtime = [("runtime.yaml", d) for d in docs if d["kind"] == "ServingRuntime"]
    rest = [("isvc.yaml", d) for d in docs if d["kind"] != "ServingRuntime"]
    assert [f for f in serving_findings(rest + runtime) if f.level == "error"] == []
    missing = serving_findings(rest)
    assert [(f.level, f.code) for f in missing] == [("warning", "SERVE001")]
    assert "not in this input" in missing[0].message


def test_validate_cli_exits_1_on_a_serve_finding(cli, tmp_path):
    docs = rendered(*SGLANG)
    mutate_no_host(docs)
    path = tmp_path / "r1.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    code, out, err = cli("validate", path)
    assert code == 1 and "error[SERVE002]" in err and "--host=0.0.0.0" in err


def test_a_badly_shaped_manifest_gets_schema_errors_not_a_crash():
    docs = rendered("Qwen/Qwen3-8B", "--gpu", "mi300x")
    model(docs)["args"] = "not a list"
    model(docs)["env"] = [["odd"]]
    found = serving_findings([("test", d) for d in docs])
    assert all(f.code.startswith("SERVE") for f in found)


def test_workerspec_group_counts_gpus_per_pod_times_pods():
    """A predictor with a workerSpec is a group: head + (nodes - 1) workers, as KServe counts nodes."""
    from aimgen.validate.kserve_pod import pod_group

    docs = rendered("Qwen/Qwen3-235B-A22B", "--gpu", "mi300x", "--gpus", "4")
    service, runtime = isvc(docs), next(d for d in docs if d["kind"] == "ServingRuntime")
    worker = {"name": "worker-container", "image": "x", "resources": {"limits": {"amd.com/gpu": "4"}}}
    runtime["spec"]["workerSpec"] = {"containers": [worker]}
    runtime["metadata"]["annotations"] = {"multinode/executor-backend": "mp"}
    service["spec"]["predictor"]["workerSpec"] = {"pipelineParallelSize": 2, "tensorParallelSize": 4}
    group = pod_group(service, runtime)
    assert [(p["metadata"]["name"], n) for p, n in group] == [
        ("qwen3-235b-a22b-predictor", 1), ("qwen3-235b-a22b-predictor-worker", 1)]
    model(docs)["args"].append("--pipeline-parallel-size=2")
    assert "SERVE004" not in codes(docs)
    del runtime["metadata"]["annotations"]  # Ray: ceil(TP x PP / GPUs per worker) nodes
    worker["resources"]["limits"]["amd.com/gpu"] = "2"
    assert [n for _, n in pod_group(service, runtime)] == [1, 3]


@pytest.mark.parametrize("sets", [
    ("model=Qwen/Qwen3-8B", "gpu=mi300x"),
    ("model=deepseek-ai/DeepSeek-R1", "gpu=mi355x", "backend=sglang"),
], ids=["zero-config", "sglang"])
def test_helm_template_output_passes(sets):
    from chart_support import load_docs, template

    result = template("helm3", "rel", sets=sets, namespace="llm")
    assert result.returncode == 0, result.stderr
    docs = [d for d in load_docs(result.stdout) if d]
    assert any(d["kind"] == "InferenceService" for d in docs)
    found = serving_findings([("helm", d) for d in docs])
    assert [f for f in found if f.level == "error"] == [], found
    assert "--host=0.0.0.0" in " ".join(model(docs)["args"]) or sets[-1] != "backend=sglang"


CI_VALUES = sorted((Path(__file__).parents[1] / "charts" / "aim-engine" / "ci").glob("*-values.yaml"))


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.stem)
def test_the_charts_ci_installs_pass(values):
    from chart_support import load_docs, template

    result = template("helm3", "ci", values_files=[values], namespace="llm")
    assert result.returncode == 0, result.stderr
    docs = [d for d in load_docs(result.stdout) if d]
    assert [f for f in serving_findings([("helm", d) for d in docs]) if f.level == "error"] == []


def test_a_network_policy_that_shuts_the_engine_port_is_refused():
    docs = rendered(*SGLANG)
    policy = next(d for d in docs if d["kind"] == "NetworkPolicy" and d["spec"].get("ingress"))
    policy["spec"]["ingress"][0]["ports"] = [{"protocol": "TCP", "port": 8000}]
    found = [f for f in serving_findings([("test", d) for d in docs]) if f.code == "SERVE003"]
    assert found and found[0].path.startswith("NetworkPolicy/") and "allow port 8080" in found[0].message


@pytest.mark.parametrize("exposure", [("--ingress-host", "llm.example.com"), ("--gateway", "gw")])
def test_a_route_to_another_service_port_is_refused(exposure):
    docs = rendered("Qwen/Qwen3-8B", "--gpu", "mi300x", *exposure)
    assert codes(docs) == []
    for doc in docs:
        if doc["kind"] == "HTTPRoute":
            doc["spec"]["rules"][0]["backendRefs"][0]["port"] = 8080
        if doc["kind"] == "Ingress":
            doc["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"]["number"] = 8080
    assert "SERVE003" in codes(docs)
