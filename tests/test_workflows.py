"""The release pipeline (.github/workflows): valid against GitHub's workflow schema (check-jsonschema's vendored
copy) and clean under zizmor (offline audits, pedantic persona), with every action pinned by commit."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yaml"))
BIN = Path(sys.executable).parent


def test_workflows_match_the_github_schema():
    result = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                             *map(str, WORKFLOWS)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing():
    result = subprocess.run([str(BIN / "zizmor"), "--offline", "--persona=pedantic", "--no-progress",
                             str(ROOT / ".github" / "workflows")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "No findings" in result.stdout, result.stdout + result.stderr


def test_every_action_is_pinned_by_commit():
    for path in WORKFLOWS:
        for ref in re.findall(r"uses:\s*(\S+)", path.read_text()):
            if ref.startswith(("./", "$/")):
                continue
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), f"{path.name}: {ref}"


def test_a_tag_tests_then_publishes_image_chart_and_wheel():
    release = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yaml").read_text())
    jobs = release["jobs"]
    assert release[True]["push"]["tags"] == ["v*"]  # PyYAML reads the key `on` as True
    assert "test.yaml" in jobs["test"]["uses"]
    for name in ("image", "chart", "wheel"):
        assert "test" in jobs[name]["needs"]
    build = next(s for s in jobs["image"]["steps"] if "build-push-action" in s.get("uses", ""))
    assert build["with"]["platforms"] == "linux/amd64,linux/arm64" and build["with"]["push"] is True
    assert "helm push" in jobs["chart"]["steps"][-1]["run"] and "oci://" in jobs["chart"]["steps"][-1]["run"]
    assert "gh-action-pypi-publish" in jobs["pypi"]["steps"][-1]["uses"]
    base = re.search(r"^FROM (\S+)", (ROOT / "Dockerfile").read_text(), re.M).group(1)
    assert re.search(r"@sha256:[0-9a-f]{64}$", base), base
