"""The ATOM backend (runtime atom-rocm, docs/runtimes.md "ATOM"): what a rendered ATOM pod is told, and what is
refused, checked on the manifests and by the serving contract."""

from __future__ import annotations

from dataclasses import replace

import pytest

from aimgen.catalog.gpus import get_gpu
from aimgen.catalog.models import get_model
from aimgen.catalog.nodepool import default_pool
from aimgen.compose import realize
from aimgen.errors import InvalidInput, NoFeasiblePlan
from aimgen.recipes.load import load_all_profiles
from aimgen.runtimes.cmdline import engine_version_of, runtime_for_command
from aimgen.runtimes.registry import get_runtime
from aimgen.select import Request, select

COMMIT = "0123456789abcdef0123456789abcdef01234567"
ATOM_PROFILES = [p for p in load_all_profiles() if p.backend == "atom"]


def _request(profile, **kw):
    pool = default_pool(get_gpu(profile.gpu))
    return Request(get_model(profile.model), pool, profile.gpus, profile.precision, "atom", profile.metric, **kw)


def _flags(argv) -> dict[str, str]:
    return dict(a[2:].split("=", 1) for a in argv if a.startswith("--") and "=" in a)


def test_every_model_inferencex_runs_on_atom_has_an_atom_profile():
    assert {p.model for p in ATOM_PROFILES} >= {"deepseek-ai/DeepSeek-R1-0528", "Qwen/Qwen3.5-397B-A17B",
                                                 "deepseek-ai/DeepSeek-V4-Pro", "zai-org/GLM-5.2", "moonshotai/Kimi-K3"}


@pytest.mark.parametrize("profile", ATOM_PROFILES, ids=lambda p: p.id)
def test_atom_listens_on_its_server_port_not_its_engine_port(profile):
    d = realize(select(_request(profile)), "x")
    flags = _flags(d.serving.args)
    # --port is ATOM's internal engine port: the HTTP port is --server-port
    assert flags["server-port"] == str(get_runtime("atom-rocm").port) and "port" not in flags
    assert flags["model"] == d.serving.checkpoint and flags["served-model-name"] == profile.model
    assert "host" not in flags  # ATOM binds 0.0.0.0 by default (api_server.py DEFAULT_HOST)


def test_a_pinned_commit_is_served_from_its_snapshot_folder():
    """ATOM has no --revision and would resolve `main`, which a pinned prefetch does not write."""
    profile = next(p for p in ATOM_PROFILES if p.model == "deepseek-ai/DeepSeek-R1-0528")
    pinned = replace(profile, revision=COMMIT)
    d = realize(select(_request(profile), profiles=[pinned]), "x")
    flags = _flags(d.serving.args)
    assert flags["model"] == f"/models/hub/models--deepseek-ai--DeepSeek-R1-0528/snapshots/{COMMIT}"
    assert flags["served-model-name"] == "deepseek-ai/DeepSeek-R1-0528" and "revision" not in flags
    assert d.serving.revision == COMMIT  # what the prefetch fetches


def test_a_pinned_branch_is_refused_for_atom():
    profile = next(p for p in ATOM_PROFILES if p.model == "deepseek-ai/DeepSeek-R1-0528")
    with pytest.raises(InvalidInput, match="full 40-character commit"):
        realize(select(_request(profile), profiles=[replace(profile, revision="v1.0")]), "x")


def test_atom_is_never_planned_and_says_what_would_work():
    with pytest.raises(NoFeasiblePlan, match="--backend atom serves only the shapes a recipe cites.*what would work"):
        select(Request(get_model("deepseek-ai/DeepSeek-R1-0528"), default_pool(get_gpu("mi300x")), backend="atom"))


def test_an_open_backend_never_picks_atom():
    for model in {p.model for p in ATOM_PROFILES}:
        assert select(Request(get_model(model), default_pool(get_gpu("mi355x")))).backend != "atom"


def test_validate_knows_the_nightly_image_by_its_runtime_pin():
    rt = get_runtime("atom-rocm")
    image = rt.image_for("gfx950")
    assert runtime_for_command(list(rt.command), image) is rt
    assert engine_version_of(rt, image) == rt.engine_version


def test_rendered_atom_deployments_validate(cli, tmp_path):
    for model, extra in (("deepseek-ai/DeepSeek-R1-0528", ()), ("moonshotai/Kimi-K3", ()),
                         ("deepseek-ai/DeepSeek-R1-0528", ("--api", "llmisvc"))):
        out = tmp_path / "out.yaml"
        code, _, err = cli("render", model, "--gpu", "mi355x", "--backend", "atom", *extra, "-o", str(out))
        assert code == 0, err
        code, _, err = cli("validate", str(out))
        assert code == 0, err


def test_validate_refuses_atom_told_its_engine_port(cli, tmp_path):
    """--port is ATOM's engine-internal port: the server would still listen on --server-port's default, 8000."""
    out = tmp_path / "out.yaml"
    assert cli("render", "deepseek-ai/DeepSeek-R1-0528", "--gpu", "mi355x", "--backend", "atom", "-o", str(out))[0] == 0
    out.write_text(out.read_text().replace("--server-port=8080", "--port=8080"))
    code, stdout, stderr = cli("validate", str(out))
    assert code == 1 and "SERVE003" in stdout + stderr and "listens on 8000" in stdout + stderr


def _render_pinned(cli, tmp_path, monkeypatch, revision: str):
    """DeepSeek-R1-0528's ATOM profiles pinned to `revision`, rendered for MI355X by the CLI."""
    import aimgen.select

    pinned = [replace(p, revision=revision) if p.backend == "atom" else p
              for p in load_all_profiles() if p.model == "deepseek-ai/DeepSeek-R1-0528"]
    monkeypatch.setattr(aimgen.select, "profiles_for", lambda model: pinned)
    out = tmp_path / "out.yaml"
    code, _, err = cli("render", "deepseek-ai/DeepSeek-R1-0528", "--gpu", "mi355x", "--backend", "atom", "-o", str(out))
    assert code == 0, err
    return out


def test_validate_follows_a_pinned_snapshot_folder_to_its_prefetch(cli, tmp_path, monkeypatch):
    """The engine's --model names <hub>/models--org--name/snapshots/<commit>: validate holds it to the prefetch of
    that repo at that commit, like a repo id with --revision, and says how to load what is cached."""
    out = _render_pinned(cli, tmp_path, monkeypatch, COMMIT)
    text = out.read_text()
    assert f"--model=/models/hub/models--deepseek-ai--DeepSeek-R1-0528/snapshots/{COMMIT}" in text
    code, stdout, stderr = cli("validate", str(out))
    assert code == 0, stdout + stderr
    other = "f" * 40
    out.write_text(text.replace(f"snapshots/{COMMIT}", f"snapshots/{other}"))
    code, stdout, stderr = cli("validate", str(out))
    said = stdout + stderr
    assert code == 1 and f"loads deepseek-ai/DeepSeek-R1-0528 at revision {other}" in said
    assert f"give it the folder /models/hub/models--deepseek-ai--DeepSeek-R1-0528/snapshots/{COMMIT}" in said
