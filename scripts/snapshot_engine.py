#!/usr/bin/env python3
"""Snapshot what an installed engine accepts and exports: CLI options, declared env vars, metric names.

Runs with the *engine's* interpreter (a throw-away venv holding the engine installed with --no-deps plus
the few packages its argument parser imports; see scripts/test-engines.sh), never with aimgen's. Stdlib
only, apart from the engine itself and pyyaml (a dependency of both engines) for `parse-recipes`.

  snapshot_engine.py --engine vllm requirements --deps FILE   requirement lines for the parser's imports,
                                                               with the specifiers the engine declares
  snapshot_engine.py --engine vllm snapshot --out FILE        write the JSON snapshot
  snapshot_engine.py --engine vllm parse-recipes --recipes DIR [--runtime NAME --default-runtime NAME]
                                                               parse every recipe profile of that backend
                                                               (with --runtime: only those that run on it)
                                                               with the real parser; check its env

Where the options come from:
  vllm    `make_arg_parser`, the function `vllm serve` builds its sub-parser with (located by reading
          vllm/entrypoints/cli/serve.py's imports; it moved between releases), on a FlexibleArgumentParser;
          env vars from `vllm.envs.environment_variables`.
  sglang  `sglang.srt.server_args.ServerArgs.add_cli_args` on a plain ArgumentParser, as
          `prepare_server_args` does; env vars from the `sglang.srt.environ.Envs` fields plus every
          SGLANG_*/SGL_* name the package's source reads (SGLang also reads many through
          get_bool_env_var). ONE STUB: `torchvision`. sglang.srt.utils.common imports
          torchvision.io.decode_jpeg at module level (image decoding, unrelated to arguments), and the
          only torchvision wheels on PyPI are built against CUDA torch, which fails to import beside the
          CPU torch this machine has. A meta-path stub answers that import; nothing in the option list
          goes through it.
Metric names are read from the engine's source with `ast` (most metric modules need a GPU to import):
every Gauge/Counter/Histogram constructor, vLLM's self._gauge_cls(...) indirections and metadata
objects keyed by a metric-name constant. VLLM_TARGET_DEVICE=cpu only lets vLLM import without a GPU.

Registered names of options whose values argparse does not restrict (`registries`): vLLM's
--tool-call-parser and --reasoning-parser take any string on the command line and are looked up at start-up
in ToolParserManager / ReasoningParserManager (`list_registered()`: names registered eagerly with
`register_module(...)` plus the lazy name -> (module, class) table). The parser modules need a GPU to import,
so the names are read with `ast` from every `<Manager>.register_lazy_module(...)` / `register_module(...)`
call in the package, including the loops over a module-level `{name: (module, class)}` dict; when the
manager itself imports (it needs only torch), its `list_registered()` must give the same names, or the
snapshot fails. SGLang lists its parsers as argparse choices, so its `registries` is empty.

Snapshot format (JSON, SCHEMA_VERSION): schema_version, engine, engine_version, generated_by, parser,
positionals, options [{flags, dest, kind, type, optional, nargs, choices, default, deprecated, group, help,
normalize?, const?}], env_prefixes, env [{name, default, ...}], metrics {families [{name, type, series,
modules}], series}, registries {"--flag": {registry, names, modules, plugin_flag}}: plugin_flag is the option
that loads a plugin able to register further names.
"""

from __future__ import annotations

import argparse
import ast
import enum
import importlib
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1

# Cleared before the engine is imported so that env-derived defaults do not depend on who runs the script.
_PLACEHOLDER_HOME = "/nonexistent-home"
_METRIC_PREFIX = {"vllm": "vllm:", "sglang": "sglang:"}
_engine = "vllm"


def _metric_name_re() -> re.Pattern:
    return re.compile("^" + re.escape(_METRIC_PREFIX[_engine]) + r"[a-zA-Z_][a-zA-Z0-9_]*$")


# ----------------------------------------------------------------------------------------------------
# requirements
# ----------------------------------------------------------------------------------------------------

