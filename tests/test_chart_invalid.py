"""Bad values are refused by `helm template` on Helm 3 and Helm 4 alike (non-zero exit): typos, wrong types,
impossible shapes, plaintext tokens. The schema catches most; the templates' `fail` catches the rest (a shape
the profile table does not hold). The good ci/*-values.yaml files all render."""

from __future__ import annotations

from pathlib import Path

import pytest

from chart_support import CI_VALUES, HELMS, in_parallel, template

CASES = sorted((Path(__file__).parent / "cases" / "chart-invalid").glob("*.yaml"))
NAMESPACE = "# Namespace: "  # optional second line: install into this namespace (the bad value is the namespace)


def test_corpus_is_large_enough():
    assert len(CASES) >= 150, "the invalid-values corpus must keep at least 150 cases"
    for case in CASES:
        first = case.read_text().splitlines()[0]
        assert first.startswith("# Rejected: "), f"{case.name}: first line must say why the values are bad"


def reject(which: str, case: Path):
    lines = case.read_text().splitlines()
    namespace = lines[1].removeprefix(NAMESPACE) if lines[1].startswith(NAMESPACE) else None
    return case, template(which, "bad", values_files=[case], namespace=namespace)


@pytest.mark.parametrize("which", sorted(HELMS))
def test_every_bad_values_file_is_rejected(which):
    results = in_parallel(lambda case: reject(which, case), CASES)
    accepted = [case.name for case, r in results if r.returncode == 0]
    assert not accepted, f"{which} accepted bad values: {accepted}"


@pytest.mark.parametrize("which", sorted(HELMS))
def test_every_ci_values_file_renders(which):
    results = in_parallel(lambda f: (f, template(which, "good", values_files=[f], namespace="llm")), CI_VALUES)
    failed = {f.name: r.stderr.strip() for f, r in results if r.returncode != 0}
    assert not failed, f"{which} refused good values: {failed}"


def test_no_matching_profile_says_how_to_fix_the_values():
    result = template("helm3", "fix", sets=["model=Qwen/Qwen3-8B", "gpu=mi300x", "gpus=16"])
    assert result.returncode != 0
    assert "--gpus 16 exceeds the pool 'mi300x-pool' (1 node(s) x 8 MI300X); ask for at most 8" in result.stderr
    result = template("helm4", "fix", sets=["model=example/Unknown", "gpu=mi300x"])
    assert result.returncode != 0 and "aimgen values example/Unknown --gpu mi300x" in result.stderr


def test_a_feature_the_profile_lacks_says_how_to_fix_the_values():
    """The schema refuses a feature the model's recipe does not document; a feature documented for another
    backend than the picked profile's fails in templates/_features.tpl, naming the profile and what it offers."""
    result = template("helm4", "fix", sets=["model=deepseek-ai/DeepSeek-R1", "gpu=mi300x", "backend=sglang",
                                            "features={reasoning}"])
    assert result.returncode != 0
    assert 'profile deepseek-r1-mi300x-x8-fp8-sglang-latency offers no "reasoning" feature' in result.stderr
    result = template("helm3", "fix", sets=["model=meta-llama/Llama-3.1-8B-Instruct", "gpu=mi300x",
                                            "features={tool-calling}"])
    assert result.returncode != 0 and 'features.0 must be one of the following: "spec-decoding"' in result.stderr
