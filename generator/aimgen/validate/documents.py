"""Validate manifest documents (plain dicts): each against its CRD or built-in schema, plus metadata rules.

Dispatch: a CRD in the given directories wins for its group/kind; otherwise a built-in group (core, apps,
batch, *.k8s.io ...) goes to the Kubernetes schemas; anything else has no schema and is an error, because an
object nothing can check is an object the cluster may reject.
"""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

from aimgen.constants import KIND_LLM_INFERENCE_SERVICE, KIND_LLM_INFERENCE_SERVICE_CONFIG
from aimgen.errors import EnvironmentProblem
from aimgen.findings import ERROR, WARNING, Finding
from aimgen.validate.apirules import manifest_problems
from aimgen.validate.crd_schema import CrdIndex, crd_index
from aimgen.validate.loader import load_yaml_documents
from aimgen.validate.messages import describe
from aimgen.validate.objectmeta import metadata_problems

__all__ = ["validate_documents", "load_yaml_documents", "document_label"]

# Stable finding codes (documented in the README's validation section).
DOC_SHAPE = "DOC001"  # apiVersion/kind missing or not strings
DOC_UNKNOWN_KIND = "DOC002"  # no CRD and not a built-in API
DOC_VERSION = "DOC003"  # CRD known, version not served
DOC_DUPLICATE = "DOC004"  # two documents for the same object
DOC_DEPRECATED = "DOC005"  # CRD version marked deprecated (warning)
META = "META001"  # metadata name/namespace/labels/annotations syntax
K8S_SCHEMA = "K8S001"  # built-in kind schema violation
CRD_SCHEMA = "CRD001"  # custom resource schema violation
API_RULES = "API001"  # a value the API server's Go validation refuses (hosts, tolerations, selectors, quantities)


def document_label(doc: dict[str, Any], index: int) -> str:
    """'Kind/name' as people say it; falls back to the document's position."""
    kind = doc.get("kind") if isinstance(doc.get("kind"), str) else None
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    name = meta.get("name") if isinstance(meta.get("name"), str) else None
    if kind and name:
        return f"{kind}/{name}"
    return f"{kind or 'document'} #{index}"


def _identity(doc: dict[str, Any]) -> tuple[str, str, str, str] | None:
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    name = meta.get("name")
    if not isinstance(name, str):
        return None
    group = str(doc.get("apiVersion", "")).rpartition("/")[0]
    return group, str(doc.get("kind")), str(meta.get("namespace") or ""), name


def _where(label: str, path: str) -> str:
    return f"{label} {path}" if path else label


def _schema_findings(validator: Any, doc: dict[str, Any], code: str, source: str, label: str) -> list[Finding]:
    out = []
    for error in validator.iter_errors(doc):
        for path, message in describe(error):
            out.append(Finding(ERROR, code, source, _where(label, path), message))
    return sorted(set(out), key=lambda f: (f.path, f.message))


def _unknown_kind_message(api_version: str, kind: str, crds: CrdIndex) -> str:
    group = api_version.rpartition("/")[0]
    same_group = sorted(k for g, k in crds.refs if g == group)
    if same_group:
        near = difflib.get_close_matches(kind, same_group, n=1)
        hint = f"; did you mean {near[0]}?" if near else ""
        return f"no kind {kind} in {group} (its CRDs define: {', '.join(same_group)}){hint}"
    return (
        f"no CRD for {api_version} {kind} in {_describe_dirs(crds.dirs)}; "
        "pass --crds DIR with its CustomResourceDefinition"
    )


def _describe_dirs(dirs: Sequence[Path]) -> str:
    if len(dirs) <= 2:
        return " or ".join(str(d) for d in dirs) or "no CRD directories"
    return f"{len(dirs)} directories under {os.path.commonpath([str(d) for d in dirs])}"


def _merged_spec_findings(crds: CrdIndex, doc: dict[str, Any], api_version: str, kind: str, source: str,
                          label: str) -> list[Finding]:
    """An LLMInferenceServiceConfig against the LLMInferenceService schema too. KServe relaxes the config's CRD
    (fewer patterns and length limits) so that presets may hold Go templates, then dry-runs the merged spec as an
    LLMInferenceService (kserve v0.20.0 pkg/controller/v1alpha2/llmisvc/config_merge.go, reconcileBaseRefs): a
    config with no templates must already pass that stricter schema, or the service that names it fails later."""
    if kind != KIND_LLM_INFERENCE_SERVICE_CONFIG or "{{" in json.dumps(doc.get("spec"), default=str):
        return []
    strict, _ = crds.validator(api_version, KIND_LLM_INFERENCE_SERVICE)
    if strict is None:
        return []
    relaxed = {(f.path, f.message) for f in _schema_findings(crds.validator(api_version, kind)[0], doc, CRD_SCHEMA,
                                                           source, label)}
    found = _schema_findings(strict, {**doc, "kind": KIND_LLM_INFERENCE_SERVICE}, CRD_SCHEMA, source, label)
    # A field the config leaves out may come from another config of the merge (KServe's own samples set half a
    # pool spec): only what the config says is held to the stricter schema, not what it omits.
    return [replace(f, message=f"{f.message} (KServe checks the merged spec as an LLMInferenceService)")
            for f in found if (f.path, f.message) not in relaxed and not f.message.startswith("missing required")]


