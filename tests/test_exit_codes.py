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


def _isvc_args(out: str) -> list[str]:
    import yaml

    docs = [d for d in yaml.safe_load_all(out) if d]
    return next(d for d in docs if d["kind"] == "InferenceService")["spec"]["predictor"]["model"]["args"]


def _suggested(err: str, flag: str) -> str:
    import re

    found = re.search(rf"would work: {flag}=([0-9.]+) or (more|fewer)", err)
    assert found, err
    return found.group(1)


def test_an_override_the_memory_check_reads_is_sized_before_rendering_or_refused_with_exit_3(capsys):
    """gpu-memory-utilization / max-num-seqs over a profile are checked by the planner's arithmetic (exit 3 with the
    value that fits), never by the serving validator after the fact (exit 1); what fits renders as given."""
    base = ["render", "Qwen/Qwen3-8B", "--gpu", "mi300x"]  # validated: SERVE007 would say exit 1
    assert run(base + ["--engine-arg", "gpu-memory-utilization=0.05"]) == 3
    err = capsys.readouterr().err
    assert "qwen3-8b-mi300x-x1-bf16-vllm-latency with --engine-arg gpu-memory-utilization=0.05 does not fit" in err
    low = _suggested(err, "gpu-memory-utilization")
    assert run(base + ["--engine-arg", f"gpu-memory-utilization={low}"]) == 0
    assert f"--gpu-memory-utilization={low}" in _isvc_args(capsys.readouterr().out)  # exactly the user's value
    assert run(base + ["--engine-arg", f"gpu-memory-utilization={float(low) - 0.01:.2f}"]) == 3
    capsys.readouterr()

    assert run(base + ["--engine-arg", "max-num-seqs=100000"]) == 3
    high = _suggested(capsys.readouterr().err, "max-num-seqs")
    assert run(base + ["--engine-arg", f"max-num-seqs={high}"]) == 0
    assert f"--max-num-seqs={high}" in _isvc_args(capsys.readouterr().out)
    assert run(base + ["--engine-arg", f"max-num-seqs={int(high) + 1}"]) == 3
    capsys.readouterr()

    # explain decides the same way; a derived profile is sized again at the user's value
    assert run(["explain", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--engine-arg", "gpu-memory-utilization=0.05"]) == 3
    assert run(["render", "meta-llama/Llama-3.1-70B-Instruct", "--gpu", "mi300x", "--gpus", "2",
                "--engine-arg", "gpu-memory-utilization=0.3"]) == 3
    assert "-derived with --engine-arg gpu-memory-utilization=0.3 does not fit" in capsys.readouterr().err
    # values the arithmetic cannot read are the user's option: usage
    for bad in ("gpu-memory-utilization=1.5", "gpu-memory-utilization=most", "max-num-seqs=0", "max-num-seqs=2.5"):
        assert run(base + ["--engine-arg", bad]) == 2
        assert f"--engine-arg {bad}: expected" in capsys.readouterr().err


def test_a_planned_profile_is_sized_at_the_users_utilization(capsys):
    """No recipe profile (SGLang for Qwen3-8B): the planner searches shapes at the user's mem-fraction-static."""
    base = ["render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--backend", "sglang",
            "--engine-arg", "mem-fraction-static=0.05"]
    assert run(base) == 0
    args = _isvc_args(capsys.readouterr().out)
    assert "--mem-fraction-static=0.05" in args and "--tp-size=4" in args  # 15 GiB of weights: not on one GPU
    assert run(base + ["--gpus", "1"]) == 3
    err = capsys.readouterr().err
    assert "with --engine-arg mem-fraction-static=0.05:" in err and "--gpus 4" in err


def test_overrides_the_prefill_decode_roles_would_drop_are_refused(capsys):
    """--disaggregate runs the cited P/D configuration's argv in both roles: an --engine-arg or --env given with it
    would vanish from the pods, so it exits 3 saying what would work instead of rendering without it."""
    base = ["render", "meta-llama/Llama-3.3-70B-Instruct", "--gpu", "mi300x", "--precision", "fp8",
            "--api", "llmisvc", "--disaggregate"]
    assert run(base) == 0
    capsys.readouterr()
    for extra, said in ((["--engine-arg", "max-num-seqs=64"], "--engine-arg"), (["--env", "VLLM_LOGGING_LEVEL=DEBUG"], "--env")):
        assert run(base + extra) == 3
        err = capsys.readouterr().err
        assert f"{said} would not reach the prefill/decode roles" in err and "would work: no --disaggregate" in err