def _dist_name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;(]", requirement.strip(), maxsplit=1)[0]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def cmd_requirements(args: argparse.Namespace) -> int:
    from importlib import metadata

    wanted = []
    for line in Path(args.deps).read_text().splitlines():
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        # "NAME --no-deps": install without its own dependencies (xgrammar would pull a 1 GB triton).
        if ("--no-deps" in words[1:]) == (args.select == "no-deps"):
            wanted.append(words[0])
    declared = {}
    for req in metadata.requires(_engine) or []:
        if "extra ==" in req:
            continue
        declared.setdefault(_canonical(_dist_name(req)), req)
    missing = []
    for name in wanted:
        # The engine's own specifier wins, so the parser runs against the versions it was released with;
        # extras come from our list only (fastapi[standard] would pull a web server the parser never uses).
        req = declared.get(_canonical(_dist_name(name)))
        if req is None:
            missing.append(name)
            print(name)
            continue
        extras = re.match(r"^[^\[]*(\[[^\]]*\])?", name).group(1) or ""
        print(re.sub(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?", lambda m: m.group(1) + extras, req, count=1))
    if missing:
        print(f"note: not declared by {_engine} {metadata.version(_engine)}, installed unpinned: {missing}",
              file=sys.stderr)
    return 0


# ----------------------------------------------------------------------------------------------------
# engine adapters: importing the real parser and env declarations
# ----------------------------------------------------------------------------------------------------

def _prepare_environment(prefixes: tuple[str, ...], keep: tuple[str, ...] = ()) -> None:
    for name in list(os.environ):
        if (name.startswith(prefixes) and name not in keep) or name.startswith("XDG_"):
            del os.environ[name]
    os.environ["HOME"] = _PLACEHOLDER_HOME


def _stub_packages(roots: set[str]) -> None:
    """Answer `import <root>[.anything]` with modules whose every attribute is an inert class."""
    import importlib.abc
    import importlib.machinery
    import types

    class _Meta(type):
        def __getattr__(cls, name):
            if name.startswith("__"):
                raise AttributeError(name)
            return _Inert()

    class _Inert(metaclass=_Meta):
        def __init__(self, *args, **kwargs):
            pass

        def __call__(self, *args, **kwargs):
            raise RuntimeError("stubbed in the snapshot venv")

        def __getattr__(self, name):
            return _Inert()

    class _Module(types.ModuleType):
        def __getattr__(self, name):
            if name.startswith("__"):
                raise AttributeError(name)
            return type(name, (_Inert,), {})

    class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, fullname, path=None, target=None):
            if fullname.split(".")[0] in roots:
                return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
            return None

        def create_module(self, spec):
            return _Module(spec.name)

        def exec_module(self, module):
            module.__path__ = []
            # transformers >= 5.12 parses the version of every package it finds importable
            # (is_torchvision_greater_or_equal): the stub gives one no real release has.
            module.__version__ = "0.0.0+stub"

    sys.meta_path.insert(0, _Finder())


class _InstalledEngine:
    """An engine installed in this interpreter (the throw-away venv): its version is the installed one."""

    from_source = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "_InstalledEngine":
        return cls()

    def version(self) -> str:
        from importlib import metadata

        return metadata.version(self.engine)

    def metric_families(self) -> list[dict]:
        return metric_families(self.package_dir())

    def registries(self, options: list[dict]) -> dict[str, dict]:
        return {}


class VllmAdapter(_InstalledEngine):
    engine = "vllm"

    def prepare(self, want_help: bool) -> None:
        _prepare_environment(("VLLM_",), keep=("VLLM_TARGET_DEVICE",))
        os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")
        # vLLM collects option help text only when it sees --help on the command line.
        sys.argv = [sys.argv[0], "serve", "--help"] if want_help else [sys.argv[0]]

    def _make_arg_parser(self):
        import importlib.util

        spec = importlib.util.find_spec("vllm.entrypoints.cli.serve")
        candidates = []
        if spec and spec.origin:
            tree = ast.parse(Path(spec.origin).read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module and \
                        any(a.name == "make_arg_parser" for a in node.names):
                    candidates.append(node.module)
        candidates += ["vllm.entrypoints.common.cli_args", "vllm.entrypoints.launchers.cli_args",
                       "vllm.entrypoints.openai.cli_args"]
        errors = []
        for module in candidates:
            try:
                return module, importlib.import_module(module).make_arg_parser
            except (ImportError, AttributeError) as exc:
                errors.append(f"{module}: {exc}")
        raise SystemExit("cannot import vLLM's make_arg_parser: " + "; ".join(errors))

    def build_parser(self) -> tuple[str, argparse.ArgumentParser, set[int]]:
        from vllm.utils.argparse_utils import FlexibleArgumentParser

        module, make_arg_parser = self._make_arg_parser()
        parser = make_arg_parser(FlexibleArgumentParser(prog="vllm serve"))
        deprecated = {id(a) for a in getattr(FlexibleArgumentParser, "_deprecated", set())}
        return f"{module}.make_arg_parser", parser, deprecated

    def env(self) -> list[dict]:
        import vllm.envs as envs

        return _getter_env(envs.environment_variables)

    def env_prefixes(self) -> tuple[str, ...]:
        return ("VLLM_",)

    def package_dir(self) -> Path:
        import vllm

        return Path(vllm.__file__).parent

    def recipe_argv(self, model: str, flags: list[str]) -> list[str]:
        return [model, *flags]

    def check_env(self, name: str) -> str | None:
        import vllm.envs as envs

        return _check_getter(envs.environment_variables, name, self.env_prefixes(), "vllm/envs.py")

    def registries(self, options: list[dict]) -> dict[str, dict]:
        return vllm_registries(self.package_dir(), options)


class SglangAdapter(_InstalledEngine):
    engine = "sglang"

    def prepare(self, want_help: bool) -> None:
        _prepare_environment(("SGLANG_", "SGL_"))
        _stub_packages({"torchvision"})
        sys.argv = [sys.argv[0]]

    def build_parser(self) -> tuple[str, argparse.ArgumentParser, set[int]]:
        from sglang.srt.server_args import ServerArgs

        parser = argparse.ArgumentParser(prog="sglang serve")
        ServerArgs.add_cli_args(parser)
        return "sglang.srt.server_args.ServerArgs.add_cli_args", parser, set()

    def _fields(self) -> dict[str, Any]:
        from sglang.srt.environ import EnvField, Envs

        return {name: f for name, f in vars(Envs).items() if isinstance(f, EnvField)}

    def env(self) -> list[dict]:
        out = {}
        for name, field in self._fields().items():
            out[name] = {"name": name, "default": _jsonable(field.default), "declared_in": "environ.py",
                         "type": type(field).__name__}
        for name in sorted(_source_names(self.package_dir(), re.compile(r"^(SGLANG|SGL)_[A-Z0-9_]+$"))):
            out.setdefault(name, {"name": name, "default": None, "declared_in": "source"})
        return [out[k] for k in sorted(out)]

    def env_prefixes(self) -> tuple[str, ...]:
        return ("SGLANG_", "SGL_")

    def package_dir(self) -> Path:
        import sglang

        return Path(sglang.__file__).parent

    def recipe_argv(self, model: str, flags: list[str]) -> list[str]:
        return ["--model-path", model, *flags]

    def check_env(self, name: str) -> str | None:
        fields = self._fields()
        if name in fields:
            try:
                fields[name].get()
            except Exception as exc:
                return f"{type(exc).__name__}: {exc}"
            return None
        if name.startswith(self.env_prefixes()) and name not in _source_names(
                self.package_dir(), re.compile(r"^(SGLANG|SGL)_[A-Z0-9_]+$")):
            return "not read anywhere in sglang's source"
        return None


def _getter_env(getters: dict[str, Any]) -> list[dict]:
    """Env entries of a {NAME: getter} table (vllm/envs.py, atom/utils/envs.py): default and choices."""
    out = []
    for name, getter in getters.items():
        entry: dict[str, Any] = {"name": name, "default": _env_default(name, getter)}
        entry.update(_env_choices(getter))
        out.append(entry)
    return sorted(out, key=lambda e: e["name"])


def _check_getter(getters: dict[str, Any], name: str, prefixes: tuple[str, ...], declared_in: str) -> str | None:
    """None if the engine's getter accepts the value now in os.environ, else why not."""
    getter = getters.get(name)
    if getter is None:
        return f"not declared by {declared_in}" if name.startswith(prefixes) else None
    try:
        getter()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


ADAPTERS = {"vllm": VllmAdapter, "sglang": SglangAdapter}


_SOURCES: dict[Path, list[tuple[str, str]]] = {}
_TREES: dict[str, ast.Module | None] = {}


def _sources(package_dir: Path) -> list[tuple[str, str]]:
    """(path relative to the package's parent, text) of every non-test module, read once."""
    if package_dir not in _SOURCES:
        out = []
        for path in sorted(package_dir.rglob("*.py")):
            rel = path.relative_to(package_dir.parent).as_posix()
            if any(part in rel for part in ("/test/", "/tests/", "/benchmarks/")):
                continue
            out.append((rel, path.read_text(encoding="utf-8", errors="replace")))
        _SOURCES[package_dir] = out
    return _SOURCES[package_dir]


def _tree(rel: str, source: str) -> ast.Module | None:
    if rel not in _TREES:
        try:
            _TREES[rel] = ast.parse(source)
        except SyntaxError:
            _TREES[rel] = None
    return _TREES[rel]


def _source_names(package_dir: Path, pattern: re.Pattern, _cache: dict = {}) -> set[str]:
    """Every string constant matching `pattern` in the package's source (env var names it reads)."""
    key = (package_dir, pattern.pattern)
    if key not in _cache:
        names = set()
        prefixes = tuple(p for p in ("SGLANG_", "SGL_", "VLLM_") if p in pattern.pattern)
        for rel, source in _sources(package_dir):
            if prefixes and not any(p in source for p in prefixes):
                continue
            tree = _tree(rel, source)
            if tree is not None:
                names.update(n.value for n in ast.walk(tree)
                             if isinstance(n, ast.Constant) and isinstance(n.value, str) and pattern.match(n.value))
        _cache[key] = names
    return _cache[key]


# ----------------------------------------------------------------------------------------------------
# snapshot
# ----------------------------------------------------------------------------------------------------

def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else repr(value)
    if isinstance(value, enum.Enum):
        return _jsonable(value.value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_jsonable(v) for v in value), key=repr)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return f"<{type(value).__name__}>"


def _closure(fn: Any) -> dict[str, Any]:
    code = getattr(fn, "__code__", None)
    cells = getattr(fn, "__closure__", None) or ()
    if code is None:
        return {}
    out = {}
    for name, cell in zip(code.co_freevars, cells):
        try:
            out[name] = cell.cell_contents
        except ValueError:
            pass
    return out


def _env_default(name: str, getter: Any) -> Any:
    """The getter's value with the variable unset, twice: a default that changes between calls (a random
    shared-memory name) is recorded as <generated>, so the snapshot is reproducible."""
    saved = os.environ.get(name)
    values = []
    try:
        for _ in range(2):
            os.environ.pop(name, None)  # some getters write the default they generate back into os.environ
            try:
                values.append(_jsonable(getter()))
            except Exception as exc:  # a getter that needs other state: record that, not a value
                values.append(f"<error: {type(exc).__name__}>")
    finally:
        os.environ.pop(name, None)
        if saved is not None:
            os.environ[name] = saved
    return values[0] if values[0] == values[1] else "<generated>"


def _env_choices(getter: Any) -> dict[str, Any]:
    """Choices of vLLM's env_with_choices() getters, read from the getter's closure."""
    closure = _closure(getter)
    choices = closure.get("choices")
    if callable(choices):
        try:
            choices = choices()
        except Exception:
            return {}
    if not isinstance(choices, (list, tuple)):
        return {}
    return {"choices": [str(c) for c in choices], "case_sensitive": bool(closure.get("case_sensitive", True))}


def _type_name(fn: Any) -> tuple[str, bool]:
    """(value kind, accepts ''/None) for an argparse `type=` callable, unwrapping vLLM's wrappers."""
    if fn is None:
        return "str", False
    if fn in (int, float, str):
        return fn.__name__, False
    if fn is json.loads:
        return "json", False
    name = getattr(fn, "__name__", type(fn).__name__)
    if name == "_optional_type":
        inner, _ = _type_name(_closure(fn).get("return_type"))
        return inner, True
    if name == "_parse_type":
        return _type_name(_closure(fn).get("return_type"))
    if name == "parse_dataclass":
        return "json", False
    if name == "union_dict_and_str":
        return "json_or_str", True
    if name in ("human_readable_int", "human_readable_int_or_auto"):
        return name, False
    if isinstance(fn, type):
        return fn.__name__, False
    return "str", False


def _normalizer(fn: Any) -> str | None:
    """Whether a str converter folds case and dashes, found by calling the engine's own converter."""
    if fn is None or getattr(fn, "__name__", "") != "<lambda>":
        return None
    try:
        probe = fn("AB-C")
    except Exception:
        return None
    return {"ab_c": "lower_snake", "ab-c": "lower"}.get(probe) if isinstance(probe, str) else None


def _first_paragraph(text: str | None) -> str:
    if not text:
        return ""
    text = text.replace("%%", "%").strip()
    return " ".join(re.split(r"\n\s*\n", text, maxsplit=1)[0].split())


def _own_help(action: argparse.Action) -> str:
    """The engine's help text; Python 3.10's BooleanOptionalAction appends " (default: %(default)s)" of its
    own, which 3.11 dropped: left out, so the snapshot does not depend on the interpreter."""
    text = action.help if action.help is not argparse.SUPPRESS else ""
    if isinstance(action, argparse.BooleanOptionalAction) and text and sys.version_info < (3, 11):
        text = text.removesuffix(" (default: %(default)s)")
    return text or ""


def snapshot_options(parser: argparse.ArgumentParser, deprecated: set[int]) -> tuple[list[dict], list[dict]]:
    titles = {id(a): g.title or "" for g in parser._action_groups for a in g._group_actions}
    options, positionals = [], []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        kind = type(action).__name__
        if isinstance(action, argparse.BooleanOptionalAction):
            kind, value_type, optional = "boolean_optional", "bool", False
        elif isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
            kind, value_type, optional = "store_const_bool", "bool", False
        elif isinstance(action, argparse._StoreConstAction):
            kind, value_type, optional = "store_const", "none", False
        else:
            kind = {"_StoreAction": "store", "_AppendAction": "append"}.get(kind, "custom:" + kind)
            value_type, optional = _type_name(action.type)
        entry: dict[str, Any] = {"flags": list(action.option_strings), "dest": action.dest, "kind": kind,
                                 "type": value_type, "optional": optional}
        normalize = _normalizer(action.type)
        if normalize:
            entry["normalize"] = normalize
        entry["nargs"] = action.nargs
        if action.nargs == "?" and action.const is not None:
            entry["const"] = _jsonable(action.const)
        entry["choices"] = (
            sorted((_jsonable(c) for c in action.choices if c is not None), key=str) if action.choices else None
        )
        entry["default"] = _jsonable(action.default) if action.default is not argparse.SUPPRESS else None
        entry["deprecated"] = (id(action) in deprecated or bool(getattr(action, "deprecated", False))
                               or "Deprecated" in type(action).__name__)
        entry["group"] = titles.get(id(action), "")
        entry["help"] = _first_paragraph(_own_help(action))
        if action.option_strings:
            options.append(entry)
        else:
            del entry["flags"]
            positionals.append(entry)
    options.sort(key=lambda o: o["flags"][0])
    return options, positionals


# Metric constructors: prometheus_client classes and vLLM's indirections (self._gauge_cls(...), ...).
_METRIC_CALLS = {
    "Gauge": "gauge", "_gauge_cls": "gauge", "gauge_cls": "gauge",
    "Counter": "counter", "_counter_cls": "counter", "counter_cls": "counter",
    "Histogram": "histogram", "_histogram_cls": "histogram", "histogram_cls": "histogram",
    "Summary": "summary", "Info": "info", "Enum": "stateset",
}


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _string_constants(tree: ast.Module) -> dict[str, str]:
    """NAME = "vllm:..." at module level and Class.NAME inside classes, so name=Metrics.NAME resolves."""
    consts: dict[str, str] = {}

    def collect(body: list, prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef):
                collect(node.body, node.name + ".")
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                    and isinstance(node.value.value, str) and _metric_name_re().match(node.value.value):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        consts[prefix + target.id] = node.value.value

    collect(tree.body, "")
    return consts


def _resolve(node: ast.AST | None, consts: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return consts.get(f"{node.value.id}.{node.attr}")
    if isinstance(node, ast.Name):
        return consts.get(node.id)
    return None


def _kind_of_call(node: ast.AST) -> str | None:
    """The metric kind a call builds: a constructor (Gauge, self._counter_cls) or a metadata object
    whose class names the kind (OffloadingHistogramMetadata(...))."""
    if not isinstance(node, ast.Call):
        return None
    name = _call_name(node)
    if name in _METRIC_CALLS:
        return _METRIC_CALLS[name]
    for word, kind in (("Histogram", "histogram"), ("Counter", "counter"), ("Gauge", "gauge")):
        if word in name:
            return kind
    return None


def metric_families(package_dir: Path) -> list[dict]:
    trees: dict[str, ast.Module] = {}
    consts: dict[str, str] = {}
    prefix = _METRIC_PREFIX[_engine]
    for rel, source in _sources(package_dir):
        # A metric name is spelled in its file, or reached through a *Metric* constants class.
        if prefix not in source and "Metric" not in source:
            continue
        tree = _tree(rel, source)
        if tree is None:
            continue
        trees[rel] = tree
        consts.update(_string_constants(tree))

    found: dict[str, dict] = {}

    def add(name: str | None, kind: str, rel: str) -> None:
        if not name or not _metric_name_re().match(name):
            return
        fam = found.setdefault(name, {"kinds": set(), "modules": set()})
        fam["modules"].add(rel)
        if kind != "unknown":
            fam["kinds"].add(kind)

    for rel, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _call_name(node) in _METRIC_CALLS:
                name_node = next((k.value for k in node.keywords if k.arg == "name"), node.args[0] if node.args else None)
                add(_resolve(name_node, consts), _METRIC_CALLS[_call_name(node)], rel)
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values):
                    kind = _kind_of_call(value)
                    if kind and key is not None:
                        add(_resolve(key, consts), kind, rel)
            elif isinstance(node, ast.Assign) and _kind_of_call(node.value):
                for target in node.targets:
                    if isinstance(target, ast.Subscript):
                        add(_resolve(target.slice, consts), _kind_of_call(node.value), rel)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                # Metrics built in a loop over (name, doc) literals: the function's single metric kind.
                kinds = {_METRIC_CALLS[_call_name(n)] for n in ast.walk(node)
                         if isinstance(n, ast.Call) and _call_name(n) in _METRIC_CALLS}
                if len(kinds) == 1:
                    for n in ast.walk(node):
                        if isinstance(n, ast.Constant) and isinstance(n.value, str):
                            add(n.value if _metric_name_re().match(n.value) else None, next(iter(kinds)), rel)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                add(node.value, "unknown", rel)
    return _families(found)


def _families(found: dict[str, dict]) -> list[dict]:
    """Snapshot entries of {name: {kinds, modules}}; a name built with two kinds is recorded as unknown."""
    out = []
    for name in sorted(found):
        kinds = found[name]["kinds"]
        kind = next(iter(kinds)) if len(kinds) == 1 else "unknown"
        out.append({"name": name, "type": kind, "series": _series(name, kind),
                    "modules": sorted(found[name]["modules"])})
    return out


def _series(name: str, kind: str) -> list[str]:
    """Sample names prometheus_client exposes for a family (counters gain _total, histograms three series)."""
    if kind == "counter":
        base = name[: -len("_total")] if name.endswith("_total") else name
        return [base + "_total"]
    if kind == "histogram":
        return [name + "_bucket", name + "_count", name + "_sum"]
    if kind == "summary":
        return [name + "_count", name + "_sum"]
    if kind == "info":
        return [name + "_info"]
    return [name]


# vLLM: the registry behind each free-text option, and the option that loads a plugin registering more names.
_VLLM_REGISTRIES = {
    "ToolParserManager": ("--tool-call-parser", "--tool-parser-plugin", "vllm.tool_parsers"),
    "ReasoningParserManager": ("--reasoning-parser", "--reasoning-parser-plugin", "vllm.reasoning"),
}


def _str_list(node: ast.AST | None) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return []


def _registered_in(tree: ast.Module, manager: str) -> set[str]:
    """Names one module registers with `manager`: register_lazy_module("x", ...) / (name="x", ...),
    register_module("x" | ["x", "y"] | name=...), and loops `for name, ... in TABLE.items()` that call
    register_lazy_module with the loop's name over a module-level {name: (module, class)} dict."""
    tables = {t.id: node.value for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
              for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
              if isinstance(t, ast.Name) and isinstance(node.value, ast.Dict)}

    def registrations(scope: ast.AST):
        for call in ast.walk(scope):
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) \
                    and call.func.attr in ("register_lazy_module", "register_module") \
                    and isinstance(call.func.value, ast.Name) and call.func.value.id == manager:
                yield call

    names: set[str] = set()
    for call in registrations(tree):
        given = next((k.value for k in call.keywords if k.arg == "name"), call.args[0] if call.args else None)
        names.update(_str_list(given))
    for loop in ast.walk(tree):
        if not (isinstance(loop, ast.For) and isinstance(loop.iter, ast.Call)
                and isinstance(loop.iter.func, ast.Attribute) and loop.iter.func.attr in ("items", "keys")
                and isinstance(loop.iter.func.value, ast.Name) and loop.iter.func.value.id in tables):
            continue
        if any(True for _ in registrations(loop)):
            names.update(k.value for k in tables[loop.iter.func.value.id].keys
                         if isinstance(k, ast.Constant) and isinstance(k.value, str))
    return names


