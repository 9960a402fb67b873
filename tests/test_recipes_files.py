"""The recipe knowledge in recipes/models/: loads, covers the models and GPUs we promise, cites real expert
configs, and uses only flags and env the engines still understand (snapshots in tests/fixtures/recipes/)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from aimgen.catalog.compat import runnable
from aimgen.catalog.gpus import load_gpus
from aimgen.catalog.models import load_models
from aimgen.recipes.engine_rules import QUICK_REDUCE_ENV, REMOVED_VLLM_ENV, REMOVED_VLLM_FLAGS, RENDERED_FLAGS
from aimgen.recipes.lint import check_recipes, lint_profile
from aimgen.recipes.load import load_all_profiles, load_recipe, profiles_for, recipe_files
from aimgen.recipes.model import Profile

FIXTURES = Path(__file__).parent / "fixtures" / "recipes"
MAIN_GPUS = ("mi300x", "mi325x", "mi355x")
REQUIRED_MODELS = (
    "meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-70B-Instruct", "meta-llama/Llama-3.1-405B-Instruct",
    "meta-llama/Llama-3.3-70B-Instruct", "Qwen/Qwen3-8B", "Qwen/Qwen3-32B", "Qwen/Qwen3-235B-A22B", "deepseek-ai/DeepSeek-R1",
    "openai/gpt-oss-20b", "openai/gpt-oss-120b", "mistralai/Mixtral-8x7B-Instruct-v0.1", "mistralai/Mistral-7B-Instruct-v0.3",
    "deepseek-ai/DeepSeek-V3",
)
# Too large for one GPU in any precision experts publish (bf16/fp8 weights exceed 288 GB or leave no KV cache).
NO_SINGLE_GPU = {
    "meta-llama/Llama-3.1-405B-Instruct", "Qwen/Qwen3-235B-A22B", "Qwen/Qwen3-235B-A22B-Instruct-2507",
    "Qwen/Qwen3-235B-A22B-Thinking-2507", "deepseek-ai/DeepSeek-R1", "deepseek-ai/DeepSeek-R1-0528", "deepseek-ai/DeepSeek-V3",
}
# Models AMD's experts run across a full 8-GPU node.
EIGHT_GPU = {
    "meta-llama/Llama-3.1-70B-Instruct", "meta-llama/Llama-3.1-405B-Instruct", "meta-llama/Llama-3.3-70B-Instruct", "Qwen/Qwen3-32B",
    "Qwen/Qwen3-235B-A22B", "deepseek-ai/DeepSeek-R1", "deepseek-ai/DeepSeek-V3", "openai/gpt-oss-120b",
    "mistralai/Mixtral-8x7B-Instruct-v0.1",
}
FP8_BY_EXPERTS = {"meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-70B-Instruct", "meta-llama/Llama-3.1-405B-Instruct",
                  "meta-llama/Llama-3.3-70B-Instruct", "Qwen/Qwen3-235B-A22B", "mistralai/Mixtral-8x7B-Instruct-v0.1"}
MXFP4_ON_MI355X_BY_EXPERTS = {"meta-llama/Llama-3.3-70B-Instruct", "meta-llama/Llama-3.1-405B-Instruct", "deepseek-ai/DeepSeek-R1-0528"}


def _names(file: str) -> set[str]:
    lines = (FIXTURES / file).read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


@pytest.fixture(scope="module")
def profiles() -> tuple[Profile, ...]:
    return load_all_profiles()


@pytest.fixture(scope="module")
def references(shared_dir) -> dict[str, dict]:
    records = yaml.safe_load((shared_dir / "amd" / "reference-configs.yaml").read_text())
    return {r["id"]: r for r in records}


@pytest.mark.parametrize("path", recipe_files(), ids=lambda p: p.name)
def test_every_recipe_file_loads(path):
    loaded = load_recipe(path)
    assert loaded
    assert path.stem == loaded[0].model.split("/", 1)[1].lower(), "file name is the model's slug"


def test_all_profiles_load_and_the_check_command_is_clean(profiles, cli):
    assert len(profiles) >= 150
    findings, count = check_recipes()
    assert findings == [] and count == len(profiles)
    code, out, err = cli("recipes", "check")
    assert code == 0 and out == "", err


@pytest.mark.parametrize("model", REQUIRED_MODELS)
def test_required_model_coverage(model):
    catalog = load_models()[model]
    gpus = load_gpus()
    mine = profiles_for(model)
    for gpu in MAIN_GPUS:
        here = [p for p in mine if p.gpu == gpu]
        assert {p.metric for p in here} == {"latency", "throughput"}, f"{model} on {gpu}: both metrics"
        native = catalog.native_precision if runnable(gpus[gpu], catalog.native_precision, catalog) else "bf16"
        # the default profile for model + GPU alone: vLLM, latency, the model's own precision (docs/recipes.md)
        assert any(p.backend == "vllm" and p.metric == "latency" and p.precision == native for p in here), f"{model} on {gpu}: default"
        if model not in NO_SINGLE_GPU:
            assert any(p.gpus == 1 for p in here), f"{model} on {gpu}: a single-GPU profile"
        if model in EIGHT_GPU:
            assert any(p.gpus == 8 for p in here), f"{model} on {gpu}: the 8-GPU shape"
        if model in FP8_BY_EXPERTS:
            assert any(p.precision == "fp8" for p in here), f"{model} on {gpu}: FP8 as experts run it"
    if model in MXFP4_ON_MI355X_BY_EXPERTS:
        assert any(p.precision == "mxfp4" and p.gpu == "mi355x" for p in mine)


def test_deepseek_has_sglang_on_every_gpu(profiles):
    for model in ("deepseek-ai/DeepSeek-R1", "deepseek-ai/DeepSeek-V3"):
        assert {p.gpu for p in profiles if p.model == model and p.backend == "sglang"} >= set(MAIN_GPUS)


def test_precision_rules(profiles):
    models, gpus = load_models(), load_gpus()
    for p in profiles:
        gpu, model = gpus[p.gpu], models[p.model]
        if p.precision == "mxfp4" and model.native_precision != "mxfp4":
            assert gpu.gfx == "gfx950", f"{p.id}: quantized MXFP4 needs gfx950"
        if p.precision == "fp8":
            assert gpu.fp8 != "none", p.id
        if p.precision != model.native_precision and p.precision in ("fp8", "mxfp4"):
            # a pre-quantized checkpoint, and the same one the model catalog lists
            assert p.checkpoint == model.checkpoints.get(p.precision), p.id
        if p.checkpoint:
            assert p.checkpoint == model.checkpoints.get(p.precision), p.id


def test_sources_cite_real_reference_records(profiles, references):
    for p in profiles:
        src = p.source
        if "upstream" in src and "ref" not in src:
            continue  # checked against ../shared/upstream-configs by test_upstream_citations_resolve
        assert src.get("title") and src.get("ref") in references, p.id
        record = references[src["ref"]]
        origins = record["source"] if isinstance(record["source"], list) else [record["source"]]
        if "commit" in src:
            assert src["commit"] in {o.get("commit") for o in origins}, p.id
            assert src.get("repo") and src.get("path"), p.id
        else:
            assert src.get("url") in {o.get("url") for o in origins}, p.id
        note = src.get("note", "")
        # a profile for a GPU the record did not measure says it was derived
        if p.gpu not in str(record["gpu"]):
            assert "derived" in note, f"{p.id}: say how it was derived from {record['gpu']}"
        # a profile for a sibling model (same architecture) says so
        if p.model not in str(record["model"]) and (p.checkpoint or "?") not in str(record["model"]):
            assert "same" in note or "derived" in note, f"{p.id}: cites a run of {record['model']}"


UPSTREAM_REPOS = {"vllm-recipes": ("vllm-project/recipes", "8959cf64189c71d36e11c6a30335f923f261b1f7"),
                  "inferencex": ("SemiAnalysisAI/InferenceX", "843c6254ff69b567f772f6a5fd97675af3d04431"),
                  "aim-build": ("amd-enterprise-ai/aim-build", "2be2cf8ff7f0810fce19fbf75c0c8363a8680748")}


def test_upstream_citations_resolve(profiles, shared_dir):
    """A profile that follows a public config in ../shared/upstream-configs names the file (and InferenceX entry),
    and the repository and commit that file was copied from."""
    from aimgen.recipes.lint import upstream_problem

    cited = [p for p in profiles if "upstream" in p.source]
    assert len(cited) >= 200
    for p in cited:
        src = p.source
        assert upstream_problem(shared_dir / "upstream-configs", src["upstream"]) is None, p.id
        repo, commit = UPSTREAM_REPOS[src["upstream"].split("/", 1)[0]]
        assert (src.get("repo"), src.get("commit")) == (repo, commit), p.id
        assert src.get("path") and src.get("note"), p.id


def test_no_removed_or_rendered_flags(profiles):
    for p in profiles:
        for name in p.args:
            assert name not in RENDERED_FLAGS, f"{p.id}: --{name} is derived by aimgen"
            if p.backend == "vllm":
                assert name not in REMOVED_VLLM_FLAGS, f"{p.id}: --{name} was removed from vLLM"
        assert not (p.backend == "vllm" and set(p.env) & REMOVED_VLLM_ENV), p.id


def test_quick_reduce_only_between_gpus(profiles):
    for p in profiles:
        if set(p.env) & set(QUICK_REDUCE_ENV):
            assert p.gpus > 1, p.id


def _snapshot_names(runtime: str) -> tuple[set[str], set[str]]:
    """Flag names (without dashes) and env names of the engine version a runtime pins, from its snapshot."""
    from aimgen.runtimes.registry import get_runtime
    from aimgen.runtimes.snapshot import load_snapshot

    snap = load_snapshot(get_runtime(runtime).snapshot_path)
    return {flag[2:] for flag in snap.options if flag.startswith("--")}, set(snap.env)


def test_flags_and_env_exist_in_the_engines(profiles):
    """The default vLLM and SGLang runtimes' names are fixed lists (tests/fixtures/recipes/); a profile naming its
    `runtime:`, and an ATOM profile (no list: ATOM is read from source), is held to its runtime's snapshot."""
    names = {"vllm": (_names("vllm-serve-flags.txt"), _names("vllm-envs.txt")),
             "sglang": (_names("sglang-server-flags.txt"), _names("sglang-envs.txt"))}
    for p in profiles:
        flags, env = _snapshot_names(p.runtime or f"{p.backend}-rocm") if p.runtime or p.backend not in names \
            else names[p.backend]
        assert set(p.args) <= flags, f"{p.id}: unknown {p.backend} flags {set(p.args) - flags}"
        for name in p.env:
            if name.startswith(("VLLM_", "SGLANG_", "ATOM_")):
                assert name.startswith(p.backend.upper() + "_") and name in env, f"{p.id}: {name}"
            else:
                assert name in p.source.get("note", ""), f"{p.id}: {name} needs a reason in source.note"


