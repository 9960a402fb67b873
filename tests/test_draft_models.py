"""Speculative decoding with a separate draft model (`--feature spec-decoding`, or a profile's own args): the engine
runs offline on the cache (HF_HUB_OFFLINE=1), so the draft repo must be prefetched beside the checkpoint, in the
init container and the prefetch Job, for both KServe APIs; the claim counts it where its size is known; a draft
given as a local folder, or an MTP method of the main model, prefetches nothing more."""

from __future__ import annotations

import json

import pytest
import yaml

from aimgen.planning.drafts import draft_repos, is_hub_repo
from aimgen.runtimes.registry import runtime_for_backend
from aimgen.spec import HubRepo

MISTRAL = "mistralai/Mistral-Medium-3.5-128B"
EAGLE = "mistralai/Mistral-Medium-3.5-128B-EAGLE"
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"
SMALL = "meta-llama/Llama-3.2-1B-Instruct"  # a catalog model: its size is known


def docs_of(out: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(out) if d]


def prefetched(container_lists) -> list[tuple[str, str]]:
    """(repo, revision) of each `aimgen cache prefetch` container, in order."""
    out = []
    for c in container_lists:
        args = c["args"]
        if args[:2] == ["cache", "prefetch"]:
            out.append((args[2], args[args.index("--revision") + 1]))
    return out


def env_of(container: dict) -> dict:
    return {e["name"]: e.get("value") for e in container["env"]}


def render(cli, tmp_path, *args: str) -> tuple[list[dict], str]:
    code, out, err = cli("render", *args)
    assert code == 0, err
    path = tmp_path / "rendered.yaml"
    path.write_text(out)
    return docs_of(out), str(path)


def test_mistral_spec_decoding_prefetches_the_eagle_head_beside_the_model(cli, tmp_path):
    docs, path = render(cli, tmp_path, MISTRAL, "--gpu", "mi300x", "--feature", "spec-decoding", "--prefetch-job")
    isvc = next(d for d in docs if d["kind"] == "InferenceService")
    predictor = isvc["spec"]["predictor"]
    assert prefetched(predictor["initContainers"]) == [(MISTRAL, "main"), (EAGLE, "main")]
    assert [c["name"] for c in predictor["initContainers"]] == ["model-prefetch", "model-prefetch-1"]
    job = next(d for d in docs if d["kind"] == "Job")
    assert prefetched(job["spec"]["template"]["spec"]["containers"]) == [(MISTRAL, "main"), (EAGLE, "main")]
    engine = predictor["model"]
    assert any(a.startswith("--speculative-config=") and EAGLE in a for a in engine["args"])
    assert env_of(engine)["HF_HUB_OFFLINE"] == "1"  # the engine still reads only the cache
    code, _, err = cli("validate", path)
    assert code == 0, err


def test_validate_refuses_an_offline_engine_whose_draft_nobody_prefetches(cli, tmp_path):
    """What aimgen rendered before the draft was prefetched: the pod would fail at start-up (SERVE005)."""
    docs, _ = render(cli, tmp_path, MISTRAL, "--gpu", "mi300x", "--feature", "spec-decoding")
    isvc = next(d for d in docs if d["kind"] == "InferenceService")
    isvc["spec"]["predictor"]["initContainers"] = isvc["spec"]["predictor"]["initContainers"][:1]
    path = tmp_path / "without-draft.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    code, _, err = cli("validate", str(path))
    assert code == 1 and "SERVE005" in err and EAGLE in err and "HF_HUB_OFFLINE" in err


def test_the_unknown_draft_size_is_said_not_hidden(cli):
    code, out, err = cli("explain", MISTRAL, "--gpu", "mi300x", "--feature", "spec-decoding")
    assert code == 0, err
    assert f"cache: draft model {EAGLE} prefetched beside the checkpoint; its size is unknown" in out
    code, out, err = cli("render", MISTRAL, "--gpu", "mi300x", "--feature", "spec-decoding")
    assert code == 0 and "warning: draft model" in err and "its size is unknown" in err and "--cache-size" in err
    code, out, err = cli("render", MISTRAL, "--gpu", "mi300x", "--feature", "spec-decoding", "--cache-size", "400Gi")
    assert code == 0 and "its size is unknown" not in err
    code, out, err = cli("explain", MISTRAL, "--gpu", "mi300x", "--feature", "spec-decoding", "--output-format",
                         "json")
    assert code == 0, err
    assert json.loads(out)["extra_repos"] == [{"repo": EAGLE, "revision": None, "size_bytes": None}]


