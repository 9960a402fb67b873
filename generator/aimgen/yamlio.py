"""YAML in and out: loading keeps line numbers for error messages and refuses hostile documents (alias bombs,
endless nesting) before building them; dumping is stable and block-styled."""

from __future__ import annotations

import re
from typing import Any

import yaml

from aimgen.errors import InvalidInput

Path_ = tuple  # a path of keys / indexes into a loaded document

# Limits for every YAML (and JSON) input. Helm's decoder refuses a 1 KB "billion laughs" in well under a second;
# so must we. Our largest real inputs (the model catalog, a rendered release of several models) are ~100 KB,
# a few thousand nodes and under 40 levels deep, so these leave a wide margin.
MAX_DOCUMENT_CHARS = 8 * 1024 * 1024
MAX_NODES = 1_000_000  # every scalar and collection, counted as if each alias were written out in full
MAX_ALIAS_NODES = 100_000  # of those, reached through aliases
MAX_DEPTH = 100  # nested collections
MAX_NUMBER_DIGITS = 4300  # Python refuses to convert longer integers (sys.get_int_max_str_digits)
_NUMBERISH = re.compile(r"[-+]?[0-9][0-9a-fA-FxXoObB_:.]*")  # what YAML 1.1 may resolve to an int (hex, 1:30)


def check_limits(text: str, source: str) -> None:
    """Refuse, from the parser's event stream and before anything is built, a stream that is too large, nests
    too deep, expands its aliases past the limits, or has an alias inside its own anchor (an endless document).
    Linear in the text: an anchor's expanded size is known when its collection ends, so an alias costs one
    addition however much it stands for."""
    if len(text) > MAX_DOCUMENT_CHARS:
        raise InvalidInput(f"document is larger than {MAX_DOCUMENT_CHARS // (1024 * 1024)} MiB; is this the right file?",
                           file=source)
    sizes: dict[str, int] = {}  # anchor → nodes it expands to
    open_sizes: list[int] = []  # one counter per open collection
    open_anchors: list[str | None] = []
    nodes = via_aliases = 0
    try:
        for event in yaml.parse(text, Loader=_LineLoader):
            if isinstance(event, yaml.AliasEvent):
                if event.anchor in open_anchors:
                    raise _limit(event, f"alias *{event.anchor} refers to the collection it is inside (an endless "
                                        "document); write the value out")
                count = sizes.get(event.anchor, 1)  # an undefined alias: the composer reports it below
                via_aliases += count
                if via_aliases > MAX_ALIAS_NODES:
                    raise _limit(event, f"aliases expand to more than {MAX_ALIAS_NODES:,} nodes (a YAML alias "
                                        "bomb?); write the values out or use fewer aliases")
            elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                open_sizes.append(1)
                open_anchors.append(event.anchor)
                if len(open_sizes) > MAX_DEPTH:
                    raise _limit(event, f"nested deeper than {MAX_DEPTH} levels")
                nodes += 1
                continue
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                count = open_sizes.pop()
                anchor = open_anchors.pop()
                if anchor is not None:
                    sizes[anchor] = count
                if open_sizes:
                    open_sizes[-1] += count
                continue
            elif isinstance(event, yaml.ScalarEvent):
                count = 1
                if not event.style and len(event.value) > MAX_NUMBER_DIGITS and _NUMBERISH.fullmatch(event.value):
                    raise _limit(event, f"a number of more than {MAX_NUMBER_DIGITS:,} digits")
                if event.anchor is not None:
                    sizes[event.anchor] = 1
            else:
                continue
            nodes += count
            if open_sizes:
                open_sizes[-1] += count
            if nodes > MAX_NODES:
                raise _limit(event, f"more than {MAX_NODES:,} values (aliases counted in full)")
    except yaml.YAMLError:
        return  # a syntax error: the loader reports it with its line


def load_json(text: str, source: str) -> Any:
    """A JSON document under the same limits as YAML: size, and nesting (checked without recursion after the
    decoder, whose own recursion limit a deep document reaches first)."""
    import json

    if len(text) > MAX_DOCUMENT_CHARS:
        raise InvalidInput(f"document is larger than {MAX_DOCUMENT_CHARS // (1024 * 1024)} MiB", file=source)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"line {exc.lineno}: not valid JSON: {exc.msg}", file=source) from None
    except RecursionError:
        raise InvalidInput(f"nested deeper than {MAX_DEPTH} levels", file=source) from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise InvalidInput(f"not valid JSON: {str(exc).splitlines()[0]}", file=source) from None
    stack = [(data, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InvalidInput(f"nested deeper than {MAX_DEPTH} levels", file=source)
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return data


def _limit(event: yaml.Event, message: str) -> InvalidInput:
    return InvalidInput(f"line {event.start_mark.line + 1}: {message}")


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


def _plain(value: Any) -> bool:
    """Whether JSON gives this value back unchanged (str keys; str, int, float, bool, None, list, dict)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if not all(isinstance(k, str) for k in item):
                return False
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif not (item is None or isinstance(item, (str, int, float))):
            return False
    return True


def _parsed_path(text: str):
    import hashlib

    from aimgen.paths import user_cache_dir

    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return user_cache_dir() / "yaml-parsed" / digest[:2] / f"{digest}.json"


def load_with_lines(text: str, source: str, remember: bool = False) -> tuple[Any, dict[Path_, int]]:
    """Parse one YAML document; return the data and a map from key path to 1-based line. With `remember` (a file
    aimgen ships, paths.shipped()), a document that parsed before is read back from $XDG_CACHE_HOME/aimgen/
    yaml-parsed (JSON keyed by the text's SHA-256): the catalog and recipes are the same on every run, and parsing
    them is most of a cold `aimgen render` after start-up. Only what parsed cleanly and survives JSON unchanged is
    kept; a document with a problem is parsed each time."""
    if not remember:
        return _load_with_lines(text, source)
    import json

    cached = _parsed_path(text)
    try:
        kept = json.loads(cached.read_text())
        return kept["data"], {tuple(path): line for path, line in kept["lines"]}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    data, lines = _load_with_lines(text, source)
    if _plain(data):
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".{id(lines)}.tmp")
            tmp.write_text(json.dumps({"data": data, "lines": [[list(k), v] for k, v in lines.items()]}))
            tmp.replace(cached)
        except (OSError, ValueError, TypeError):
            pass  # a read-only home only costs the next run the parse
    return data, lines


def _load_with_lines(text: str, source: str) -> tuple[Any, dict[Path_, int]]:
    lines: dict[Path_, int] = {}
    try:
        check_limits(text, source)
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