def test_trust_remote_code_stays_off(profiles):
    for p in profiles:
        assert "trust-remote-code" not in p.args or p.trust_remote_code_reason, p.id


def _profile(**over) -> Profile:
    base = dict(model="Qwen/Qwen3-8B", gpu="mi300x", gpus=1, precision="bf16", backend="vllm", metric="latency", args={}, env={},
                source={"title": "t", "ref": "mad-qwen3-8b"}, file="x.yaml", index=0)
    base.update(over)
    return Profile(**base)


@pytest.mark.parametrize(
    "over, fragment",
    [
        ({"args": {"swap-space": 16}}, "not a flag of current vLLM"),
        ({"args": {"tensor-parallel-size": 2}}, "set by aimgen"),
        ({"args": {"port": 8000}}, "set by aimgen"),
        ({"env": {"VLLM_ROCM_QUICK_REDUCE_QUANTIZATION": "INT4"}}, "gpus > 1"),
        ({"env": {"VLLM_USE_TRITON_FLASH_ATTN": "0"}}, "not read by current vLLM"),
        ({"env": {"HSA_NO_SCRATCH_RECLAIM": "1"}}, "source.note"),
        ({"source": {"title": "t", "ref": "no-such-record"}}, "not a record id"),
    ],
)
def test_lint_catches(over, fragment, references):
    findings = lint_profile(_profile(**over), set(references))
    assert len(findings) == 1 and fragment in findings[0].message