def vllm_registries(package_dir: Path, options: list[dict]) -> dict[str, dict]:
    flags = {f for o in options for f in o["flags"]}
    out = {}
    for manager, (flag, plugin_flag, package) in _VLLM_REGISTRIES.items():
        names: set[str] = set()
        modules = []
        for rel, source in _sources(package_dir):
            if manager not in source or "register_" not in source:
                continue
            tree = _tree(rel, source)
            found = _registered_in(tree, manager) if tree is not None else set()
            if found:
                names |= found
                modules.append(rel)
        if flag not in flags:
            continue  # an engine version without the option has nothing to check
        if not names:
            raise SystemExit(f"{flag}: found no {manager} registrations in {package_dir}; "
                             "the registry moved: update vllm_registries")
        live = _live_registered(package, manager)
        if live is not None and set(live) != names:
            raise SystemExit(f"{flag}: {manager}.list_registered() differs from the names read from source: "
                             f"only registered {sorted(set(live) - names)}, only in source {sorted(names - set(live))}")
        out[flag] = {"registry": manager, "names": sorted(names), "modules": modules,
                     "plugin_flag": plugin_flag if plugin_flag in flags else None}
    return out


def _live_registered(package: str, manager: str) -> list[str] | None:
    """The manager's own list_registered() when its package imports here (it needs torch, not a GPU)."""
    try:
        registry = getattr(importlib.import_module(package), manager)
    except Exception as exc:
        print(f"note: {package}.{manager} does not import ({type(exc).__name__}); names from source only",
              file=sys.stderr)
        return None
    return list(registry.list_registered())


