"""How args are spelled on the engine command line, per the engine version's own parser."""

from __future__ import annotations

import pytest

from aimgen.runtimes.argv import build_argv, flag_words
from aimgen.runtimes.registry import get_runtime
from aimgen.runtimes.snapshot import load_snapshot


@pytest.fixture
def vllm():
    return get_runtime("vllm-rocm")


@pytest.mark.parametrize("version,expected", [("0.31.0", ["--no-enable-prefix-caching"]),
                                              ("0.33.0", ["--disable-prefix-caching"])])
def test_switch_off_uses_the_versions_own_negation(vllm, version, expected):
    snap = load_snapshot(vllm.snapshots()[version])
    assert flag_words(vllm, "enable-prefix-caching", False, snap) == expected


def test_store_true_switch_off_is_left_out(vllm):
    snap = load_snapshot(vllm.snapshot_path)
    assert flag_words(vllm, "headless", False, snap) == []
    assert flag_words(get_runtime("sglang-rocm"), "disable-radix-cache", False,
                      load_snapshot(get_runtime("sglang-rocm").snapshot_path)) == []


def test_values_lists_and_json(vllm):
    snap = load_snapshot(vllm.snapshot_path)
    assert flag_words(vllm, "gpu-memory-utilization", 0.9, snap) == ["--gpu-memory-utilization=0.9"]
    assert flag_words(vllm, "max-model-len", 8192.0, snap) == ["--max-model-len=8192"]
    assert flag_words(vllm, "cudagraph-capture-sizes", [1, 2, 4], snap) == ["--cudagraph-capture-sizes", "1", "2", "4"]
    assert flag_words(vllm, "compilation-config", {"b": 1, "a": True}, snap) == ['--compilation-config={"a":true,"b":1}']
    assert flag_words(vllm, "compilation-config.pass_config.fuse_rope_kvcache", True, snap) == \
        ["--compilation-config.pass_config.fuse_rope_kvcache=true"]
    assert flag_words(vllm, "max-num-seqs", None, snap) == []


def test_launcher_owns_model_host_and_port():
    sglang = get_runtime("sglang-rocm")
    argv = build_argv(sglang, "Qwen/Qwen3-8B", {"port": 1, "model-path": "x", "tp-size": 2}, port=8080, host="0.0.0.0")
    assert argv == ["python3", "-m", "sglang.launch_server", "--model-path=Qwen/Qwen3-8B", "--enable-metrics",
                    "--tp-size=2", "--host=0.0.0.0", "--port=8080"]
