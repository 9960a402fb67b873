"""Check loaded data against one of our JSON Schemas (schemas/*.schema.json), as findings with lines."""

from __future__ import annotations

import difflib
import json
from functools import lru_cache
from typing import Any

import jsonschema

from aimgen import paths
from aimgen.findings import ERROR, Finding, json_path
from aimgen.yamlio import line_of


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict:
    path = paths.schemas_dir() / f"{name}.schema.json"
    return json.loads(path.read_text())


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


def check(data: Any, schema_name: str, source: str, lines: dict | None = None, code: str = "SCHEMA") -> list[Finding]:
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
