"""Read multi-document manifest YAML the way the API server's decoder would object to it.

PyYAML alone silently keeps the last of two duplicate keys; the API server's strict decoding rejects them,
so they are reported here as syntax errors (one line, with the line number).
"""

from __future__ import annotations

from typing import Any

import yaml

from aimgen.errors import InvalidInput

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_Base):  # type: ignore[misc, valid-type]
    """Safe loader (libyaml when available) that refuses duplicate mapping keys."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    # Checked before merge keys (<<) are flattened: overriding a merged key is legitimate YAML.
    first_line: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            if key in first_line:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first at line {first_line[key]})", key_node.start_mark
                )
            first_line[key] = key_node.start_mark.line + 1
        except TypeError:  # unhashable key (a list as key): the constructor below reports it
            continue
    return loader.construct_mapping(node, deep=deep)


def _as_string(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    return loader.construct_scalar(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# Kubernetes decodes YAML into JSON, where an unquoted 2024-01-01T00:00:00Z stays a string, not a datetime.
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _as_string)
# A bare "=" resolves to YAML's obscure value tag, which PyYAML cannot construct; to JSON it is the string "=".
_StrictLoader.add_constructor("tag:yaml.org,2002:value", _as_string)


def _syntax_line(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    text = f"{context}: {problem}" if context and "duplicate key" not in problem else problem
    if mark is None:
        return f"YAML syntax error: {text}"
    return f"line {mark.line + 1}, column {mark.column + 1}: YAML syntax error: {text}"


def load_yaml_documents(text: str, source: str) -> list[dict]:
    """Every non-empty document of a YAML stream, each a mapping; raises InvalidInput (one line) otherwise."""
    from aimgen.yamlio import check_limits

    check_limits(text, source)  # an alias bomb is refused before it is built (and before it is validated)
    try:
        loaded = list(yaml.load_all(text, Loader=_StrictLoader))
    except yaml.YAMLError as exc:
        raise InvalidInput(_syntax_line(exc), file=source) from None
    docs: list[dict] = []
    for index, doc in enumerate(loaded, start=1):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise InvalidInput(
                f"document {index} is a {type(doc).__name__}, expected a mapping with apiVersion, kind and metadata",
                file=source,
            )
        docs.append(doc)
    return docs