def cmd_snapshot(args: argparse.Namespace) -> int:
    adapter = ADAPTERS[_engine].from_args(args)
    adapter.prepare(want_help=True)

    parser_ref, parser, deprecated = adapter.build_parser()
    options, positionals = snapshot_options(parser, deprecated)
    families = adapter.metric_families()
    snapshot = {
        "schema_version": SCHEMA_VERSION,
        "engine": _engine,
        "engine_version": adapter.version(),
        "generated_by": "scripts/snapshot_engine.py",
        "parser": parser_ref,
        "positionals": positionals,
        "options": options,
        "env_prefixes": list(adapter.env_prefixes()),
        "env": adapter.env(),
        "metrics": {
            "families": families,
            "series": sorted({s for fam in families for s in fam["series"]}),
        },
        "registries": adapter.registries(options),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=out.name + ".")
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps(snapshot, indent=1, ensure_ascii=False) + "\n")
    os.replace(tmp, out)
    registered = ", ".join(f"{len(r['names'])} {flag} names" for flag, r in snapshot["registries"].items())
    print(f"{out}: {len(options)} options, {len(snapshot['env'])} env vars, {len(families)} metric families"
          + (f", {registered}" if registered else ""), file=sys.stderr)
    return 0


# ----------------------------------------------------------------------------------------------------
# parse-recipes
# ----------------------------------------------------------------------------------------------------