def test_lint_accepts_a_good_profile(references):
    good = _profile(gpus=8, env={"VLLM_ROCM_QUICK_REDUCE_QUANTIZATION": "INT4", "RCCL_MSCCL_ENABLE": "0"},
                    source={"title": "t", "ref": "mad-qwen3-8b", "note": "RCCL_MSCCL_ENABLE=0 as the script sets"})
    assert lint_profile(good, set(references)) == []


def test_check_command_reports_a_broken_recipe(cli, tmp_path):
    bad = tmp_path / "qwen3-8b.yaml"
    bad.write_text(yaml.safe_dump({"model": "Qwen/Qwen3-8B", "profiles": [
        {"gpu": "mi300x", "gpus": 1, "precision": "bf16", "backend": "vllm", "metric": "latency",
         "args": {"num-scheduler-steps": 10}, "env": {"VLLM_ROCM_QUICK_REDUCE_QUANTIZATION": "INT4"}, "source": {"title": "test"}},
        {"gpu": "mi210", "gpus": 1, "precision": "fp8", "backend": "vllm", "metric": "latency", "args": {}, "source": {"title": "test"}},
    ]}))
    code, out, err = cli("recipes", "check", str(bad))
    assert code == 1
    assert "cannot run fp8" in out  # catalog cross-check (the file fails before lint runs)
    bad.write_text(yaml.safe_dump({"model": "Qwen/Qwen3-8B", "profiles": [
        {"gpu": "mi300x", "gpus": 1, "precision": "bf16", "backend": "vllm", "metric": "latency",
         "args": {"num-scheduler-steps": 10}, "env": {"VLLM_ROCM_QUICK_REDUCE_QUANTIZATION": "INT4"}, "source": {"title": "test"}}]}))
    code, out, err = cli("recipes", "check", str(bad), "--json")
    assert code == 1
    codes = {(f["code"], f["path"]) for f in yaml.safe_load(out)}
    assert codes == {("RECIPE-LINT", "profiles[0].args.num-scheduler-steps"), ("RECIPE-LINT", "profiles[0].env.VLLM_ROCM_QUICK_REDUCE_QUANTIZATION")}
    assert "2 error(s)" in err


