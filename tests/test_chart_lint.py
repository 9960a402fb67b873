"""What `ct lint` checks, without ct: Chart.yaml against chart-testing's yamale schema, yamllint with ct's
config on Chart.yaml, values.yaml and ci/*.yaml, and `helm lint --strict` with every ci values file on Helm 3
and Helm 4. Plus the chart's own conventions: metadata, one template file per object kind, named for it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from chart_support import CHART, CI_VALUES, HELMS, ROOT, in_parallel, load_docs, run_helm, template

SHARED_CT = Path(__import__("os").environ.get("AIM_SHARED_DIR", ROOT.parent / "shared")) / "ct"
CHART_META = yaml.safe_load((CHART / "Chart.yaml").read_text())
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


def test_chart_metadata():
    from aimgen import __version__

    assert CHART_META["apiVersion"] == "v2"
    assert CHART_META["name"] == CHART.name
    assert SEMVER.match(CHART_META["version"]) and CHART_META["version"] == "0.1.0"
    assert CHART_META["appVersion"] == __version__, "appVersion is the aimgen version"
    assert CHART_META["kubeVersion"].startswith(">=1.")
    assert CHART_META["type"] == "application"


def test_ct_yaml_names_the_chart_dir():
    ct = yaml.safe_load((ROOT / "ct.yaml").read_text())
    assert ct["chart-dirs"] == ["charts"] and ct["validate-maintainers"] is False
    assert CI_VALUES, "charts/aim-engine/ci/*-values.yaml: the shapes ct lints and installs"


def test_chart_yaml_matches_chart_testing_schema():
    import yamale

    schema = yamale.make_schema(str(SHARED_CT / "chart_schema.yaml"))
    data = yamale.make_data(str(CHART / "Chart.yaml"))
    yamale.validate(schema, data, strict=True)


def test_yamllint_with_chart_testing_config():
    from yamllint import linter
    from yamllint.config import YamlLintConfig

    config = YamlLintConfig(file=str(SHARED_CT / "lintconf.yaml"))
    problems = []
    for path in [CHART / "Chart.yaml", CHART / "values.yaml", *sorted((CHART / "ci").glob("*.yaml"))]:
        for p in linter.run(path.read_text(), config, str(path)):
            if p.level == "error":
                problems.append(f"{path.relative_to(ROOT)}:{p.line}:{p.column} {p.message}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("which", sorted(HELMS))
def test_helm_lint_strict_with_every_ci_values_file(which):
    def lint(values: Path):
        return values, run_helm(which, "lint", str(CHART), "--strict", "-f", str(values), "--namespace", "llm")

    failed = {v.name: (r.stdout + r.stderr).strip() for v, r in in_parallel(lint, CI_VALUES) if r.returncode != 0}
    assert not failed, f"{which} lint --strict: {failed}"


def test_one_template_file_per_object_kind_named_for_it():
    """Every template renders one kind, and its file is named <component>-<kind>.yaml (or <kind>.yaml)."""
    sets = ["model=Qwen/Qwen3-8B", "gpu=mi300x", "cache.prefetchJob=true", "ingress.enabled=true",
            "ingress.host=llm.example.com", "httpRoute.enabled=true", "httpRoute.gateway.name=gw",
            "monitoring.enabled=true"]
    # All features of each API: the InferenceService render, and the LLMInferenceService one (api: llmisvc).
    results = [template("helm3", "files", sets=sets, namespace="llm"),
               template("helm3", "files", values_files=[CHART / "ci" / "llmisvc-pd-values.yaml"], namespace="llm"),
               template("helm3", "files", values_files=[CHART / "ci" / "local-model-cache-values.yaml"], namespace="llm")]
    kinds: dict[str, set[str]] = {}
    for result in results:
        assert result.returncode == 0, result.stderr
        for chunk in result.stdout.split("\n---\n"):
            m = re.search(r"^# Source: aim-engine/templates/(\S+)$", chunk, re.M)
            docs = load_docs(chunk)
            if m and docs:
                kinds.setdefault(m.group(1), set()).add(docs[0]["kind"])
    rendered = {p.relative_to(CHART / "templates").as_posix() for p in (CHART / "templates").rglob("*.yaml")}
    assert set(kinds) == rendered, "every template file renders an object in the all-features render"
    for file, found in kinds.items():
        assert len(found) == 1, f"{file} renders several kinds: {found}"
        kind = found.pop().lower()
        assert Path(file).name in (f"{kind}.yaml",) or Path(file).name.endswith(f"-{kind}.yaml"), f"{file} holds {kind}"


@pytest.mark.parametrize("values", ["httproute-values.yaml", "ingress-values.yaml", "single-gpu-values.yaml"])
def test_notes_tell_how_to_reach_every_model(values):
    """NOTES.txt (shown by `helm install`; Helm 4's client-side dry run renders it without a cluster)."""
    result = run_helm("helm4", "install", "notes", str(CHART), "--dry-run=client", "--namespace", "llm",
                      "-f", str(CHART / "ci" / values))
    assert result.returncode == 0, result.stderr
    notes = result.stdout.split("NOTES:", 1)[1]
    docs = [d for d in load_docs(result.stdout.split("NOTES:", 1)[0].split("MANIFEST:", 1)[1])
            if d["kind"] == "InferenceService"]
    assert docs
    for isvc in docs:
        name = isvc["metadata"]["name"]
        assert f"http://{name}-predictor.llm.svc.cluster.local" in notes
        assert f"port-forward service/{name}-predictor 8080:80" in notes
    assert "curl -s http://127.0.0.1:8080/v1/models" in notes and "/v1/chat/completions" in notes
    assert "helm test notes -n llm" in notes


@pytest.mark.parametrize("which", sorted(HELMS))
def test_helm_test_pod_takes_its_fixed_settings_from_the_pod_policy(which):
    """The `helm test` pod is chart-only, yet its resources, security context, /tmp size and wait timeout are
    aimgen.spec.PodPolicy's, placed from files/pod.json like every other pod's: none is written in a template."""
    from aimgen.render.k8s import client_pod_security_context
    from aimgen.spec import PodPolicy

    pod = PodPolicy()
    result = template(which, "t", sets=["model=Qwen/Qwen3-8B", "gpu=mi300x"])
    assert result.returncode == 0, result.stderr
    test_pod = next(d for d in load_docs(result.stdout)
                    if d["kind"] == "Pod" and (d["metadata"].get("annotations") or {}).get("helm.sh/hook") == "test")
    spec = test_pod["spec"]
    assert spec["securityContext"] == client_pod_security_context(pod)
    containers = spec["initContainers"] + spec["containers"]
    assert containers and all(c["resources"] == pod.test_resources for c in containers)
    waits = [c["args"] for c in spec["initContainers"]]
    assert waits and all(a[a.index("--timeout") + 1] == str(pod.test_wait_seconds) for a in waits)
    tmp = next(v for v in spec["volumes"] if v["name"] == "tmp")
    assert tmp["emptyDir"]["sizeLimit"] == pod.test_tmp_size