def recipe_flags(args: dict, parser: argparse.ArgumentParser) -> list[str]:
    """The spelling the launcher uses (aimgen.launch.argv): --flag=value, a bare --flag for true, --no-flag
    for false where the parser has one (else the flag is left out), compact JSON for mappings and lists."""
    negatable = {s for a in parser._actions if isinstance(a, argparse.BooleanOptionalAction)
                 for s in a.option_strings}
    argv = []
    for key, value in args.items():
        flag = "--" + str(key)
        if value is True:
            argv.append(flag)
        elif value is False:
            # Same choice as aimgen.launch.argv.negation_of: --no-x, else --disable-x / --enable-x.
            name = str(key)
            candidates = ["--no-" + name]
            if name.startswith("enable-"):
                candidates.append("--disable-" + name[len("enable-"):])
            elif name.startswith("disable-"):
                candidates.append("--enable-" + name[len("disable-"):])
            argv += [c for c in candidates if c in negatable][:1]
        elif isinstance(value, (dict, list)):
            argv.append(f"{flag}={json.dumps(value, separators=(',', ':'))}")
        else:
            argv.append(f"{flag}={value}")
    return argv


def _profiles(recipes_dir: Path, backend: str, runtime: str | None = None, default_runtime: str | None = None):
    """The recipe profiles of `backend`; with `runtime`, only those that run on it: the ones naming it in
    `runtime:`, and the ones naming none when it is the backend's default (`default_runtime`, which test-engines.sh
    asks aimgen's registry for)."""
    import yaml

    for path in sorted(recipes_dir.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text()) or {}
        model = doc.get("model", path.stem)
        for index, profile in enumerate(doc.get("profiles") or []):
            if (profile.get("backend") or "vllm") != backend:
                continue
            if runtime is None or (profile.get("runtime") or default_runtime) == runtime:
                yield path, index, str(model), profile


