"""metadata rules the API server applies to every object, built-in or custom: names, namespaces, labels.

The JSON schemas only say these are strings; the syntax rules (apimachinery's validation.IsDNS1123Subdomain,
IsQualifiedName, IsValidLabelValue) live in Go code, so they are restated here with messages that say what
would be valid.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_QUALIFIED_NAME_PART = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")

LABEL_MAX = 63
SUBDOMAIN_MAX = 253
ANNOTATIONS_MAX_BYTES = 256 * 1024

# Kinds whose names must be stricter than a DNS-1123 subdomain. Service: the name becomes a DNS label.
# Namespace: a label. InferenceService: KServe's webhook requires a DNS-1035 label (the name prefixes
# Services and hostnames it creates).
_DNS1035_KINDS = {"Service", "InferenceService"}
_DNS1123_LABEL_KINDS = {"Namespace"}


def _subdomain_problem(value: str) -> str | None:
    if len(value) > SUBDOMAIN_MAX:
        return f"is {len(value)} characters, at most {SUBDOMAIN_MAX} allowed"
    if not _DNS1123_SUBDOMAIN.fullmatch(value):
        return "must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending alphanumeric"
    return None


def _label_problem(value: str, pattern: re.Pattern[str], what: str) -> str | None:
    if len(value) > LABEL_MAX:
        return f"is {len(value)} characters, at most {LABEL_MAX} allowed"
    if not pattern.fullmatch(value):
        return f"must be a {what}"
    return None


def name_problem(kind: str, name: str) -> str | None:
    """Why `name` is not a valid metadata.name for `kind`, or None."""
    if kind in _DNS1035_KINDS:
        what = "DNS-1035 label: lowercase letters, digits and '-', starting with a letter, ending alphanumeric"
        return _label_problem(name, _DNS1035_LABEL, what)
    if kind in _DNS1123_LABEL_KINDS:
        what = "DNS-1123 label: lowercase letters, digits and '-', alphanumeric at both ends"
        return _label_problem(name, _DNS1123_LABEL, what)
    return _subdomain_problem(name)


def qualified_key_problem(key: str) -> str | None:
    """Label and annotation keys: optional DNS-subdomain prefix + '/' + a name of at most 63 characters."""
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or _subdomain_problem(prefix)):
        return "prefix before '/' must be a DNS-1123 subdomain (e.g. 'example.com/name')"
    if not name or len(name) > LABEL_MAX or not _QUALIFIED_NAME_PART.fullmatch(name):
        return (
            f"name part must be 1-{LABEL_MAX} characters of letters, digits, '-', '_' or '.', "
            "starting and ending alphanumeric"
        )
    return None


def label_value_problem(value: str) -> str | None:
    if value == "":
        return None
    if len(value) > LABEL_MAX or not _QUALIFIED_NAME_PART.fullmatch(value):
        return (
            f"label values are empty or 1-{LABEL_MAX} characters of letters, digits, '-', '_' or '.', "
            "starting and ending alphanumeric"
        )
    return None


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
    if isinstance(namespace, str) and (problem := _label_problem(namespace, _DNS1123_LABEL, "DNS-1123 label")):
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
