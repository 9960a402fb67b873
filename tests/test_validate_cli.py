"""`aimgen validate`: exit codes, one line per finding, the JSON report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aimgen.cli.main import run

FIXTURES = Path(__file__).parent / "fixtures" / "validate"
VALID = FIXTURES / "valid" / "kserve-vllm.yaml"
TYPO = FIXTURES / "invalid" / "isvc-typo-field.yaml"
SYNTAX = FIXTURES / "invalid" / "yaml-syntax-error.yaml"
AIMGEN = Path(sys.executable).parent / "aimgen"


@pytest.fixture(autouse=True)
def text_console(monkeypatch):
    monkeypatch.setenv("AIMGEN_LOG_FORMAT", "text")


def test_valid_file_exits_0_with_a_summary(capsys):
    assert run(["validate", str(VALID)]) == 0
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    # Schema-valid; its runtime starts vLLM through a module aimgen has no snapshot for: the serving contract
    # cannot be checked, and validate says so.
    assert out == "" and lines[-1] == "valid: 5 document(s) in 1 file(s), 1 warning(s)"
    assert len(lines) == 2 and lines[0].startswith(f"warning[SERVE001] {VALID}: InferenceService/qwen3-8b")


def test_invalid_file_exits_1_with_one_line_per_finding(capsys):
    assert run(["validate", str(TYPO), str(FIXTURES / "invalid" / "pvc-unknown-field.yaml")]) == 1
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == ""
    assert lines[0] == (
        f"error[CRD001] {TYPO}: InferenceService/qwen3-8b spec.predictor.modle: "
        "unknown field 'modle'; did you mean 'model'?"
    )
    assert len(lines) == 4 and lines[-1].startswith("error: invalid: 3 error(s)")


def test_yaml_syntax_error_is_one_line_and_exit_1(capsys):
    assert run(["validate", str(SYNTAX)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith(f"error[YAML001] {SYNTAX}: line 5, column 2: YAML syntax error")
    assert len(err) == 2


def test_json_report_on_stdout(capsys):
    assert run(["validate", "--json", str(VALID), str(TYPO)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False
    assert report["files"] == [str(VALID), str(TYPO)]
    assert report["documents"] == 6
    assert report["summary"] == {"error": 1, "warning": 1}
    assert report["kube_version"] and report["crd_dirs"]
    assert [f for f in report["findings"] if f["level"] == "error"] == [
        {
            "level": "error",
            "code": "CRD001",
            "file": str(TYPO),
            "path": "InferenceService/qwen3-8b spec.predictor.modle",
            "message": "unknown field 'modle'; did you mean 'model'?",
        }
    ]


def test_directory_expands_to_its_yaml_files(capsys):
    assert run(["validate", "--json", str(FIXTURES / "valid")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] and len(report["files"]) == len(list((FIXTURES / "valid").glob("*.yaml")))


def test_usage_errors_exit_2(capsys):
    assert run(["validate"]) == 2
    assert run(["validate", "no/such/file.yaml"]) == 2
    assert run(["validate", str(VALID), "--kube-version", "0.1"]) == 2
    err = capsys.readouterr().err
    assert "no such file or directory" in err and "give one of those as X.Y" in err


def test_missing_crd_directory_exits_4(capsys, tmp_path):
    assert run(["validate", str(VALID), "--crds", str(tmp_path / "absent")]) == 4
    assert "does not exist" in capsys.readouterr().err


def test_crd_dir_from_environment(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("AIMGEN_CRD_DIR", str(tmp_path))  # empty directory: no CRD for the InferenceService
    assert run(["validate", str(TYPO)]) == 1
    assert "no CRD for serving.kserve.io/v1beta1 InferenceService" in capsys.readouterr().err


def test_stdin_end_to_end():
    """The installed entry point, reading stdin: the way `aimgen render | aimgen validate -` is used."""
    env = {**os.environ, "AIMGEN_LOG_FORMAT": "text"}
    done = subprocess.run(
        [str(AIMGEN), "validate", "-"], input=TYPO.read_text(), capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 1
    assert done.stderr.splitlines()[0].startswith("error[CRD001] <stdin>: InferenceService/qwen3-8b spec.predictor.modle")
    good = subprocess.run(
        [str(AIMGEN), "validate", "-"], input=VALID.read_text(), capture_output=True, text=True, env=env, timeout=120
    )
    assert good.returncode == 0, good.stderr
