"""Turn jsonschema errors into (field path, message) pairs that say what is wrong and what would be valid."""

from __future__ import annotations

import difflib
import re
from typing import Any, Iterator


# Patterns Kubernetes schemas repeat, described in words (the regex itself helps nobody).
QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
KNOWN_PATTERNS = {
    QUANTITY_PATTERN: "a Kubernetes quantity such as 8Gi, 512Mi, 2, 1.5 or 500m (binary suffixes Ki..Ei, decimal k..E)"
}
MAX_LISTED = 12  # list the allowed fields when there are at most this many; otherwise only near matches
_TYPE_NAMES = {"object": "a mapping", "array": "a list", "string": "a string", "integer": "an integer",
               "number": "a number", "boolean": "a boolean", "null": "null"}


def short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _got(value: Any) -> str:
    return "null" if value is None else f"{_kind_of(value)} {short(value)}"


def _kind_of(value: Any) -> str:
    for name, types in (("null", type(None)), ("boolean", bool), ("integer", int), ("number", float),
                        ("string", str), ("list", list), ("mapping", dict)):
        if isinstance(value, types):
            return name
    return type(value).__name__


def _expected(types: Any) -> str:
    names = [types] if isinstance(types, str) else list(types)
    return " or ".join(_TYPE_NAMES.get(t, t) for t in names)


def _unknown_fields(error: Any, base: str) -> Iterator[tuple[str, str]]:
    allowed = sorted(error.schema.get("properties", {}))
    patterns = error.schema.get("patternProperties", {})
    for field in sorted(error.instance, key=str):
        if field in allowed or any(re.search(p, str(field)) for p in patterns):
            continue
        near = difflib.get_close_matches(str(field), allowed, n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(repr(n) for n in near)}?" if near else ""
        if not allowed:
            listing = " (no fields allowed here)"
        elif len(allowed) <= MAX_LISTED:
            listing = f" (allowed: {', '.join(allowed)})"
        else:
            listing = f" ({len(allowed)} fields allowed here)" if not near else ""
        yield _join(base, str(field)), f"unknown field {field!r}{hint}{listing}"


_PLAIN_KEY = re.compile(r"[A-Za-z_$][-A-Za-z0-9_$]*")


def _join(base: str, key: str) -> str:
    """a.b for plain keys, a['amd.com/gpu'] for keys with dots or slashes (label keys, resource names)."""
    if _PLAIN_KEY.fullmatch(key):
        return f"{base}.{key}" if base else key
    return f"{base}[{key!r}]"


def field_path(parts: Any) -> str:
    out = ""
    for part in parts:
        out = f"{out}[{part}]" if isinstance(part, int) else _join(out, str(part))
    return out


def _pattern_message(value: Any, pattern: str) -> str:
    if pattern in KNOWN_PATTERNS:
        return f"{short(value)} is not {KNOWN_PATTERNS[pattern]}"
    return f"{short(value)} does not match the pattern {pattern}"


def _size(value: Any) -> int:
    return len(value) if isinstance(value, (str, list, dict)) else 0


_BOUNDS = {
    "maxLength": lambda v, n: f"{short(v)} is {_size(v)} characters, at most {n} allowed",
    "minLength": lambda v, n: f"{short(v)} is {_size(v)} characters, at least {n} required",
    "maxItems": lambda v, n: f"has {_size(v)} items, at most {n} allowed",
    "minItems": lambda v, n: f"has {_size(v)} items, at least {n} required",
    "maxProperties": lambda v, n: f"has {_size(v)} fields, at most {n} allowed",
    "minProperties": lambda v, n: f"has {_size(v)} fields, at least {n} required",
    "maximum": lambda v, n: f"{short(v)} is above the maximum {n}",
    "minimum": lambda v, n: f"{short(v)} is below the minimum {n}",
    "exclusiveMaximum": lambda v, n: f"{short(v)} must be below {n}",
    "exclusiveMinimum": lambda v, n: f"{short(v)} must be above {n}",
}


def describe(error: Any) -> Iterator[tuple[str, str]]:
    """(path, message) for one jsonschema ValidationError (some expand to several, e.g. unknown fields)."""
    path = field_path(error.absolute_path)
    validator = error.validator
    value = error.validator_value
    if validator == "additionalProperties" and value is False and isinstance(error.instance, dict):
        yield from _unknown_fields(error, path)
    elif validator == "type":
        yield path, f"expected {_expected(value)}, got {_got(error.instance)}"
    elif validator == "required":
        missing = error.message.split("'")[1] if error.message.count("'") >= 2 else error.message
        yield path, f"missing required field {missing!r}"
    elif validator == "enum":
        choices = ", ".join(short(c, 30) for c in value)
        yield path, f"{short(error.instance)} is not one of: {choices}"
    elif validator == "const":
        yield path, f"{short(error.instance)} must be {value!r}"
    elif validator == "pattern":
        yield path, _pattern_message(error.instance, value)
    elif validator in ("anyOf", "oneOf"):
        types = [s.get("type") for s in value if isinstance(s, dict) and set(s) == {"type"}]
        if len(types) == len(value):
            yield path, f"expected {_expected(types)}, got {_got(error.instance)}"
        elif known := [s["pattern"] for s in value if isinstance(s, dict) and s.get("pattern") in KNOWN_PATTERNS]:
            yield path, _pattern_message(error.instance, known[0])
        else:
            reasons = sorted({m for sub in error.context for _, m in describe(sub)})[:3]
            detail = f": {'; '.join(reasons)}" if reasons else ""
            yield path, f"{short(error.instance)} matches none of the allowed forms{detail}"
    elif validator in _BOUNDS:
        yield path, _BOUNDS[validator](error.instance, value)
    else:
        yield path, error.message if len(error.message) < 300 else error.message[:297] + "..."
