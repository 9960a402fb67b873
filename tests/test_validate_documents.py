"""validate_documents against the real CRDs in the shared folder and kubernetes-validate's schemas."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from aimgen.errors import EnvironmentProblem, UsageError
from aimgen.findings import ERROR, has_errors
from aimgen.paths import default_crd_dirs, shared_dir
from aimgen.validate.documents import load_yaml_documents, validate_documents
from aimgen.validate.files import validate_files
from aimgen.validate.kubernetes import resolve_kube_version, supported_versions

FIXTURES = Path(__file__).parent / "fixtures" / "validate"
VALID = sorted((FIXTURES / "valid").glob("*.yaml"))
INVALID = sorted((FIXTURES / "invalid").glob("*.yaml"))


def load(path: Path) -> list[dict]:
    return load_yaml_documents(path.read_text(encoding="utf-8"), str(path))


def by_kind(kind: str) -> dict:
    for path in VALID:
        for doc in load(path):
            if doc["kind"] == kind:
                return copy.deepcopy(doc)
    raise AssertionError(f"no {kind} in the valid fixtures")


def test_shared_crds_are_there():
    assert len(default_crd_dirs()) >= 5, f"expected the CRD folders of {shared_dir()}; run `make shared`"


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_fixtures_have_no_findings(path):
    assert validate_documents(load(path), source=str(path)) == []


def test_valid_fixtures_cover_the_kinds_we_render_and_integrate_with():
    kinds = {doc["kind"] for path in VALID for doc in load(path)}
    assert {
        "InferenceService", "ServingRuntime", "ClusterServingRuntime", "PersistentVolumeClaim", "Job",
        "ServiceMonitor", "PrometheusRule", "ScaledObject", "HTTPRoute", "Deployment", "Service", "ConfigMap",
        "Secret", "ServiceAccount", "NetworkPolicy", "PodDisruptionBudget", "Ingress", "HorizontalPodAutoscaler",
    } <= kinds


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_fixtures_give_exactly_the_expected_findings(path):
    report = validate_files([str(path)])
    got = [
        f"{f.level}[{f.code}] {f.path + ': ' if f.path else ''}{f.message}".replace(str(shared_dir()), "$SHARED")
        for f in report.findings
    ]
    expected = path.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    assert got == expected
    assert all(f.file == str(path) for f in report.findings)


def test_typo_field_names_the_path_and_the_fix():
    isvc = by_kind("InferenceService")
    isvc["spec"]["predictor"]["modle"] = isvc["spec"]["predictor"].pop("model")
    (finding,) = validate_documents([isvc], source="rendered")
    assert finding.code == "CRD001" and finding.file == "rendered"
    assert finding.path == "InferenceService/qwen3-8b spec.predictor.modle"
    assert "unknown field 'modle'" in finding.message and "did you mean 'model'" in finding.message


def test_wrong_type_names_expected_and_actual():
    runtime = by_kind("ServingRuntime")
    runtime["spec"]["containers"][0]["ports"][0]["containerPort"] = "8080"
    (finding,) = validate_documents([runtime], source="r")
    assert finding.path == "ServingRuntime/vllm-rocm spec.containers[0].ports[0].containerPort"
    assert finding.message == "expected an integer, got string '8080'"


def test_short_allowed_lists_are_spelled_out():
    pvc = by_kind("PersistentVolumeClaim")
    pvc["spec"]["resources"]["request"] = pvc["spec"]["resources"].pop("requests")
    (finding,) = validate_documents([pvc], source="r")
    assert finding.code == "K8S001"
    assert "did you mean 'requests'" in finding.message and "(allowed: limits, requests)" in finding.message


def test_errors_are_all_reported_not_only_the_first():
    job = by_kind("Job")
    container = job["spec"]["template"]["spec"]["containers"][0]
    container["imag"] = container.pop("image")
    container["tty"] = "yes"
    job["spec"]["backoffLimit"] = "3"
    findings = validate_documents([job], source="r")
    assert [f.path.split(" ", 1)[1] for f in findings] == [
        "spec.backoffLimit",
        "spec.template.spec.containers[0].imag",
        "spec.template.spec.containers[0].tty",
    ]


def test_builtin_lookalike_group_is_not_taken_for_the_builtin():
    deployment = by_kind("Deployment")
    deployment["apiVersion"] = "apps.example.com/v1"
    (finding,) = validate_documents([deployment], source="r")
    assert finding.code == "DOC002" and "no CRD for apps.example.com/v1 Deployment" in finding.message


def test_gateway_api_group_under_k8s_io_goes_to_its_crd():
    route = by_kind("HTTPRoute")
    route["spec"]["rules"][0]["backendRefs"][0]["port"] = "http"
    (finding,) = validate_documents([route], source="r")
    assert finding.code == "CRD001" and finding.path.endswith("backendRefs[0].port")


def test_kube_version_selects_the_schema_set():
    versions = supported_versions()
    assert resolve_kube_version(None) == versions[-1]
    assert resolve_kube_version("v" + versions[0] + ".3") == versions[0]
    with pytest.raises(UsageError, match="give one of those"):
        resolve_kube_version("1.99")
    # ValidatingAdmissionPolicy became admissionregistration.k8s.io/v1 in 1.30
    vap = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "p"},
        "spec": {"validations": [{"expression": "true"}]},
    }
    assert validate_documents([vap], source="r", kube_version="1.30") == []
    (old,) = validate_documents([vap], source="r", kube_version="1.29")
    assert old.code == "DOC002" and "not a Kubernetes 1.29 API" in old.message


def test_builtins_need_no_crd_directories():
    assert validate_documents([by_kind("ConfigMap")], source="r", crd_dirs=[]) == []


def test_custom_resource_without_any_crd_directory_is_an_environment_problem():
    with pytest.raises(EnvironmentProblem, match="no CRD directories"):
        validate_documents([by_kind("InferenceService")], source="r", crd_dirs=[])


def test_explicit_crd_dirs_replace_the_defaults(tmp_path):
    only_keda = shared_dir() / "keda" / "v2.20.2" / "crds"
    assert validate_documents([by_kind("ScaledObject")], source="r", crd_dirs=[only_keda]) == []
    (finding,) = validate_documents([by_kind("ServiceMonitor")], source="r", crd_dirs=[only_keda])
    assert finding.code == "DOC002" and "pass --crds DIR" in finding.message


def test_metadata_rules_apply_to_builtins_too():
    service = by_kind("Service")
    service["metadata"]["name"] = "1-metrics"  # a Service name is a DNS-1035 label: must start with a letter
    service["metadata"]["namespace"] = "LLM"
    findings = validate_documents([service], source="r")
    assert [f.path for f in findings] == ["Service/1-metrics metadata.name", "Service/1-metrics metadata.namespace"]
    assert all(f.code == "META001" and f.level == ERROR for f in findings)


def test_missing_name_is_reported():
    cm = by_kind("ConfigMap")
    del cm["metadata"]["name"]
    findings = validate_documents([cm], source="r")
    assert has_errors(findings) and any("metadata.name" in f.path and "required" in f.message for f in findings)
