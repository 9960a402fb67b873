"""scripts/fetch_shared.py: verify ../shared by git blob hash; fetch pinned files when it is absent."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from aimgen.paths import shared_dir

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "fetch_shared.py"
PINS = ROOT / "scripts" / "shared-pins.json"


def fetch_shared(*args: str, base_url: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "AIMGEN_SHARED_BASE_URL"}
    if base_url:
        env["AIMGEN_SHARED_BASE_URL"] = base_url
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=120)


def pins() -> list[dict]:
    return json.loads(PINS.read_text())["files"]


def test_git_blob_sha_matches_git_hash_object():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import fetch_shared
    finally:
        sys.path.pop(0)
    assert fetch_shared.git_blob_sha(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    assert fetch_shared.git_blob_sha(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_real_shared_folder_verifies_without_warnings():
    done = fetch_shared("--shared", str(shared_dir()))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"shared: {len(pins())} pinned files verified in {shared_dir()} (git blob sha1)"
    assert done.stderr == ""  # no stale pins, nothing missing


def test_pins_are_what_write_pins_generates(tmp_path):
    copy = tmp_path / "pins.json"
    shutil.copy(PINS, copy)
    done = fetch_shared("--shared", str(shared_dir()), "--write-pins", "--pins", str(copy))
    assert done.returncode == 0, done.stderr
    assert copy.read_text() == PINS.read_text()


def test_pins_cover_the_crds_and_name_the_handwritten_files():
    locals_ = {p["local"] for p in pins()}
    crds = {p.relative_to(shared_dir()).as_posix() for p in shared_dir().glob("*/*/crds/*.yaml")}
    assert crds <= locals_
    assert {"ct/chart_schema.yaml", "ct/lintconf.yaml"} <= locals_
    assert json.loads(PINS.read_text())["handwritten"] == sorted(
        p.relative_to(shared_dir()).as_posix() for p in shared_dir().glob("amd/*.yaml")
    )
    assert all(len(p["sha"]) == 40 and p["repo"].count("/") == 1 and p["ref"] for p in pins())


@pytest.fixture
def shared_copy(tmp_path) -> Path:
    copy = tmp_path / "shared"
    shutil.copytree(shared_dir(), copy)
    for path in copy.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return copy


def test_tampered_file_fails_with_exit_1(shared_copy):
    target = shared_copy / "keda" / "v2.20.2" / "crds" / "keda.sh_scaledobjects.yaml"
    target.write_bytes(target.read_bytes().replace(b"minReplicaCount", b"minReplicaCounts", 1))
    done = fetch_shared("--shared", str(shared_copy))
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"fetch_shared: error: {target}: git blob ")
    assert "kedacore/keda@v2.20.2:config/crd/bases/keda.sh_scaledobjects.yaml" in line


def test_absent_folder_without_network_exits_4_with_one_clear_line(tmp_path):
    done = fetch_shared("--shared", str(tmp_path / "shared"), base_url="http://127.0.0.1:9/")
    assert done.returncode == 4
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("fetch_shared: error: cannot fetch ") and "http://127.0.0.1:9/" in line
    assert "AIM_SHARED_DIR" in line
    assert not (tmp_path / "shared").exists() or not any((tmp_path / "shared").rglob("*.yaml"))


@pytest.fixture
def upstream(tmp_path):
    """A local stand-in for raw.githubusercontent.com: <repo>/<ref>/<path> served from the real shared files."""
    root = tmp_path / "upstream"
    for pin in pins():
        target = root / pin["repo"] / pin["ref"] / pin["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shared_dir() / pin["local"], target)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep pytest output clean
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_absent_folder_is_fetched_and_verified(tmp_path, upstream):
    _, url = upstream
    target = tmp_path / "fresh"
    done = fetch_shared("--shared", str(target), base_url=url)
    assert done.returncode == 0, done.stderr
    assert f"verified ({len(pins())} fetched from {url})" in done.stdout
    for pin in pins():
        assert (target / pin["local"]).read_bytes() == (shared_dir() / pin["local"]).read_bytes()
    assert "amd/gpus.yaml" in done.stderr and "cannot be fetched" in done.stderr
    assert not list(target.rglob("*.part"))
    again = fetch_shared("--shared", str(target), base_url="http://127.0.0.1:9/")  # now present: no network needed
    assert again.returncode == 0 and "verified in" in again.stdout


def test_upstream_content_mismatch_exits_1_and_writes_nothing(tmp_path, upstream):
    root, url = upstream
    pin = next(p for p in pins() if p["local"].startswith("ct/"))
    (root / pin["repo"] / pin["ref"] / pin["path"]).write_text("changed upstream\n")
    target = tmp_path / "fresh"
    done = fetch_shared("--shared", str(target), base_url=url)
    assert done.returncode == 1
    assert f"{pin['path']}: fetched git blob" in done.stderr and f"not writing {pin['local']}" in done.stderr
    assert not (target / pin["local"]).exists()


def test_missing_upstream_file_exits_4(tmp_path, upstream):
    root, url = upstream
    shutil.rmtree(root / "kedacore")
    done = fetch_shared("--shared", str(tmp_path / "fresh"), base_url=url)
    assert done.returncode == 4 and "answered HTTP 404" in done.stderr