def test_a_draft_the_catalog_knows_is_counted_in_the_claim(cli, tmp_path):
    spec_config = json.dumps({"model": SMALL, "num_speculative_tokens": 3})
    plain, _ = render(cli, tmp_path, LLAMA, "--gpu", "mi300x")
    with_draft, path = render(cli, tmp_path, LLAMA, "--gpu", "mi300x", "--engine-arg",
                              f"speculative-config={spec_config}")
    size = {name: next(d for d in docs if d["kind"] == "PersistentVolumeClaim")["spec"]["resources"]["requests"]
            ["storage"] for name, docs in (("plain", plain), ("draft", with_draft))}
    # Llama 3.2 1B: 2,471,628,800 bytes on disk, +15% = 2.65 GiB -> 3 GiB more
    assert int(size["draft"][:-2]) == int(size["plain"][:-2]) + 3, size
    isvc = next(d for d in with_draft if d["kind"] == "InferenceService")
    assert prefetched(isvc["spec"]["predictor"]["initContainers"])[1] == (SMALL, "main")
    assert cli("validate", path)[0] == 0


def test_a_draft_in_a_local_folder_or_an_mtp_method_prefetches_nothing_more(cli, tmp_path):
    local = json.dumps({"model": "/mnt/drafts/eagle", "method": "eagle3", "num_speculative_tokens": 3})
    docs, _ = render(cli, tmp_path, LLAMA, "--gpu", "mi300x", "--engine-arg", f"speculative-config={local}")
    isvc = next(d for d in docs if d["kind"] == "InferenceService")
    assert prefetched(isvc["spec"]["predictor"]["initContainers"]) == [(LLAMA, prefetched(
        isvc["spec"]["predictor"]["initContainers"])[0][1])]
    docs, _ = render(cli, tmp_path, "deepseek-ai/DeepSeek-V4-Pro", "--gpu", "mi355x", "--feature", "spec-decoding")
    isvc = next(d for d in docs if d["kind"] == "InferenceService")
    assert len(prefetched(isvc["spec"]["predictor"]["initContainers"])) == 1


@pytest.mark.parametrize("args, found", [
    ({"speculative-config": {"model": EAGLE, "method": "eagle"}}, (HubRepo(EAGLE),)),
    ({"speculative-config": json.dumps({"model": EAGLE, "revision": "v2"})}, (HubRepo(EAGLE, "v2"),)),
    ({"spec-model": EAGLE}, (HubRepo(EAGLE),)),
    ({"speculative-config": {"method": "mtp", "num_speculative_tokens": 2}}, ()),
    ({"speculative-config": {"method": "ngram", "prompt_lookup_max": 4}}, ()),
    ({"speculative-config": {"model": "/models/drafts/eagle"}}, ()),
    ({"speculative-config": {"model": "./eagle"}}, ()),
    ({"speculative-config": {"model": MISTRAL}}, ()),  # the checkpoint itself: already prefetched
    ({"speculative-config": "not json"}, ()),
])
def test_vllm_draft_repos(args, found):
    assert draft_repos(runtime_for_backend("vllm"), args, MISTRAL) == found


def test_sglang_draft_repos_under_either_spelling_with_their_revision():
    sglang = runtime_for_backend("sglang")
    for flag in ("speculative-draft-model-path", "speculative-draft-model"):
        assert draft_repos(sglang, {flag: "org/eagle3", "speculative-draft-model-revision": "abc"}, "org/model") == \
            (HubRepo("org/eagle3", "abc"),)
    assert draft_repos(sglang, {"speculative-algorithm": "NEXTN"}, "org/model") == ()
    assert not is_hub_repo("~/drafts/x") and not is_hub_repo("/abs/x") and is_hub_repo("org/x")


