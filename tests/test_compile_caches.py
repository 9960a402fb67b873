"""Warm restarts: the engines' compile/JIT caches live on the cache volume, keyed by image and GPU architecture
(issue 15 item 5); the env names come from each runtime's runtime.yaml and are read by the engines as snapshotted."""

from __future__ import annotations

import json

import yaml

from aimgen.cache.plan import compile_cache_env, compile_cache_key
from aimgen.paths import chart_dir
from aimgen.runtimes.registry import list_runtimes
from aimgen.runtimes.snapshot import load_snapshot


def _predictor_env(out: str) -> dict[str, str]:
    isvc = next(d for d in yaml.safe_load_all(out) if d["kind"] == "InferenceService")
    return {e["name"]: e["value"] for e in isvc["spec"]["predictor"]["model"]["env"]}


def test_every_engine_cache_is_on_the_volume_keyed_by_image_and_gfx(cli):
    code, out, err = cli("render", "Qwen/Qwen3-8B", "--gpu", "mi300x")
    assert code == 0, err
    env = _predictor_env(out)
    image = next(d for d in yaml.safe_load_all(out) if d["kind"] == "ServingRuntime")["spec"]["containers"][0]["image"]
    base = f"/models/compile/{compile_cache_key(image)}/gfx942"
    assert {k: v for k, v in env.items() if v.startswith("/models/compile/")} == {
        "VLLM_CACHE_ROOT": f"{base}/vllm", "TRITON_CACHE_DIR": f"{base}/triton",
        "TORCHINDUCTOR_CACHE_DIR": f"{base}/inductor", "AITER_JIT_DIR": f"{base}/aiter"}


def test_sglang_gets_its_own_cache_dir_and_gfx950_another_folder(cli):
    code, out, err = cli("render", "deepseek-ai/DeepSeek-R1", "--gpu", "mi355x", "--backend", "sglang")
    assert code == 0, err
    env = _predictor_env(out)
    assert env["SGLANG_CACHE_DIR"].endswith("/gfx950/sglang") and "VLLM_CACHE_ROOT" not in env


def test_no_cache_volume_no_compile_cache(cli):
    code, out, err = cli("render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--no-cache")
    assert code == 0, err
    assert not [v for v in _predictor_env(out).values() if "/compile/" in v]


def test_the_key_separates_builds_and_architectures():
    caches = {"TRITON_CACHE_DIR": "triton"}
    a = compile_cache_env("/models", "docker.io/vllm/vllm-openai-rocm:v0.31.0", "gfx942", caches)
    b = compile_cache_env("/models", "docker.io/vllm/vllm-openai-rocm:v0.33.0", "gfx942", caches)
    c = compile_cache_env("/models", "docker.io/vllm/vllm-openai-rocm:v0.31.0", "gfx950", caches)
    d = compile_cache_env("/models", "other.io/vllm/vllm-openai-rocm:v0.31.0", "gfx942", caches)
    assert len({a["TRITON_CACHE_DIR"], b["TRITON_CACHE_DIR"], c["TRITON_CACHE_DIR"], d["TRITON_CACHE_DIR"]}) == 4
    assert compile_cache_key("docker.io/vllm/vllm-openai-rocm:v0.31.0").startswith("vllm-openai-rocm-v0.31.0-")
    assert "/" not in compile_cache_key("repo/x@sha256:" + "a" * 64)


def test_engine_cache_variables_are_the_engines_own():
    """VLLM_CACHE_ROOT and SGLANG_CACHE_DIR are read by the engine versions the runtimes pin (their snapshots). ATOM
    has no such variable and sets Triton's and Inductor's itself under ~/.cache/atom: only AITER's can be moved."""
    engine_vars = {"vllm": "VLLM_CACHE_ROOT", "sglang": "SGLANG_CACHE_DIR"}
    for runtime in list_runtimes():
        if runtime.engine == "atom":
            assert set(runtime.compile_caches) == {"AITER_JIT_DIR"}
            continue
        engine_var = engine_vars[runtime.engine]
        assert engine_var in runtime.compile_caches
        assert engine_var in load_snapshot(runtime.snapshot_path).env
        assert {"TRITON_CACHE_DIR", "TORCHINDUCTOR_CACHE_DIR", "AITER_JIT_DIR"} <= set(runtime.compile_caches)


def test_the_chart_table_carries_it_for_every_profile():
    """The chart places what Python decided (files/zero-config/, `aimgen chart sync`); test_chart_equivalence
    proves `helm template` renders the same env as `aimgen render`."""
    from aimgen.chart_table import load_table

    table = load_table()
    for key, profile in table["profiles"].items():
        env = profile["compileCacheEnv"]
        assert env and all(v.startswith("/models/compile/") for v in env.values()), key


def test_validate_holds_llmisvc_pods_to_the_same_rule(cli):
    """LLM007: the pods KServe builds from an LLMInferenceService keep their compile caches on the cache claim too;
    a cache dir moved to a read-only place is an error, as SERVE012 says for an InferenceService."""
    from aimgen.validate.llmisvc_pod import llmisvc_findings

    code, out, err = cli("render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--api", "llmisvc")
    assert code == 0, err
    docs = [d for d in yaml.safe_load_all(out) if d]
    assert not [f for f in llmisvc_findings(docs, "rendered") if f.code == "LLM007"]
    config = next(d for d in docs if d["kind"] == "LLMInferenceServiceConfig")
    main = next(c for c in config["spec"]["template"]["containers"] if c["name"] == "main")
    env = next(e for e in main["env"] if e["name"] == "TRITON_CACHE_DIR")
    env["value"] = "/opt/triton"  # not a volume: the engine's root filesystem is read-only
    found = [f for f in llmisvc_findings(docs, "edited") if f.code == "LLM007"]
    assert [f.level for f in found] == ["error"] and "TRITON_CACHE_DIR=/opt/triton" in found[0].message
