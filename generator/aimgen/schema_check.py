"""Check loaded data against one of our JSON Schemas (schemas/*.schema.json), as findings with lines."""

from __future__ import annotations

import difflib
import hashlib
import json
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aimgen import paths
from aimgen.findings import ERROR, Finding, json_path
from aimgen.yamlio import line_of

if TYPE_CHECKING:
    import jsonschema


@lru_cache(maxsize=None)
def _schema_text(name: str) -> str:
    return (paths.schemas_dir() / f"{name}.schema.json").read_text()


def load_schema(name: str) -> dict:
    return json.loads(_schema_text(name))


def _passed_marker(data: Any, schema_name: str):
    """Where a document that passed this schema is remembered, keyed by both contents: importing jsonschema is
    most of a cold `aimgen render`'s start-up, and the catalog it checks is the same on every run. Any change to
    the document or the schema is a new key; a document with findings is never remembered."""
    try:
        text = json.dumps(data, sort_keys=True, default=repr)
    except (TypeError, ValueError, RecursionError):
        return None
    digest = hashlib.sha256(f"{schema_name}\0{_schema_text(schema_name)}\0{text}".encode()).hexdigest()
    return paths.user_cache_dir() / "schema-passed" / digest[:2] / digest


def _unknown_keys(error: jsonschema.ValidationError) -> list[str]:
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return []
    return sorted(set(error.instance) - set(error.schema.get("properties", {})), key=str)


def _describe(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = _unknown_keys(error)
        close = difflib.get_close_matches(str(extra[0]), allowed, n=1) if extra else []
        hint = f"; did you mean {close[0]!r}?" if close else ""
        names = ", ".join(repr(e) for e in extra)
        return f"unknown field {names}{hint} (allowed: {', '.join(allowed)})"
    if error.validator == "enum":
        return f"{error.instance!r} is not one of: {', '.join(map(str, error.validator_value))}"
    if error.validator == "required":
        return error.message.replace("is a required property", "is required")
    if error.validator == "type":
        return f"{error.instance!r} should be of type {error.validator_value}"
    return error.message


def known_valid(marker) -> bool:
    return marker is not None and marker.is_file()


def remember_valid(marker) -> None:
    if marker is None:
        return
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:
        pass  # a read-only home only costs the next run the check


def passed_marker(data: Any, schema_name: str, remember: bool):
    """Where a shipped document's pass is remembered (None: not one to remember, see paths.shipped())."""
    return _passed_marker(data, schema_name) if remember else None


def check(data: Any, schema_name: str, source: str, lines: dict | None = None, code: str = "SCHEMA",
          remember: bool = False) -> list[Finding]:
    marker = passed_marker(data, schema_name, remember)
    if known_valid(marker):
        return []
    findings = _check(data, schema_name, source, lines, code)
    if not findings:
        remember_valid(marker)
    return findings


def _check(data: Any, schema_name: str, source: str, lines: dict | None, code: str) -> list[Finding]:
    import jsonschema

    schema = load_schema(schema_name)
    validator = jsonschema.Draft202012Validator(schema)
    findings = []
    for error in sorted(validator.iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), e.message)):
        # oneOf/anyOf report their most specific sub-error: that names the field a user got wrong.
        best = jsonschema.exceptions.best_match([error]) if error.context else error
        # An unknown key is reported where it stands, not at its parent.
        path = tuple(best.absolute_path) + tuple(_unknown_keys(best)[:1])
        line = line_of(lines or {}, path)
        where = f"{source}:{line}" if line else source
        findings.append(Finding(ERROR, code, where, json_path(path) or "(top)", _describe(best)))
    return findings