class _ParserRejected(Exception):
    pass


def cmd_parse_recipes(args: argparse.Namespace) -> int:
    adapter = ADAPTERS[_engine].from_args(args)
    adapter.prepare(want_help=False)
    _, parser, _ = adapter.build_parser()

    def refuse(message: str):  # argparse would print usage and exit; one line per profile is enough
        raise _ParserRejected(message)

    for p in [parser] + [a.choices[c] for a in parser._actions if isinstance(a, argparse._SubParsersAction)
                         for c in a.choices]:
        p.error = refuse
    failures = count = 0
    for path, index, model, profile in _profiles(Path(args.recipes), _engine, args.runtime, args.default_runtime):
        count += 1
        where = f"{path.name}: profiles[{index}]"
        flags = recipe_flags(profile.get("args") or {}, parser)
        try:
            parser.parse_args(adapter.recipe_argv(model, flags))
        except _ParserRejected as exc:
            failures += 1
            print(f"FAIL {where}: {_engine} rejects {flags}: {exc}", file=sys.stderr)
        except SystemExit:
            failures += 1
            print(f"FAIL {where}: {_engine} rejects {flags}", file=sys.stderr)
        except Exception as exc:
            failures += 1
            print(f"FAIL {where}: {type(exc).__name__}: {exc}", file=sys.stderr)
        env = {str(k): str(v) for k, v in (profile.get("env") or {}).items()}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            for name in env:
                problem = adapter.check_env(name)
                if problem:
                    failures += 1
                    print(f"FAIL {where}: env {name}={env[name]!r}: {problem}", file=sys.stderr)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    on = f" that run on {args.runtime}" if args.runtime else ""
    print(f"{count} {_engine} profiles{on} parsed with the real parser, {failures} failures", file=sys.stderr)
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    global _engine
    top = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    top.add_argument("--engine", choices=sorted(ADAPTERS), default="vllm")
    sub = top.add_subparsers(dest="command", required=True)
    p = sub.add_parser("requirements")
    p.add_argument("--deps", required=True)
    p.add_argument("--select", choices=("with-deps", "no-deps"), default="with-deps")
    p.set_defaults(func=cmd_requirements)
    p = sub.add_parser("snapshot")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_snapshot)
    p = sub.add_parser("parse-recipes")
    p.add_argument("--recipes", required=True)
    p.add_argument("--runtime", help="only the profiles that run on this runtime (runtimes/<name>)")
    p.add_argument("--default-runtime", help="the runtime a profile without `runtime:` runs on")
    p.set_defaults(func=cmd_parse_recipes)
    args = top.parse_args(argv)
    _engine = args.engine
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