@pytest.mark.parametrize("runtime, problem", [
    ("sglang-0516-rocm", None),
    ("sglang-rocm", None),  # naming the default is allowed, and changes nothing
    # the first SGLang profile of glm-5.2.yaml is on MI325X (gfx942), a target sglang-0517-rocm has no image for
    ("sglang-0517-rocm", "runtime 'sglang-0517-rocm' has no image for mi325x (gfx942); it builds for gfx950"),
    ("sglang-0599-rocm", "runtime 'sglang-0599-rocm' is not a runtime; runtimes serving 'sglang': sglang-0516-rocm, "
                         "sglang-0517-rocm, sglang-rocm"),
    ("vllm-rocm", "runtime 'vllm-rocm' serves backend 'vllm'; runtimes serving 'sglang': sglang-0516-rocm, "
                  "sglang-0517-rocm, sglang-rocm"),
    ("SGLang 0.5.16", "does not match"),  # the schema: a runtime (folder) name
])
def test_a_profile_names_a_runtime_serving_its_backend(tmp_path, runtime, problem):
    """`runtime:` picks the runtime (engine version) a profile runs on; one that does not exist or serves another
    backend is one line naming the file, line and field, and the runtimes that would do."""
    from aimgen.loading import InvalidDocument

    source = recipe_files()[0].parent / "glm-5.2.yaml"
    doc = yaml.safe_load(source.read_text())
    index = next(i for i, p in enumerate(doc["profiles"]) if p["backend"] == "sglang")
    doc["profiles"][index]["runtime"] = runtime
    path = tmp_path / source.name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    if problem is None:
        assert load_recipe(path)[index].runtime == runtime
        return
    with pytest.raises(InvalidDocument) as info:
        load_recipe(path)
    lines = [f.line() for f in info.value.findings]
    assert len(lines) == 1 and problem in lines[0] and f"profiles[{index}].runtime" in lines[0], lines
    assert f" {path}:" in lines[0], lines  # file:line


