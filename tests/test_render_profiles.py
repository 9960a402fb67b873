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
