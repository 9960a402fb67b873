"""Seed import: golden cases under tests/cases/seed/, the CLI contract, and no traceback for any input.

A case folder holds input.yaml and either expected.yaml (exact stdout of `aimgen recipes import`, plus
optional expected-warnings.txt, one expected message fragment per line) or expected-error.txt (the one
error line's message). Optional args.txt adds CLI arguments, one per line.
Set AIMGEN_UPDATE_GOLDEN=1 to rewrite expected.yaml / expected-warnings.txt from the current output.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aimgen.catalog.gpus import load_gpus
from aimgen.catalog.models import load_models
from aimgen.errors import AimgenError
from aimgen.recipes.seed_import import convert_seed
from aimgen.schema_check import check

CASES = Path(__file__).parent / "cases" / "seed"
CASE_NAMES = sorted(p.name for p in CASES.iterdir() if (p / "input.yaml").exists())
UPDATE = os.environ.get("AIMGEN_UPDATE_GOLDEN") == "1"


def _run_case(cli, case: Path, monkeypatch):
    monkeypatch.chdir(case)  # messages name the file as given: input.yaml
    extra = (case / "args.txt").read_text().split() if (case / "args.txt").exists() else []
    return cli("recipes", "import", "input.yaml", *extra)


def test_there_are_enough_cases():
    assert len([c for c in CASE_NAMES if (CASES / c / "expected.yaml").exists()]) >= 6
    assert len([c for c in CASE_NAMES if (CASES / c / "expected-error.txt").exists()]) >= 6


@pytest.mark.parametrize("name", CASE_NAMES)
def test_seed_case(name, cli, monkeypatch):
    case = CASES / name
    code, out, err = _run_case(cli, case, monkeypatch)
    error_file = case / "expected-error.txt"
    if error_file.exists():
        assert code == 1, err
        assert out == ""
        expected = error_file.read_text().strip()
        error_lines = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(error_lines) == 1, err  # one clear line
        assert expected in error_lines[0]
        assert "Traceback" not in err
        return
    assert code == 0, err
    if UPDATE:
        (case / "expected.yaml").write_text(out)
        warnings = [re.sub(r"^warning: input\.yaml: (.*?) code=SEED$", r"\1", line) for line in err.splitlines() if line.startswith("warning:")]
        if warnings:
            (case / "expected-warnings.txt").write_text("\n".join(warnings) + "\n")
    assert out == (case / "expected.yaml").read_text()
    warnings_file = case / "expected-warnings.txt"
    expected_warnings = warnings_file.read_text().splitlines() if warnings_file.exists() else []
    got_warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(got_warnings) == len(expected_warnings), err
    for fragment in expected_warnings:
        assert fragment in err
    # strict output: schema-valid and accepted by the same loader the recipes go through
    recipe = yaml.safe_load(out)
    assert check(recipe, "recipe", name) == []


def test_import_writes_atomically_to_a_file(cli, tmp_path, monkeypatch):
    target = tmp_path / "sub" / "llama.yaml"
    monkeypatch.chdir(CASES / "list-args")
    code, out, err = cli("recipes", "import", "input.yaml", "-o", str(target))
    assert code == 0, err
    assert out == ""
    assert target.read_text() == (CASES / "list-args" / "expected.yaml").read_text()
    assert [p.name for p in target.parent.iterdir()] == ["llama.yaml"]  # no temp file left behind


def test_failed_import_leaves_no_file(cli, tmp_path, monkeypatch):
    target = tmp_path / "out.yaml"
    monkeypatch.chdir(CASES / "err-unknown-hardware")
    code, _, _ = cli("recipes", "import", "input.yaml", "-o", str(target))
    assert code == 1
    assert list(tmp_path.iterdir()) == []


def test_imported_recipe_loads_as_a_recipe(cli, tmp_path, monkeypatch):
    """The importer's output goes through the real recipe loader (schema + catalog cross-check) and the lint."""
    from aimgen.recipes.lint import lint_profiles
    from aimgen.recipes.load import load_recipe

    for name in ("list-args", "env-and-dict-args", "prequantized-checkpoint", "sglang-section", "gpu-option"):
        target = tmp_path / f"{name}.yaml"
        monkeypatch.chdir(CASES / name)
        extra = (CASES / name / "args.txt").read_text().split() if (CASES / name / "args.txt").exists() else []
        assert cli("recipes", "import", "input.yaml", *extra, "-o", str(target))[0] == 0
        profiles = load_recipe(target)
        assert profiles and lint_profiles(profiles) == []


def test_gpu_option_overrides_hardware(cli, monkeypatch):
    monkeypatch.chdir(CASES / "list-args")
    code, out, _ = cli("recipes", "import", "input.yaml", "--gpu", "mi325x")
    assert code == 0
    assert {p["gpu"] for p in yaml.safe_load(out)["profiles"]} == {"mi325x"}


def test_missing_file_is_one_line(cli, tmp_path):
    code, out, err = cli("recipes", "import", str(tmp_path / "nope.yaml"))
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and "not found" in err


def test_several_errors_are_all_reported(cli, tmp_path):
    seed = tmp_path / "bad.yaml"
    seed.write_text(
        "huggingface_id: not-an-id\nprecision: fp7\nhardware: MI300X\n"
        "vllm_serve:\n  3_gpu: {args: []}\n  8_gpu: {args: ['--tensor-parallel-size 4']}\n"
    )
    code, _, err = cli("recipes", "import", str(seed))
    assert code == 1
    for fragment in ("huggingface_id", "unknown precision 'fp7'", "'3_gpu'", "--tensor-parallel-size 4", "not imported: 4 error(s)"):
        assert fragment in err


