"""What the chart renders for every ci values file passes `aimgen validate`: Kubernetes kinds against the strict
schemas, KServe / prometheus-operator / Gateway API kinds against their CRDs (../shared)."""

from __future__ import annotations

import pytest

from chart_support import CI_VALUES, load_docs, template


@pytest.mark.parametrize("values", CI_VALUES, ids=[v.stem for v in CI_VALUES])
def test_rendered_chart_is_valid(values, shared_dir):
    from aimgen.findings import has_errors
    from aimgen.validate.documents import validate_documents

    result = template("helm3", "valid", values_files=[values], namespace="llm")
    assert result.returncode == 0, result.stderr
    findings = validate_documents(load_docs(result.stdout), source=values.name)
    assert not has_errors(findings), "\n".join(f.line() for f in findings)
