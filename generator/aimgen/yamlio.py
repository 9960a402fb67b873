"""YAML in and out: loading keeps line numbers for error messages; dumping is stable and block-styled."""

from __future__ import annotations

from typing import Any

import yaml

from aimgen.errors import InvalidInput

Path_ = tuple  # a path of keys / indexes into a loaded document


class _LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """SafeLoader that remembers where every mapping value and sequence item starts."""


def _construct(loader: _LineLoader, node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if isinstance(key, list):
                key = tuple(key)
            if key in out:
                raise InvalidInput(
                    f"line {key_node.start_mark.line + 1}: duplicate key {key!r} (each key may appear once)"
                )
            out[key] = _construct(loader, value_node, path + (key,), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(loader, item, path + (i,), lines) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def load_with_lines(text: str, source: str) -> tuple[Any, dict[Path_, int]]:
    """Parse one YAML document; return the data and a map from key path to 1-based line."""
    lines: dict[Path_, int] = {}
    try:
        loader = _LineLoader(text)
        try:
            node = loader.get_single_node()
            data = None if node is None else _construct(loader, node, (), lines)
        finally:
            loader.dispose()
    except InvalidInput as exc:
        raise InvalidInput(exc.message, file=source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidInput(f"{where}YAML syntax error: {problem}", file=source) from None
    return data, lines


def line_of(lines: dict[Path_, int], path: Path_) -> int | None:
    """The line of the deepest known prefix of path (a missing key reports its parent's line)."""
    path = tuple(path)
    while True:
        if path in lines:
            return lines[path]
        if not path:
            return None
        path = path[:-1]


# libyaml's emitter when present (several times faster); the pure-Python one gives the same text otherwise.
class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
    # Manifests are read by people and by kubectl: a dict built once and placed twice is written out twice,
    # never as an &anchor / *alias pair.
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)


def dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000, allow_unicode=True)


def dump_all(docs: list[Any]) -> str:
    return yaml.dump_all(
        docs, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000, allow_unicode=True, explicit_start=True
    )
