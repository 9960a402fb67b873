"""A model outside the catalog, by Hub id: config.json from the (fake) Hub, the metadata cache, and hostile remotes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fakehub import cache_dir_fixture, hub_fixture  # noqa: E402,F401 (fixtures)

MODEL = "acme/tiny-llama-ft"  # not in the catalog
CONFIG = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096,
          "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
          "vocab_size": 128256, "max_position_embeddings": 32768, "torch_dtype": "bfloat16"}
WEIGHTS = {"model-00001-of-00002.safetensors": b"w" * 3000, "model-00002-of-00002.safetensors": b"w" * 2000}


@pytest.fixture(name="xdg")
def xdg_fixture(tmp_path, monkeypatch, cache_dir):
    """The fake Hub as HF_ENDPOINT (cache_dir) and an empty metadata cache."""
    path = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(path))
    return path / "aimgen" / "hub-metadata"


def _errors(err: str) -> list[str]:
    return [json.loads(line)["message"] for line in err.splitlines()
            if line.startswith("{") and json.loads(line).get("level") == "error"]


def test_first_run_plans_from_the_hub_then_the_cache_serves_it_offline(hub, xdg, cli):
    commit = hub.add_repo(MODEL, {"config.json": json.dumps(CONFIG), **WEIGHTS, "README.md": "# ft"})
    code, online, err = cli("render", MODEL, "--gpu", "mi300x")
    assert code == 0, err
    assert f"--revision={commit}" in online  # pinned to the commit whose config.json was planned
    assert len(hub.requests("GET", f"/api/models/{MODEL}/revision/main")) == 1
    assert [r for r in hub.requests("GET") if r["path"].endswith("/config.json")]  # fetched, digest-checked
    cached = json.loads((xdg / MODEL / "main" / "metadata.json").read_text())
    assert cached["commit"] == commit and json.loads(cached["config"]) == CONFIG

    hub.stop()
    code, offline, err = cli("render", MODEL, "--gpu", "mi300x")
    assert code == 0, err
    assert offline == online  # the same plan, from the metadata cache
    assert "metadata cached" in err and commit in err


def test_exact_checkpoint_size_comes_from_the_listing(hub, xdg):
    from aimgen.catalog.hub import hub_model
    from aimgen.catalog.gpus import get_gpu
    from aimgen.catalog.nodepool import default_pool
    from aimgen.planning import plan

    commit = hub.add_repo(MODEL, {"config.json": json.dumps(CONFIG), **WEIGHTS})
    model = hub_model(MODEL)
    assert model.revision == commit and not model.in_catalog
    assert plan(model, default_pool(get_gpu("mi300x"))).checkpoint_bytes == 5000


def test_neither_hub_nor_cache_exits_4(hub, xdg, cli):
    hub.stop()
    code, _, err = cli("render", MODEL, "--gpu", "mi300x")
    assert code == 4
    [line] = _errors(err)
    assert MODEL in line and "not in the catalog" in line and "--model-config" in line


def test_offline_mode_reads_only_the_cache(hub, xdg, cli, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub.add_repo(MODEL, {"config.json": json.dumps(CONFIG)})
    code, _, err = cli("values", MODEL, "--gpu", "mi300x")
    assert code == 4 and "HF_HUB_OFFLINE" in _errors(err)[0]
    assert hub.requests() == []


def test_the_token_is_sent_to_the_hub_and_never_printed(hub, xdg, cli, monkeypatch):
    hub.require_token = "hf_secret_for_tests"
    hub.add_repo(MODEL, {"config.json": json.dumps(CONFIG)})
    code, out, err = cli("explain", MODEL, "--gpu", "mi300x")
    assert code == 4 and "hf_secret_for_tests" not in out + err  # without a token: refused, one line
    monkeypatch.setenv("HF_TOKEN", "hf_secret_for_tests")
    code, out, err = cli("explain", MODEL, "--gpu", "mi300x")
    assert code == 0, err
    assert "hf_secret_for_tests" not in out + err


@pytest.mark.parametrize("config, needle", [
    ({**CONFIG, "num_hidden_layers": "32"}, "num_hidden_layers"),
    ({**CONFIG, "quantization_config": ["fp8"]}, "quantization_config"),
    ({**CONFIG, "torch_dtype": {"x": 1}}, "torch_dtype"),
    ("[" * 100_000, "nested deeper"),
    ("{not json", "not valid JSON"),
    ([1, 2], "JSON object"),
    (b"\xff\xfe{}", "UTF-8"),
    ("{" + " " * (1 << 20) + "}", "not a config"),
])
def test_a_hostile_config_is_one_line_exit_1_and_never_cached(hub, xdg, cli, config, needle):
    body = config if isinstance(config, (str, bytes)) else json.dumps(config)
    hub.add_repo(MODEL, {"config.json": body})
    code, out, err = cli("render", MODEL, "--gpu", "mi300x")
    assert code == 1 and out == ""
    [line] = _errors(err)
    assert needle in line and MODEL in line
    assert "Traceback" not in err
    assert not (xdg / MODEL).exists()


def test_a_hostile_listing_is_refused(hub, xdg, cli):
    hub.add_repo(MODEL, {"config.json": json.dumps(CONFIG), "../escape.json": "{}"})
    code, _, err = cli("render", MODEL, "--gpu", "mi300x")
    # The cache's rule for what a remote sends (cache/remote.py): a listing that names a path outside the repository
    # is the Hub's fault, not the user's input: exit 4, one line naming the Hub.
    [line] = _errors(err)
    assert code == 4 and "../escape.json" in line and "Traceback" not in err


def test_a_repository_without_config_json_is_refused(hub, xdg, cli):
    hub.add_repo(MODEL, {"README.md": "no config"})
    code, _, err = cli("render", MODEL, "--gpu", "mi300x")
    assert code == 1 and "has no config.json" in _errors(err)[0]


def test_hf_endpoint_option_points_the_config_fetch_and_the_pods_at_the_mirror(hub, xdg, cli, monkeypatch):
    """--hf-endpoint, not the environment, names the mirror: the CLI's own config fetch goes there, and every
    rendered container that talks to the Hub gets it as HF_ENDPOINT."""
    import yaml

    monkeypatch.delenv("HF_ENDPOINT")
    hub.add_repo(MODEL, {"config.json": json.dumps(CONFIG), **WEIGHTS})
    code, out, err = cli("render", MODEL, "--gpu", "mi300x", "--hf-endpoint", hub.url, "--prefetch-job")
    assert code == 0, err
    assert hub.requests("GET", f"/api/models/{MODEL}/revision/main")
    docs = list(yaml.safe_load_all(out))
    isvc = next(d for d in docs if d["kind"] == "InferenceService")
    job = next(d for d in docs if d["kind"] == "Job")
    containers = [isvc["spec"]["predictor"]["initContainers"][0], isvc["spec"]["predictor"]["model"],
                  job["spec"]["template"]["spec"]["containers"][0]]
    for container in containers:
        assert {"name": "HF_ENDPOINT", "value": hub.url.rstrip("/")} in container["env"]
    egress = next(d for d in docs if d["metadata"]["name"].endswith("-hub-egress"))
    port = int(hub.url.rsplit(":", 1)[1].strip("/"))
    assert egress["spec"]["egress"][0]["ports"] == [{"protocol": "TCP", "port": p} for p in sorted({443, port})]