def validate_documents(
    docs: Sequence[dict[str, Any]],
    *,
    source: str,
    crd_dirs: Sequence[Path | str] | None = None,
    kube_version: str | None = None,
) -> list[Finding]:
    """Findings for every document (empty list: all valid). crd_dirs None = aimgen.paths.default_crd_dirs();
    kube_version None = the newest Kubernetes version kubernetes-validate ships (X.Y otherwise).

    Raises EnvironmentProblem (exit 4) when a needed schema source is missing: a named CRD directory,
    kubernetes-validate, or any CRD directory at all while a document needs one.
    """
    from aimgen.paths import default_crd_dirs
    from aimgen.validate.kubernetes import builtin_schemas, is_builtin_group

    if crd_dirs is not None:
        missing = [str(d) for d in crd_dirs if not Path(d).is_dir()]
        if missing:
            raise EnvironmentProblem(f"CRD directory {missing[0]} does not exist; pass --crds with a folder of "
                                     "CustomResourceDefinitions (e.g. ../shared/kserve/v0.20.0/crds)")
    crds = crd_index(default_crd_dirs() if crd_dirs is None else crd_dirs)
    findings: list[Finding] = []
    seen: dict[tuple[str, str, str, str], str] = {}
    for index, doc in enumerate(docs, start=1):
        label = document_label(doc, index)
        api_version, kind = doc.get("apiVersion"), doc.get("kind")
        if not isinstance(api_version, str) or not api_version or not isinstance(kind, str) or not kind:
            message = "every document needs string apiVersion and kind (e.g. apiVersion: v1, kind: Service)"
            findings.append(Finding(ERROR, DOC_SHAPE, source, label, message))
            continue
        for path, message in metadata_problems(kind, doc.get("metadata")):
            findings.append(Finding(ERROR, META, source, _where(label, path), message))
        for path, message in manifest_problems(doc):
            findings.append(Finding(ERROR, API_RULES, source, _where(label, path), message))
        identity = _identity(doc)
        if identity in seen:
            message = f"the same object is defined twice (first as {seen[identity]}); the later one would replace it"
            findings.append(Finding(ERROR, DOC_DUPLICATE, source, label, message))
        elif identity:
            seen[identity] = f"document {index}"

        validator, found = crds.validator(api_version, kind)
        if validator is not None:
            if found.deprecated:
                message = f"{api_version} is deprecated in the CRD {found.file}"
                findings.append(Finding(WARNING, DOC_DEPRECATED, source, label, message))
            findings += _schema_findings(validator, doc, CRD_SCHEMA, source, label)
            findings += _merged_spec_findings(crds, doc, api_version, kind, source, label)
            continue
        if found is not None:  # the CRD exists but not this version
            findings.append(Finding(ERROR, DOC_VERSION, source, label, found.problem))
            continue
        group = api_version.rpartition("/")[0]
        if is_builtin_group(group) and not crds.has_group(group):
            builtin = builtin_schemas(kube_version)
            validator = builtin.validator(api_version, kind)
            if validator is not None:
                findings += _schema_findings(validator, doc, K8S_SCHEMA, source, label)
                continue
            others = [v for v in builtin.api_versions_of(kind) if v != api_version]
            message = f"{api_version} {kind} is not a Kubernetes {builtin.kube_version} API" + (
                f"; use apiVersion {' or '.join(others)}" if others else " and no CRD defines it"
            )
            findings.append(Finding(ERROR, DOC_UNKNOWN_KIND, source, label, message))
            continue
        if not crds.dirs:
            raise EnvironmentProblem(
                f"{source}: {label} is a custom resource ({api_version}) but no CRD directories were found; "
                "run `make shared` (scripts/fetch_shared.py), set AIM_SHARED_DIR, or pass --crds DIR"
            )
        findings.append(Finding(ERROR, DOC_UNKNOWN_KIND, source, label, _unknown_kind_message(api_version, kind, crds)))
    from aimgen.validate.llmisvc_pod import llmisvc_findings

    from aimgen.validate.llmisvc_children import children_findings

    plain = [d for d in docs if isinstance(d, dict)]
    findings += llmisvc_findings(plain, source)
    findings += children_findings(plain, crds, source)
    return findings