# ------------------------------------------------------------------ property: never a traceback

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 40000), st.floats(allow_nan=False, allow_infinity=False),
                     st.text(max_size=12))
_flag_strings = st.one_of(
    st.sampled_from(["--max-model-len 8192", "--enforce-eager", "--tensor-parallel-size 8", "--tp=2", "-cc.a.b=True", "-O3",
                     "--gpu-memory-utilization=0.9", "--port 8000", "--swap-space 4", "--trust-remote-code", "vllm serve x/y",
                     "--a --b", "--x 1 2", "--q=", "'unterminated", "--", "-", "--Weird_Name=false", "--cfg.=1", "--j {\"a\": 1}"]),
    st.text(max_size=20),
)
_args = st.one_of(
    st.lists(st.one_of(_flag_strings, _scalars, st.lists(_scalars, max_size=2)), max_size=5),
    st.dictionaries(st.text(max_size=12), st.one_of(_scalars, st.lists(_scalars, max_size=2), st.dictionaries(st.text(max_size=4), _scalars, max_size=2)), max_size=4),
    _flag_strings,
    _scalars,
)
_env = st.one_of(
    st.dictionaries(st.one_of(st.sampled_from(["VLLM_ROCM_USE_AITER", "VLLM_ROCM_QUICK_REDUCE_QUANTIZATION", "HSA_X", "lower"]), st.text(max_size=8)),
                    st.one_of(_scalars, st.lists(_scalars, max_size=1)), max_size=3),
    st.lists(st.one_of(st.text(max_size=10), st.just("A=1"), st.dictionaries(st.just("name"), st.text(max_size=5), max_size=1)), max_size=3),
    _scalars,
)
_entry = st.one_of(
    st.fixed_dictionaries({}, optional={"enabled": st.one_of(st.booleans(), st.text(max_size=5), _scalars), "args": _args,
                                        "env": _env, "metric": st.one_of(st.sampled_from(["latency", "throughput", "speed"]), _scalars)}),
    _args,
)
_keys = st.one_of(st.sampled_from(["1_gpu", "2_gpu", "4_gpu", "8_gpu", "16_gpu", "3_gpu", "gpu", "x8"]), st.integers(0, 64), st.text(max_size=6))
_seed = st.fixed_dictionaries(
    {},
    optional={
        "recipe_id": st.one_of(st.text(max_size=10), _scalars, st.lists(_scalars, max_size=1)),
        "huggingface_id": st.one_of(st.sampled_from(["Qwen/Qwen3-8B", "amd/Llama-3.1-70B-Instruct-FP8-KV", "org/new-model", "x"]), _scalars),
        "precision": st.one_of(st.sampled_from(["bf16", "FP8", "mxfp4", "int4", "bogus"]), _scalars),
        "hardware": st.one_of(st.sampled_from(["MI300X", "mi210", "AMD Instinct MI355X", "MI999"]),
                              st.lists(st.sampled_from(["MI300X", "MI325X", "nope"]), max_size=3), _scalars,
                              st.dictionaries(st.text(max_size=3), _scalars, max_size=1)),
        "env": _env,
        "vllm_serve": st.one_of(st.dictionaries(_keys, st.one_of(_entry, _scalars), max_size=4), _scalars, st.lists(_scalars, max_size=2)),
        "sglang_serve": st.dictionaries(_keys, _entry, max_size=2),
    },
)


# Mostly well-formed seeds, so the property also covers the path that emits a recipe (not just early errors).
_plausible_entry = st.fixed_dictionaries(
    {"args": st.lists(_flag_strings, max_size=4)},
    optional={"enabled": st.booleans(), "env": _env, "metric": st.sampled_from(["latency", "throughput"])},
)
_plausible_seed = st.fixed_dictionaries(
    {
        "recipe_id": st.text(min_size=1, max_size=10),
        "huggingface_id": st.sampled_from(["Qwen/Qwen3-8B", "meta-llama/Llama-3.1-8B-Instruct", "amd/Llama-3.1-70B-Instruct-FP8-KV",
                                           "openai/gpt-oss-20b", "org/new-model"]),
        "precision": st.sampled_from(["bf16", "BF16", "fp8", "mxfp4", "float16"]),
        "hardware": st.sampled_from(["MI300X", "MI325X", "AMD Instinct MI355X", "mi210", ["MI300X", "MI355X"]]),
        "vllm_serve": st.dictionaries(st.sampled_from(["1_gpu", "2_gpu", "4_gpu", "8_gpu"]), _plausible_entry, min_size=1, max_size=3),
    },
    optional={"env": _env},
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(_plausible_seed, _seed, _scalars, st.lists(_scalars, max_size=2)),
       gpu=st.one_of(st.none(), st.sampled_from(["mi300x", "MI355X", "bogus"])))
def test_random_seeds_give_valid_recipes_or_aimgen_errors(data, gpu):
    try:
        result = convert_seed(data, gpus=load_gpus(), models=load_models(), source="fuzz.yaml", gpu=gpu)
    except AimgenError as exc:
        assert exc.line()  # a message, never an empty line
        return
    assert check(result.recipe, "recipe", "fuzz") == []
    assert result.recipe["profiles"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.text(max_size=60), st.sampled_from(["a: [", "- 1\n- 2", "{", "vllm_serve: 3", "huggingface_id: !!python/name:os.system"])))
def test_random_text_through_the_cli_never_crashes(text, cli, tmp_path_factory):
    seed = tmp_path_factory.mktemp("fuzz") / "seed.yaml"
    seed.write_text(text, encoding="utf-8")
    code, out, err = cli("recipes", "import", str(seed))
    assert code in (0, 1), err
    assert "internal error" not in err and "Traceback" not in err
