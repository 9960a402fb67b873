"""`aimgen launch --dry-run` on every recorded GPU case prints the exact engine command; errors map to exits."""

from __future__ import annotations

import json
import os

import pytest

from aimgen.cli.main import run
from launch_support import CASES, RECIPES, load_case, replay_env


def _use_env(monkeypatch, env):
    """Make `env` the whole process environment for this test (the CLI reads os.environ)."""
    for key in list(os.environ):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def _dry_run(monkeypatch, env, *extra):
    _use_env(monkeypatch, env)
    return run(["launch", "--recipes", str(RECIPES), "--dry-run", "--format", "json", *extra])


@pytest.mark.parametrize("case", CASES)
def test_dry_run_prints_the_expected_command(case, tmp_path, monkeypatch, capsys):
    expected = load_case(case)
    rc = _dry_run(monkeypatch, replay_env(case, tmp_path / "bin"))
    out, err = capsys.readouterr()
    if "error" in expected:
        assert rc == expected["error"]["exit"]
        assert expected["error"]["contains"] in err
        assert out == ""
        return
    assert rc == 0, err
    plan = json.loads(out)
    assert plan["argv"] == expected["argv"]
    assert plan["env"] == expected["launch_env"]
    assert plan["image"] == expected["image"]
    assert plan["gpu"]["name"] == expected["detect"]["gpu"]


def test_shell_format_is_quoted(tmp_path, monkeypatch, capsys):
    _use_env(monkeypatch, replay_env("mi325x-x8", tmp_path / "bin"))
    assert run(["launch", "--recipes", str(RECIPES), "--dry-run"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("env HSA_NO_SCRATCH_RECLAIM=1 VLLM_ROCM_USE_AITER=1 vllm serve Qwen/Qwen3-8B ")
    assert """'--compilation-config={"pass_config":{"fuse_rope_kvcache":true}}'""" in line


def test_engine_args_merge_over_the_profile(tmp_path, monkeypatch, capsys):
    env = replay_env("mi300x-x8", tmp_path / "bin")
    env["AIM_ENGINE_ARGS"] = '{"max-model-len": 8192, "max-num-seqs": null, "enforce-eager": true}'
    env["AIM_CACHE_PATH"] = "/models"
    assert _dry_run(monkeypatch, env) == 0
    plan = json.loads(capsys.readouterr().out)
    assert "--max-model-len=8192" in plan["argv"] and "--enforce-eager" in plan["argv"]
    assert not any(a.startswith("--max-num-seqs") for a in plan["argv"])
    assert plan["env"]["HF_HOME"] == "/models"


def test_container_env_wins_over_the_profile(tmp_path, monkeypatch, capsys):
    env = replay_env("mi300x-x8", tmp_path / "bin")
    env["VLLM_ROCM_USE_AITER"] = "0"
    assert _dry_run(monkeypatch, env) == 0
    assert "VLLM_ROCM_USE_AITER" not in json.loads(capsys.readouterr().out)["env"]


def test_removed_flag_in_engine_args_fails_with_a_hint(tmp_path, monkeypatch, capsys):
    env = replay_env("mi300x-x8", tmp_path / "bin")
    env["AIM_ENGINE_ARGS"] = '{"max-seq-len-to-capture": 8192}'
    assert _dry_run(monkeypatch, env) == 1
    err = capsys.readouterr().err
    assert "--max-seq-len-to-capture was removed" in err and "--max-cudagraph-capture-size" in err


def test_pinned_profile_and_bad_inputs(tmp_path, monkeypatch, capsys):
    env = replay_env("mi300x-x8", tmp_path / "bin")
    env["AIM_PROFILE_ID"] = "qwen3-8b-mi300x-x2-bf16-vllm-latency"
    assert _dry_run(monkeypatch, env) == 0
    assert "--tensor-parallel-size=2" in json.loads(capsys.readouterr().out)["argv"]
    env["AIM_PROFILE_ID"] = "nope"
    assert _dry_run(monkeypatch, env) == 3
    del env["AIM_PROFILE_ID"]
    env["AIM_ENGINE_ARGS"] = "{not json"
    assert _dry_run(monkeypatch, env) == 1
    env["AIM_ENGINE_ARGS"] = ""
    env["AIM_GPU_COUNT"] = "16"
    assert _dry_run(monkeypatch, env) == 1
    del env["AIM_MODEL_ID"], env["AIM_GPU_COUNT"]
    assert _dry_run(monkeypatch, env) == 2


def test_a_pinned_metric_is_kept_when_the_recipe_lacks_it(tmp_path, monkeypatch, capsys):
    """The launcher chooses as `aimgen render` does (docs/selection.md): AIM_METRIC=throughput with only a latency
    profile on MI355X is planned for throughput from the architecture, and says so; never the latency one."""
    env = replay_env("mi355x-x8", tmp_path / "bin")
    env["AIM_METRIC"] = "throughput"
    assert _dry_run(monkeypatch, env) == 0
    out, err = capsys.readouterr()
    assert "planned from the architecture" in err and "bf16-throughput" in err
    assert "--max-running-requests=" not in out  # the planner's vLLM plan, not the cited SGLang latency profile


def test_an_open_metric_takes_latency_and_its_widest_profile(tmp_path, monkeypatch, capsys):
    env = replay_env("mi300x-x8", tmp_path / "bin")
    del env["AIM_METRIC"]
    assert _dry_run(monkeypatch, env) == 0
    assert "--tensor-parallel-size=2" in json.loads(capsys.readouterr().out)["argv"]


def test_model_too_large_for_the_visible_gpus_is_exit_3(tmp_path, monkeypatch, capsys):
    env = replay_env("mi300x-cpx", tmp_path / "bin")
    env["AIM_MODEL_ID"] = "deepseek-ai/DeepSeek-R1"
    env["AIM_GPU_COUNT"] = "1"
    assert _dry_run(monkeypatch, env) == 3


def test_exec_replaces_the_process(tmp_path, monkeypatch):
    """Without --dry-run the launcher execs argv[0] with the merged environment (os.execvpe, no child)."""
    from aimgen.launch import plan as plan_mod

    calls = []
    monkeypatch.setattr(plan_mod.os, "execvpe", lambda file, argv, env: calls.append((file, argv, env)))
    env = replay_env("mi250x-gcd", tmp_path / "bin")
    _use_env(monkeypatch, env)
    assert run(["launch", "--recipes", str(RECIPES)]) == 0
    (file, argv, merged), = calls
    assert file == "vllm" and argv[:3] == ["vllm", "serve", "Qwen/Qwen3-8B"]
    assert merged["PATH"] == env["PATH"]


def test_container_engine_env_is_checked_but_only_warned(tmp_path, monkeypatch, capsys):
    env = replay_env("mi300x-x8", tmp_path / "bin")
    env["VLLM_USE_TRITON_FLASH_ATTN"] = "0"
    assert _dry_run(monkeypatch, env) == 0
    plan = json.loads(capsys.readouterr().out)
    (finding,) = [f for f in plan["findings"] if f["path"] == "env.VLLM_USE_TRITON_FLASH_ATTN"]
    assert finding["level"] == "warning" and "--attention-backend" in finding["message"]