def test_sglang_profile_with_a_draft_prefetches_it(cli, tmp_path):
    docs, path = render(cli, tmp_path, "Qwen/Qwen3-8B", "--gpu", "mi300x", "--backend", "sglang",
                        "--engine-arg", "speculative-algorithm=EAGLE3",
                        "--engine-arg", "speculative-draft-model-path=org/qwen3-8b-eagle3",
                        "--engine-arg", "speculative-draft-model-revision=v1")
    isvc = next(d for d in docs if d["kind"] == "InferenceService")
    assert prefetched(isvc["spec"]["predictor"]["initContainers"])[1] == ("org/qwen3-8b-eagle3", "v1")
    assert cli("validate", path)[0] == 0


def test_llmisvc_prefetches_the_draft_or_lets_the_engine_download_it(cli, tmp_path):
    docs, path = render(cli, tmp_path, MISTRAL, "--gpu", "mi300x", "--feature", "spec-decoding", "--api", "llmisvc")
    config = next(d for d in docs if d["kind"] == "LLMInferenceServiceConfig")
    assert prefetched(config["spec"]["template"]["initContainers"]) == [(MISTRAL, "main"), (EAGLE, "main")]
    assert cli("validate", path)[0] == 0
    # No cache: KServe's storage initializer fetches the model, the engine (not offline) fetches the draft itself.
    docs, _ = render(cli, tmp_path, MISTRAL, "--gpu", "mi300x", "--feature", "spec-decoding", "--api", "llmisvc",
                     "--no-cache")
    config = next(d for d in docs if d["kind"] == "LLMInferenceServiceConfig")
    assert "initContainers" not in config["spec"]["template"]
    assert "HF_HUB_OFFLINE" not in env_of(config["spec"]["template"]["containers"][0])


@pytest.mark.parametrize("option", [["--model-source", "pvc://models/mistral"],
                                    ["--local-model-cache", "/mnt/nvme/models"]])
def test_weights_from_elsewhere_with_a_draft_model_are_refused(cli, option):
    code, out, err = cli("render", MISTRAL, "--gpu", "mi300x", "--feature", "spec-decoding", *option)
    assert code == 3 and out == ""
    assert EAGLE in err and "without --feature spec-decoding" in err


def test_spec_decoding_methods_exist_in_the_pinned_engine():
    """Every `method` a recipe's speculative-config names is one vLLM's pinned snapshot lists (--spec-method
    choices: vllm/config/speculative.py SpeculativeMethod)."""
    from aimgen.recipes.features import features_for
    from aimgen.recipes.load import load_all_profiles
    from aimgen.runtimes.flags import snapshot_for

    vllm = runtime_for_backend("vllm")
    methods = set(snapshot_for(vllm).option("--spec-method").choices)
    named = {}
    for model in {p.model for p in load_all_profiles()}:
        for name, feature in features_for(model).items():
            config = feature["args"].get("speculative-config")
            if "vllm" in feature.get("backends", ["vllm"]) and isinstance(config, dict) and "method" in config:
                named[f"{model}:{name}"] = config["method"]
    assert named, "no recipe names a speculative method"
    assert {k: m for k, m in named.items() if m not in methods} == {}


def test_a_draft_revision_no_hub_takes_is_refused_by_render_and_validate(cli, tmp_path):
    bad = json.dumps({"model": SMALL, "revision": "../x"})
    code, out, err = cli("render", LLAMA, "--gpu", "mi300x", "--engine-arg", f"speculative-config={bad}")
    assert code == 1 and out == "" and f"the draft model {SMALL} (--speculative-config): revision '../x'" in err
    docs, _ = render(cli, tmp_path, LLAMA, "--gpu", "mi300x", "--engine-arg",
                     "speculative-config=" + json.dumps({"model": SMALL}))
    isvc = next(d for d in docs if d["kind"] == "InferenceService")
    args = isvc["spec"]["predictor"]["model"]["args"]
    args[:] = [f"--speculative-config={bad}" if a.startswith("--speculative-config") else a for a in args]
    path = tmp_path / "bad-revision.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    code, _, err = cli("validate", str(path))
    assert code == 1 and "SERVE005" in err and "revision '../x'" in err
