"""The aimgen bundle: pods run aimgen's cache and endpoint checks with the engine image's own Python, so a
zero-config install names only public images (issue 15, "Images that exist")."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))

from chart_support import load_docs, template  # noqa: E402
from fakehub import GeneratedContent, events, subprocess_env  # noqa: E402
from fakehub import hub_fixture  # noqa: E402,F401 (fixture)

from aimgen import podbundle  # noqa: E402
from aimgen.chart_table import BUNDLE_PATH  # noqa: E402
from aimgen.paths import chart_dir  # noqa: E402

# aimgen's own dependencies an engine image need not have: the bundle must not import them (nor aimgen from outside
# the zip). PyYAML is not among them: huggingface_hub depends on it.
NOT_IN_ENGINE = ("typer", "click", "jsonschema", "jinja2", "kubernetes_validate", "rich")
LAUNCHER = f"""
import runpy, sys
class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {NOT_IN_ENGINE!r}:
            raise ImportError("not in the engine image: " + name)
sys.meta_path.insert(0, Blocked())
zipapp = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(zipapp, run_name="__main__")
import aimgen
assert aimgen.__file__.startswith(zipapp), aimgen.__file__
"""


@pytest.fixture(name="bundle", scope="module")
def bundle_fixture(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bundle") / podbundle.CONFIGMAP_KEY
    path.write_bytes(podbundle.build())
    return path


def run_bundle(bundle: Path, *args: str, hub_url: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-I", "-c", LAUNCHER, str(bundle), *args], capture_output=True, text=True,
                          env=subprocess_env(hub_url), timeout=120)


def test_the_bundle_is_deterministic_and_the_chart_ships_the_same_bytes():
    assert podbundle.build() == podbundle.build()
    assert chart_dir().joinpath(*BUNDLE_PATH).read_text() == podbundle.build_b64()  # else: aimgen chart sync
    assert len(podbundle.build_b64()) < 512 * 1024  # far below the 1 MiB a ConfigMap may hold


def test_prefetch_runs_from_the_bundle_without_aimgen_or_typer(bundle, hub, tmp_path):
    hub.add_repo("org/tiny", {"config.json": "{}", "model.safetensors": GeneratedContent(2 << 20, "b")})
    cache = tmp_path / "cache"
    argv = ["cache", "prefetch", "org/tiny", "--revision", "main", "--cache-dir", str(cache)]
    cold = run_bundle(bundle, *argv, hub_url=hub.url)
    assert cold.returncode == 0, cold.stderr
    ready = [e for e in events(cold.stderr) if e["event"] == "cache.ready"]
    assert ready and ready[0]["warm"] is False and Path(cold.stdout.strip()).is_dir()
    warm = run_bundle(bundle, *argv, hub_url=hub.url)
    assert warm.returncode == 0 and [e for e in events(warm.stderr) if e["event"] == "cache.ready"][0]["warm"]
    assert hub.downloads() == {"config.json": 1, "model.safetensors": 1}  # leases, records: the same code


def test_the_bundle_refuses_a_hostile_hub_and_bad_usage_in_one_line(bundle, hub, tmp_path):
    hub.add_repo("org/tiny", {"config.json": "{}"})
    hub.listing_edit = lambda info: info.update(sha="../../victim")
    bad = run_bundle(bundle, "cache", "prefetch", "org/tiny", "--cache-dir", str(tmp_path / "c"), hub_url=hub.url)
    lines = [e for e in events(bad.stderr) if e["level"] == "error"]
    assert bad.returncode == 4 and len(lines) == 1 and "40-hex" in lines[0]["message"]
    usage = run_bundle(bundle, "cache", "prefetch")
    assert usage.returncode == 2 and len(usage.stderr.strip().splitlines()) == 1
    down = run_bundle(bundle, "wait", "http://127.0.0.1:9", "--timeout", "0.5")
    assert down.returncode == 4 and "Traceback" not in down.stderr


def _images(docs: list[dict]) -> list[str]:
    found = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("image"), str) and ("containers" in str(node.keys()) or "name" in node):
                found.append(node["image"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for doc in docs:
        walk(doc)
    return found


@pytest.mark.parametrize("which", ["helm3", "helm4"])
def test_a_zero_config_install_names_only_public_engine_images(which):
    result = template(which, "demo", sets=["model=Qwen/Qwen3-8B", "gpu=mi300x", "cache.prefetchJob=true"])
    assert result.returncode == 0, result.stderr
    docs = load_docs(result.stdout)
    images = set(_images(docs))
    runtimes = {c["image"] for d in docs if d["kind"] == "ServingRuntime" for c in d["spec"]["containers"]}
    assert images == runtimes  # init container, Job and helm test Pod: the engine image itself
    bundle = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "demo-aimgen")
    assert base64.b64decode(bundle["binaryData"]["aimgen.pyz"]) == podbundle.build()
    test_pod = next(d for d in docs if d["kind"] == "Pod")
    assert {c["command"][1] for c in test_pod["spec"]["containers"]} == {podbundle.ENTRY}


def test_an_aimgen_image_stays_an_option(cli):
    code, out, err = cli("render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "--cache-image", "example.org/aimgen:1.0")
    assert code == 0, err
    docs = list(yaml.safe_load_all(out))
    assert not [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-aimgen")]
    isvc = next(d for d in docs if d["kind"] == "InferenceService")
    init = isvc["spec"]["predictor"]["initContainers"][0]
    assert init["image"] == "example.org/aimgen:1.0" and init["command"] == ["aimgen"]
    assert "aimgen-bundle" not in str(isvc)
    code, out, _ = cli("render", "Qwen/Qwen3-8B", "--gpu", "mi300x")
    default = next(d for d in yaml.safe_load_all(out) if d["kind"] == "InferenceService")
    init = default["spec"]["predictor"]["initContainers"][0]
    assert init["command"] == ["python3", podbundle.ENTRY] and "aimgen" not in init["image"]
