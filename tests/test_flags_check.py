"""Recipe args/env checked against the engine snapshot of the pinned version: removed flags and env with hints,
bad choices, wrong types; and every shipped recipe profile passes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from aimgen.findings import ERROR, WARNING
from aimgen.runtimes.flags import check_engine_config
from aimgen.runtimes.registry import get_runtime, runtime_for_backend

REPO = Path(__file__).resolve().parents[1]


def _check(args=None, env=None, runtime="vllm-rocm"):
    return check_engine_config(get_runtime(runtime), args or {}, env or {}, file="r.yaml", path="profiles[0]")


def _codes(findings, level=ERROR):
    return [f.code for f in findings if f.level == level]


def test_removed_flag_max_seq_len_to_capture_has_a_hint():
    (finding,) = _check({"max-seq-len-to-capture": 8192})
    assert finding.code == "ENGINE002" and finding.level == ERROR
    assert finding.path == "profiles[0].args.max-seq-len-to-capture"
    assert "--max-cudagraph-capture-size" in finding.message


def test_removed_env_triton_flash_attn_has_a_hint():
    (finding,) = _check(env={"VLLM_USE_TRITON_FLASH_ATTN": "0"})
    assert finding.code == "ENGINE005"
    assert "--attention-backend" in finding.message and finding.path == "profiles[0].env.VLLM_USE_TRITON_FLASH_ATTN"


def test_disable_log_requests_points_to_its_inverse():
    (finding,) = _check({"disable-log-requests": True})
    assert finding.code == "ENGINE002" and "--enable-log-requests" in finding.message


@pytest.mark.parametrize("args,code,text", [
    ({"kv-cache-dtype": "fp9"}, "ENGINE003", "valid: auto"),
    ({"tensor-parallel-size": "eight"}, "ENGINE004", "integer"),
    ({"gpu-memory-utilization": "most"}, "ENGINE004", "number"),
    ({"enforce-eager": "yes"}, "ENGINE004", "switch"),
    ({"max-model-len": True}, "ENGINE004", "bare switch"),
    ({"max-model-len": "32q"}, "ENGINE004", "32k"),
    ({"compilation-config": "{oops"}, "ENGINE004", "JSON"),
    ({"max-num-seq": 8}, "ENGINE001", "--max-num-seqs"),
    ({"max_num_seqs": 8}, "ENGINE001", "spelled --max-num-seqs"),
])
def test_bad_values_are_errors_that_say_what_is_valid(args, code, text):
    findings = _check(args)
    assert _codes(findings) == [code]
    assert text in findings[0].message


@pytest.mark.parametrize("args", [
    {"max-model-len": "32k"}, {"max-model-len": 32768}, {"max-model-len": "auto"},
    {"compilation-config": {"pass_config": {"fuse_rope_kvcache": True}}},
    {"compilation-config.pass_config.fuse_rope_kvcache": True},
    {"enable-prefix-caching": False}, {"moe-backend": "AITER"}, {"kv-cache-dtype": "fp8"},
    {"attention-backend": "ROCM_AITER_UNIFIED_ATTN"}, {"cudagraph-capture-sizes": [1, 2, 4]},
])
def test_valid_values_pass(args):
    assert _codes(_check(args)) == []


def test_env_outside_the_engine_prefix_is_not_the_engines_business():
    assert _check(env={"HSA_NO_SCRATCH_RECLAIM": "1", "NCCL_MIN_NCHANNELS": "112"}) == []


def test_env_choices_from_vllm_envs():
    findings = _check(env={"VLLM_FLOAT32_MATMUL_PRECISION": "extreme"})
    assert _codes(findings) == ["ENGINE006"] and "highest" in findings[0].message
    assert _check(env={"VLLM_FLOAT32_MATMUL_PRECISION": "HIGH"}) == []  # declared case-insensitive


def test_sglang_flags_and_env():
    assert _check({"mem-fraction-static": 0.8, "attention-backend": "aiter", "disable-radix-cache": True},
                  {"SGLANG_USE_AITER": "1", "SGLANG_AITER_MLA_PERSIST": "1"}, runtime="sglang-rocm") == []
    findings = _check({"max-num-seqs": 8}, {"SGLANG_NO_SUCH_THING": "1"}, runtime="sglang-rocm")
    assert _codes(findings) == ["ENGINE001", "ENGINE005"]


def test_launcher_owned_flags_warn():
    assert _codes(_check({"port": 8000}), WARNING) == ["ENGINE009"]


def _shipped_profiles():
    for path in sorted((REPO / "recipes" / "models").glob("*.yaml")):
        doc = yaml.safe_load(path.read_text()) or {}
        for index, profile in enumerate(doc.get("profiles") or []):
            yield pytest.param(path, index, profile, id=f"{path.stem}[{index}]")


def test_every_shipped_recipe_profile_passes():
    failures = []
    count = 0
    for param in _shipped_profiles():
        path, index, profile = param.values
        count += 1
        runtime = runtime_for_backend(profile.get("backend", "vllm"), profile.get("runtime"))
        findings = check_engine_config(runtime, profile.get("args") or {}, profile.get("env") or {},
                                       file=path.name, path=f"profiles[{index}]")
        failures += [f.line() for f in findings if f.level == ERROR]
    assert not failures, "\n".join(failures)
    assert count == 0 or count > 10


# Parser names. vLLM's --tool-call-parser/--reasoning-parser take any string on the command line and are looked up
# in ToolParserManager/ReasoningParserManager at start-up: the snapshot records the registered names (`registries`).
# SGLang lists its parsers as argparse choices. Either way the names are the option's choices here.

def _snapshot_docs(engine):
    for path in sorted((REPO / "runtimes").glob(f"*/snapshots/{engine}-*.json")):
        yield path, json.loads(path.read_text())


def test_committed_vllm_snapshots_record_the_registered_parser_names():
    docs = list(_snapshot_docs("vllm"))
    assert docs
    for path, doc in docs:
        registries = doc["registries"]
        assert set(registries) == {"--tool-call-parser", "--reasoning-parser"}, path
        assert registries["--tool-call-parser"]["plugin_flag"] == "--tool-parser-plugin"
        assert registries["--reasoning-parser"]["plugin_flag"] == "--reasoning-parser-plugin"
        assert {"hermes", "mistral", "qwen3_coder"} <= set(registries["--tool-call-parser"]["names"]), path
        assert {"deepseek_r1", "qwen3"} <= set(registries["--reasoning-parser"]["names"]), path
        for registry in registries.values():
            assert registry["names"] == sorted(set(registry["names"])) and registry["modules"]


def test_committed_sglang_snapshots_list_parsers_as_choices():
    docs = list(_snapshot_docs("sglang"))
    assert docs
    for path, doc in docs:
        assert doc["registries"] == {}, path
        options = {o["flags"][0]: o for o in doc["options"]}
        assert "qwen25" in options["--tool-call-parser"]["choices"], path
        assert "deepseek-r1" in options["--reasoning-parser"]["choices"], path


@pytest.mark.parametrize("runtime,args,nearest", [
    ("vllm-rocm", {"tool-call-parser": "mistrall"}, "did you mean mistral"),
    ("vllm-rocm", {"reasoning-parser": "deepseek-r1"}, "did you mean deepseek_r1"),
    ("vllm-rocm", {"tool-call-parser": "qwen3-coder"}, "qwen3_coder"),
    ("sglang-rocm", {"reasoning-parser": "deepseek_r1"}, "did you mean deepseek-r1"),
    ("sglang-rocm", {"tool-call-parser": "qwen3-coder"}, "qwen3_coder"),
])
def test_a_misspelled_parser_name_is_an_error_with_the_nearest_names(runtime, args, nearest):
    (finding,) = _check(args, runtime=runtime)
    assert finding.code == "ENGINE003" and finding.level == ERROR
    (flag, value), = args.items()
    assert finding.path == f"profiles[0].args.{flag}"
    assert f"--{flag}={value} is not accepted" in finding.message and nearest in finding.message
    assert "valid names, listed in " in finding.message  # too many to list; the snapshot holds them


def test_a_parser_a_plugin_registers_is_only_a_warning():
    findings = _check({"tool-call-parser": "my_parser", "tool-parser-plugin": "/plugins/my_parser.py"})
    assert _codes(findings) == [] and _codes(findings, WARNING) == ["ENGINE003"]
    assert "--tool-parser-plugin" in findings[0].message


@pytest.mark.parametrize("args", [
    {"tool-call-parser": "hermes", "enable-auto-tool-choice": True}, {"reasoning-parser": "deepseek_r1"},
    {"tool-call-parser": "qwen3_coder", "reasoning-parser": "qwen3"},
])
def test_registered_parser_names_pass(args):
    assert _check(args) == []


def test_a_rendered_command_naming_no_registered_parser_is_a_parse_problem():
    """`aimgen validate` reads engine commands back (SERVE011) with the same choices; a plugin flag anywhere on the
    line lets a name pass that only the plugin registers."""
    from aimgen.runtimes.cmdline import parse_command
    from aimgen.runtimes.flags import snapshot_for

    runtime = get_runtime("vllm-rocm")
    snap = snapshot_for(runtime)
    (problem,) = parse_command(runtime, snap, ["m", "--enable-auto-tool-choice", "--tool-call-parser=hermess"]).problems
    assert problem.startswith("--tool-call-parser=hermess is not accepted; did you mean hermes?")
    assert parse_command(runtime, snap, ["m", "--reasoning-parser", "nano_v3",
                                         "--reasoning-parser-plugin", "nano_v3_reasoning_parser.py"]).problems == ()
    assert parse_command(runtime, snap, ["m", "--tool-call-parser", "hermes"]).problems == ()
