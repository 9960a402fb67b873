"""GPU detection on recorded amd-smi / rocm-smi / KFD sysfs outputs, visibility variables, catalog matching."""

from __future__ import annotations

import pytest

from aimgen.catalog.gpus import load_gpus
from aimgen.errors import EnvironmentProblem
from aimgen.launch.detect import (DetectedGPU, apply_visibility, detect, gfx_from_target_version, parse_amd_smi,
                                  parse_rocm_smi, read_kfd_topology)
from aimgen.launch.match import match_gpu
from launch_support import CASES, GPU_FIXTURES, load_case, replay_env


@pytest.mark.parametrize("case", [c for c in CASES if "detect" in load_case(c)])
def test_detect_each_recorded_case(case, tmp_path):
    expected = load_case(case)["detect"]
    found = detect(replay_env(case, tmp_path / "bin"))
    first = found.first
    assert found.source == expected["source"]
    assert found.count == expected["count"]
    assert first.gfx == expected["gfx"]
    assert first.device_id_hex == expected["device_id"]
    assert round(first.vram_gib) == expected["vram_gib"]
    assert first.compute_partition == expected["compute_partition"]
    assert match_gpu(found, load_gpus().values()).name == expected["gpu"]


@pytest.mark.parametrize("case", ["mi300x-x8", "mi250x-gcd"])
def test_sysfs_alone_agrees_with_the_tools(case, tmp_path):
    """With no tool on PATH the KFD topology gives the same count, target, device id and memory."""
    tools = detect(replay_env(case, tmp_path / "bin"))
    sysfs = detect(replay_env(case, tmp_path / "empty", tools=()))
    assert sysfs.source == "sysfs"
    assert (sysfs.count, sysfs.first.gfx, sysfs.first.device_id) == (tools.count, tools.first.gfx, tools.first.device_id)
    assert sysfs.first.vram_bytes == tools.first.vram_bytes
    assert match_gpu(sysfs, load_gpus().values()).name == match_gpu(tools, load_gpus().values()).name


def test_kfd_compute_units_and_board_name():
    gpus = read_kfd_topology(GPU_FIXTURES / "mi300x-x8" / "sysfs")
    assert len(gpus) == 8  # the two CPU nodes are skipped
    assert gpus[0].compute_units == 304
    assert gpus[0].product_name == "AMD Instinct MI300X OAM"


@pytest.mark.parametrize("packed,gfx", [(90402, "gfx942"), (90010, "gfx90a"), (90500, "gfx950"), (0, None)])
def test_gfx_target_version_decoding(packed, gfx):
    assert gfx_from_target_version(packed) == gfx


def test_amd_smi_both_json_shapes():
    new = parse_amd_smi((GPU_FIXTURES / "mi300x-x8" / "amd-smi.json").read_text())
    old = parse_amd_smi((GPU_FIXTURES / "mi325x-x8" / "amd-smi.json").read_text())
    assert len(new) == len(old) == 8
    assert new[0].vram_bytes == 196592 * 1024**2 and old[0].vram_bytes == 262128 * 1024**2


def test_rocm_smi_key_case_does_not_matter():
    text = '{"card0": {"Card series": "AMD Instinct MI250X", "Card model": "0x740c", "GFX Version": "gfx90a", ' \
           '"VRAM Total Memory (B)": "68702699520"}, "system": {"Driver version": "6.3.6"}}'
    (gpu,) = parse_rocm_smi(text)
    assert (gpu.product_name, gpu.device_id, gpu.gfx) == ("AMD Instinct MI250X", 0x740C, "gfx90a")
    # 0x740c is both MI250X and MI250: the product name decides
    assert match_gpu(gpu, load_gpus().values()).name == "mi250x"


def test_garbage_from_a_tool_is_an_environment_problem():
    with pytest.raises(EnvironmentProblem, match="not JSON"):
        parse_amd_smi("amd-smi: command failed")


def _gpus(n):
    return [DetectedGPU(i, "gfx942", 0x74A1, "AMD Instinct MI300X", 192 * 1024**3, uuid=f"GPU-{i:016x}")
            for i in range(n)]


def test_visibility_rocr_then_hip():
    visible = apply_visibility(_gpus(8), {"ROCR_VISIBLE_DEVICES": "2,3,4,5", "HIP_VISIBLE_DEVICES": "1,3"})
    assert [g.uuid for g in visible] == ["GPU-0000000000000003", "GPU-0000000000000005"]
    assert [g.index for g in visible] == [0, 1]


def test_visibility_by_uuid_and_errors():
    assert len(apply_visibility(_gpus(8), {"ROCR_VISIBLE_DEVICES": "GPU-0000000000000007"})) == 1
    assert apply_visibility(_gpus(8), {"HIP_VISIBLE_DEVICES": ""}) == []
    with pytest.raises(EnvironmentProblem, match="only 8"):
        apply_visibility(_gpus(8), {"HIP_VISIBLE_DEVICES": "9"})


def test_hip_visible_devices_narrows_detection(tmp_path):
    env = replay_env("mi300x-x8", tmp_path / "bin")
    env["HIP_VISIBLE_DEVICES"] = "0,1"
    assert detect(env).count == 2


def test_no_gpu_is_a_clear_environment_problem(tmp_path):
    with pytest.raises(EnvironmentProblem, match="no AMD GPU found"):
        detect(replay_env("no-gpu", tmp_path / "bin"))


def test_unknown_device_is_reported_with_its_identity():
    odd = DetectedGPU(0, "gfx1201", 0x7551, "AMD Radeon AI PRO R9700", 32 * 1024**3)
    with pytest.raises(EnvironmentProblem, match="0x7551"):
        match_gpu(odd, load_gpus().values())
