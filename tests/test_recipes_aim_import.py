"""`aimgen recipes import --from aim`: AMD AIM profiles become recipes that pass `recipes check`, with AIM's
primary (auto-selectable) profile per GPU and metric kept as the recipe's default mark."""

from __future__ import annotations

import yaml


def test_the_aim_build_snapshot_imports_into_checked_recipes(cli, shared_dir, tmp_path):
    profiles = shared_dir / "upstream-configs" / "aim-build" / "profiles"
    code, out, imported = cli("recipes", "import", "--from", "aim", str(profiles), "-o", str(tmp_path))
    assert code == 0, imported
    files = sorted(tmp_path.glob("*.yaml"))
    assert len(files) == 13  # every model folder (general/ and custom/ hold no model profiles)
    code, out, err = cli("recipes", "check", *map(str, files))
    assert code == 0, out + err
    recipes = {yaml.safe_load(f.read_text())["model"]: yaml.safe_load(f.read_text()) for f in files}
    llama = recipes["meta-llama/Llama-3.1-8B-Instruct"]
    # AIM's optimized one-GPU fp16 launch is its auto-selected latency profile on MI300X
    assert llama["defaults"]["mi300x"]["latency"] == "x1-fp16-vllm"
    first = llama["profiles"][0]
    assert first["source"]["upstream"].startswith("aim-build/profiles/meta-llama/Llama-3.1-8B-Instruct/")
    assert "swap-space" not in first["args"] and "max-seq-len-to-capture" not in first["args"]
    assert "no-enable-prefix-caching" not in first["args"]
    assert "VLLM_USE_AITER_TRITON_ROPE" not in first.get("env", {})
    # pre-quantized weights map back to the catalog model with checkpoint:
    qwen = recipes["Qwen/Qwen3-32B"]
    assert any(p.get("checkpoint") == "Qwen/Qwen3-32B-FP8" and p["precision"] == "fp8" for p in qwen["profiles"])
    # gpt-oss on MI250X (no MXFP4 there under aimgen's rule) is skipped, and said so
    assert not any(p["gpu"] == "mi250x" for p in recipes["openai/gpt-oss-20b"]["profiles"])
    assert "skipped: MI250X (gfx90a) cannot run mxfp4" in imported


def test_one_profile_to_stdout(cli, shared_dir):
    one = shared_dir / "upstream-configs" / "aim-build" / "profiles" / "openai" / "gpt-oss-20b" / "vllm-mi300x-mxfp4-tp1-latency.yaml"
    code, out, err = cli("recipes", "import", "--from", "aim", str(one))
    assert code == 0, err
    recipe = yaml.safe_load(out)
    assert recipe["model"] == "openai/gpt-oss-20b" and len(recipe["profiles"]) == 1


def test_bad_aim_input_is_one_clear_line(cli, tmp_path):
    bad = tmp_path / "vllm-mi999x-fp16-tp1-latency.yaml"
    bad.write_text(yaml.safe_dump({"aim_id": "openai/gpt-oss-20b", "model_id": "openai/gpt-oss-20b",
                                   "metadata": {"engine": "vllm", "gpu": "MI999X", "gpu_count": 1, "precision": "fp4",
                                                "metric": "latency", "type": "optimized"}, "engine_args": {}}))
    code, out, err = cli("recipes", "import", "--from", "aim", str(bad))
    assert code == 1 and "unknown GPU 'MI999X'" in err and out == ""
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = cli("recipes", "import", "--from", "aim", str(empty))
    assert code == 1 and "no AIM profile files" in err
    code, out, err = cli("recipes", "import", "--from", "nope", str(bad))
    assert code == 2
