"""Every profile of every recipe renders and validates strictly (Kubernetes schemas + KServe CRDs)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from aimgen.catalog.gpus import get_gpu
from aimgen.catalog.models import get_model
from aimgen.catalog.nodepool import default_pool
from aimgen.compose import Options, compose
from aimgen.constants import GPU_RESOURCE, SERVING_CONTAINER
from aimgen.recipes.load import load_all_profiles
from aimgen.render.manifests import render_all
from aimgen.select import Request
from aimgen.validate.documents import validate_documents

PROFILES = load_all_profiles()


def _render(profile, **options):
    pool = replace(default_pool(get_gpu(profile.gpu)), nodes=max(1, profile.nodes))
    req = Request(get_model(profile.model), pool, profile.gpus, profile.precision, profile.backend, profile.metric)
    spec, decisions = compose([(req, None)], pool, Options(**options))
    return spec, decisions, render_all(spec)


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.id)
def test_profile_renders_and_validates(profile):
    spec, decisions, docs = _render(profile, prefetch_job=True)
    findings = validate_documents(docs, source=profile.id, crd_dirs=None, kube_version=None)
    assert not findings, "\n".join(f.line() for f in findings)
    isvc = next(d for d in docs if d["kind"] == "InferenceService")
    model = isvc["spec"]["predictor"]["model"]
    # GPUs requested = limits = the profile's count per pod; the runtime owns the serving container name.
    assert model["resources"]["requests"][GPU_RESOURCE] == model["resources"]["limits"][GPU_RESOURCE] == str(profile.gpus // profile.nodes)
    runtime = next(d for d in docs if d["kind"] in ("ServingRuntime", "ClusterServingRuntime"))
    assert runtime["spec"]["containers"][0]["name"] == SERVING_CONTAINER
    assert "serving.kserve.io/server-type" not in str(runtime)
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"]
    env = {e["name"]: e.get("value") for e in model["env"]}
    if "VLLM_ROCM_QUICK_REDUCE_QUANTIZATION" in env:
        assert decisions[0].serving.tensor_parallel_size > 1
    shm = next(v for v in isvc["spec"]["predictor"]["volumes"] if v["name"] == "dshm")
    assert shm["emptyDir"]["medium"] == "Memory" and shm["emptyDir"]["sizeLimit"]
    assert model["startupProbe"]["failureThreshold"] * model["startupProbe"]["periodSeconds"] >= 600


def test_startup_probe_grows_with_the_weights():
    small = next(p for p in PROFILES if p.model == "Qwen/Qwen3-8B")
    large = next(p for p in PROFILES if p.model == "meta-llama/Llama-3.1-405B-Instruct")
    probe = lambda p: next(d for d in _render(p)[2] if d["kind"] == "InferenceService")["spec"]["predictor"]["model"]["startupProbe"]
    assert probe(large)["failureThreshold"] > probe(small)["failureThreshold"]


def test_quick_reduce_never_at_tp1():
    for p in PROFILES:
        if p.gpus == 1:
            assert "VLLM_ROCM_QUICK_REDUCE_QUANTIZATION" not in p.env, p.location


def test_a_profile_runs_on_the_runtime_it_names(cli, tmp_path):
    """GLM-5.2's SGLang profiles need SGLang 0.5.16 (`runtime: sglang-0516-rocm`): `aimgen render --backend sglang`
    serves them on that runtime's image, a release that also serves a model on the default SGLang runtime renders
    both ServingRuntimes, and `aimgen validate` reads each pod back with its own engine version."""
    import yaml

    out = tmp_path / "two.yaml"
    code, _, err = cli("render", "zai-org/GLM-5.2", "Qwen/Qwen3-8B", "--gpu", "mi325x", "--backend", "sglang", "-o", out)
    assert code == 0, err
    docs = list(yaml.safe_load_all(out.read_text()))
    images = {d["metadata"]["name"]: d["spec"]["containers"][0]["image"] for d in docs if d["kind"] == "ServingRuntime"}
    assert images == {"glm-5-2-sglang-0516-rocm-gfx942": "docker.io/lmsysorg/sglang:v0.5.16-rocm720-mi30x",
                      "glm-5-2-sglang-rocm-gfx942": "docker.io/lmsysorg/sglang:v0.5.12-rocm700-mi30x"}
    served = {d["metadata"]["name"]: d["spec"]["predictor"]["model"]["runtime"] for d in docs
              if d["kind"] == "InferenceService"}
    assert served == {"glm-5-2": "glm-5-2-sglang-0516-rocm-gfx942", "qwen3-8b": "glm-5-2-sglang-rocm-gfx942"}
    assert "--dsa-topk-backend=torch" in next(d for d in docs if d.get("metadata", {}).get("name") == "glm-5-2"
                                              and d["kind"] == "InferenceService")["spec"]["predictor"]["model"]["args"]
    assert cli("validate", out)[0] == 0
    # --engine-arg is checked against the engine version the profile runs on, not the backend's default
    glm = ("render", "zai-org/GLM-5.2", "--gpu", "mi355x", "--backend", "sglang", "-o", tmp_path / "glm.yaml")
    assert cli(*glm, "--engine-arg", "dsa-topk-backend=flashinfer")[0] == 0
    code, _, err = cli("render", "Qwen/Qwen3-8B", "--gpu", "mi325x", "--backend", "sglang",
                       "--engine-arg", "dsa-topk-backend=torch", "-o", tmp_path / "qwen.yaml")
    assert code == 2 and "not an option of sglang 0.5.12" in err
    code, out, _ = cli("explain", "zai-org/GLM-5.2", "--gpu", "mi325x", "--backend", "sglang")
    assert code == 0 and "runtime: sglang-0516-rocm (sglang 0.5.16), image docker.io/lmsysorg/sglang:v0.5.16-rocm720-mi30x" in out


def test_list_profiles_says_which_runtime_each_runs_on(cli):
    import json

    code, out, err = cli("list", "profiles", "--json")
    assert code == 0, err
    runtimes = {row["id"]: row["runtime"] for row in json.loads(out)}
    assert runtimes["glm-5-2-mi325x-x8-fp8-sglang-throughput"] == "sglang-0516-rocm"
    assert runtimes["glm-5-2-mi325x-x8-fp8-vllm-latency"] == "vllm-rocm"
    assert runtimes["deepseek-v4-pro-mi355x-x8-fp8-sglang-throughput"] == "sglang-0517-rocm"
    assert {r for pid, r in runtimes.items() if "-sglang-" in pid
            and not pid.startswith(("glm-5-2-", "deepseek-v4-pro-"))} == {"sglang-rocm"}


def test_deepseek_v4_pro_sglang_runs_on_the_0517_build_it_was_measured_with(cli, tmp_path):
    """DeepSeek-V4-Pro's SGLang profile (InferenceX's agentic launch) names sglang-0517-rocm, whose one image is the
    dated MI355X build InferenceX ran: render serves it there, validate reads the pod back with 0.5.17's parser."""
    import yaml

    out = tmp_path / "dsv4.yaml"
    code, _, err = cli("render", "deepseek-ai/DeepSeek-V4-Pro", "--gpu", "mi355x", "--backend", "sglang", "-o", out)
    assert code == 0, err
    docs = list(yaml.safe_load_all(out.read_text()))
    images = {d["metadata"]["name"]: d["spec"]["containers"][0]["image"] for d in docs if d["kind"] == "ServingRuntime"}
    assert images == {"deepseek-v4-pro-sglang-0517-rocm-gfx950":
                      "docker.io/lmsysorg/sglang-rocm:v0.5.17-rocm720-mi35x-20260813"}
    model = next(d for d in docs if d["kind"] == "InferenceService")["spec"]["predictor"]["model"]
    assert {"--attention-backend=dsv4", "--tp-size=8", "--cuda-graph-max-bs-decode=32"} <= set(model["args"])
    assert {e["name"]: e.get("value") for e in model["env"]}["SGLANG_HACK_FLASHMLA_BACKEND"] == "unified_kv_triton"
    assert cli("validate", out)[0] == 0


def test_the_launcher_runs_the_runtime_the_profile_names():
    from aimgen.launch.profiles import select_resolver

    resolved = select_resolver()("zai-org/GLM-5.2", "mi325x", 8, None, None, "sglang", None)
    assert resolved.runtime_name == "sglang-0516-rocm" and resolved.args["dsa-topk-backend"] == "torch"
    assert select_resolver()("Qwen/Qwen3-8B", "mi325x", 1, None, None, "sglang", None).runtime_name == "sglang-rocm"
    dsv4 = select_resolver()("deepseek-ai/DeepSeek-V4-Pro", "mi355x", 8, None, None, "sglang", None)
    assert dsv4.runtime_name == "sglang-0517-rocm" and dsv4.args["attention-backend"] == "dsv4"