def test_check_command_reports_a_misspelled_parser_with_the_nearest_names(cli, tmp_path, monkeypatch):
    """Profile args and feature args alike are checked against the parser names the pinned engine registers."""
    from aimgen.recipes import lint

    recipe = tmp_path / "qwen3-8b.yaml"
    recipe.write_text(yaml.safe_dump({"model": "Qwen/Qwen3-8B", "profiles": [
        {"gpu": "mi300x", "gpus": 1, "precision": "bf16", "backend": "vllm", "metric": "latency",
         "args": {"tool-call-parser": "hermess", "enable-auto-tool-choice": True}, "source": {"title": "test"}}],
        "features": {"reasoning": {"args": {"reasoning-parser": "qwen_3"}, "note": "misspelled on purpose"}}}))
    monkeypatch.setattr(lint, "_recipe_path", lambda model: recipe)  # read its features as a shipped recipe's
    monkeypatch.setattr("aimgen.recipes.load.recipe_path", lambda model: recipe)
    from aimgen.recipes.features import features_for
    features_for.cache_clear()
    try:
        code, out, err = cli("recipes", "check", str(recipe), "--json")
    finally:
        features_for.cache_clear()
    assert code == 1, err
    found = {(f["code"], f["path"]): f for f in yaml.safe_load(out)}
    assert set(found) == {("ENGINE003", "profiles[0].args.tool-call-parser"), ("ENGINE003", "features.reasoning.args.reasoning-parser")}
    assert "--tool-call-parser=hermess is not accepted by vllm 0.31.0; did you mean hermes?" in \
        found["ENGINE003", "profiles[0].args.tool-call-parser"]["message"]
    assert "did you mean qwen3" in found["ENGINE003", "features.reasoning.args.reasoning-parser"]["message"]
    assert all(f["file"] == str(recipe) for f in found.values())


def test_a_profile_on_a_gpu_its_default_runtime_has_no_image_for_is_refused(tmp_path):
    """atom-rocm builds for gfx950 only: an ATOM profile on MI300X fails the recipe check, not the render."""
    from aimgen.loading import InvalidDocument

    source = recipe_files()[0].parent / "deepseek-r1-0528.yaml"
    doc = yaml.safe_load(source.read_text())
    index = next(i for i, p in enumerate(doc["profiles"]) if p["backend"] == "atom" and p["precision"] == "fp8")
    doc["profiles"][index]["gpu"] = "mi300x"
    path = tmp_path / source.name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(InvalidDocument) as info:
        load_recipe(path)
    lines = [f.line() for f in info.value.findings]
    assert any(f"profiles[{index}].backend" in line and "runtime 'atom-rocm' (backend atom's default) has no image "
               "for mi300x (gfx942); it builds for gfx950" in line for line in lines), lines
