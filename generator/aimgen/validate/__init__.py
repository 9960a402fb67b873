"""Offline validation of manifests: CRD schemas made strict, Kubernetes built-in schemas, metadata rules.

Public entry points (import from the submodules; this package imports nothing heavy):
- documents.validate_documents(docs, source=..., crd_dirs=None, kube_version=None) -> list[Finding]
- documents.load_yaml_documents(text, source) -> list[dict]
- files.validate_files(paths, crd_dirs=None, kube_version=None) -> ValidationReport
- report.emit_findings(findings)
"""
