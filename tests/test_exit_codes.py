"""Exit codes are a contract (README): an internal error and an unwritable -o are the environment's 4, never 1."""

from __future__ import annotations

from aimgen.cli.main import run


def test_an_internal_error_is_one_line_and_exit_4(monkeypatch, capsys):
    import aimgen.compose

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(aimgen.compose, "compose", broken)
    assert run(["render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--no-validate"]) == 4
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: boom" in err and "Traceback" not in err


def test_an_unwritable_output_is_exit_4_and_leaves_nothing(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert run(["render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--no-validate", "-o", str(blocker / "out.yaml")]) == 4
    assert "cannot write output" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_engine_args_and_env_override_the_profile_checked_against_the_snapshot(capsys):
    import yaml

    argv = ["render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--no-validate", "--engine-arg", "max-num-seqs=64",
            "--engine-arg", "enforce-eager=true", "--env", "VLLM_ROCM_USE_AITER=0"]
    assert run(argv) == 0
    docs = [d for d in yaml.safe_load_all(capsys.readouterr().out) if d]
    model = next(d for d in docs if d["kind"] == "InferenceService")["spec"]["predictor"]["model"]
    assert "--max-num-seqs=64" in model["args"] and "--enforce-eager" in model["args"]
    assert {"name": "VLLM_ROCM_USE_AITER", "value": "0"} in model["env"]
    assert run(argv[:5] + ["--engine-arg", "max-seq-len-to-capture=8192"]) == 2  # the user's option: usage
    assert "--max-cudagraph-capture-size" in capsys.readouterr().err
    assert run(argv[:5] + ["--engine-arg", "tensor-parallel-size=2"]) == 2
    assert run(argv[:5] + ["--env", "NOVALUE"]) == 2
    assert run(argv[:5] + ["--engine-arg", "max-model-len=8192"]) == 2
    assert "--max-model-len N" in capsys.readouterr().err
    assert run(argv[:5] + ["--engine-arg", "nnodes=2"]) == 2  # the group's shape is computed, never overridden
    assert run(argv[:5] + ["--env", "HF_TOKEN=hf_abcdefghijklmnopqrstuvwxyz0123"]) == 2
