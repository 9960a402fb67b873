"""metadata rules the API server applies to every object, built-in or custom: names, namespaces, labels.

The JSON schemas only say these are strings; the syntax rules (apimachinery's validation.IsDNS1123Subdomain,
IsQualifiedName, IsValidLabelValue) are restated in apirules.py; this module applies them to metadata.
"""

from __future__ import annotations

from typing import Any, Iterator

from aimgen.validate.apirules import dns1035_label, dns1123_label, dns1123_subdomain, label_value, qualified_name

ANNOTATIONS_MAX_BYTES = 256 * 1024

# Kinds whose names must be stricter than a DNS-1123 subdomain. Service: the name becomes a DNS label.
# Namespace: a label. InferenceService: KServe's webhook requires a DNS-1035 label (the name prefixes
# Services and hostnames it creates).
_DNS1035_KINDS = {"Service", "InferenceService"}
_DNS1123_LABEL_KINDS = {"Namespace"}


def name_problem(kind: str, name: str) -> str | None:
    """Why `name` is not a valid metadata.name for `kind`, or None."""
    if kind in _DNS1035_KINDS:
        return dns1035_label(name)
    if kind in _DNS1123_LABEL_KINDS:
        return dns1123_label(name)
    return dns1123_subdomain(name)


def qualified_key_problem(key: str) -> str | None:
    """Label and annotation keys: optional DNS-subdomain prefix + '/' + a name of at most 63 characters."""
    return qualified_name(key)


def label_value_problem(value: str) -> str | None:
    problem = label_value(value)
    return f"label values are {problem.removeprefix('must be ')}" if problem else None


def metadata_problems(kind: str, metadata: Any) -> Iterator[tuple[str, str]]:
    """(field path, message) for each rule metadata breaks. Types are the schema's job, so non-strings are skipped."""
    if not isinstance(metadata, dict):
        return
    name = metadata.get("name")
    if name is None and not metadata.get("generateName"):
        yield "metadata.name", "required: every object needs a name (or generateName)"
    elif isinstance(name, str) and (problem := name_problem(kind, name)):
        yield "metadata.name", f"{name!r} {problem}"
    namespace = metadata.get("namespace")
    if isinstance(namespace, str) and (problem := dns1123_label(namespace)):
        yield "metadata.namespace", f"{namespace!r} {problem}"
    labels = metadata.get("labels")
    if isinstance(labels, dict):
        for key, value in labels.items():
            if isinstance(key, str) and (problem := qualified_key_problem(key)):
                yield f"metadata.labels[{key!r}]", f"label key {key!r}: {problem}"
            if isinstance(value, str) and (problem := label_value_problem(value)):
                yield f"metadata.labels[{key!r}]", f"{value!r}: {problem}"
    annotations = metadata.get("annotations")
    if isinstance(annotations, dict):
        total = 0
        for key, value in annotations.items():
            if isinstance(key, str):
                total += len(key.encode())
                if problem := qualified_key_problem(key):
                    yield f"metadata.annotations[{key!r}]", f"annotation key {key!r}: {problem}"
            if isinstance(value, str):
                total += len(value.encode())
        if total > ANNOTATIONS_MAX_BYTES:
            yield "metadata.annotations", f"annotations total {total} bytes, at most {ANNOTATIONS_MAX_BYTES} allowed"
