#!/usr/bin/env python3
"""Snapshot what an engine accepts and exports: CLI options, declared env vars, metric names.

vLLM and SGLang: runs with the *engine's* interpreter (a throw-away venv holding the engine installed with
--no-deps plus the few packages its argument parser imports; see scripts/test-engines.sh), never with aimgen's.
ATOM: any python3 >= 3.10 and a source checkout (--source), nothing installed. Stdlib only, apart from the
engine itself and pyyaml (a dependency of both installed engines; aimgen's venv has it) for `parse-recipes`.

  snapshot_engine.py --engine vllm requirements --deps FILE   requirement lines for the parser's imports,
                                                               with the specifiers the engine declares
  snapshot_engine.py --engine vllm snapshot --out FILE        write the JSON snapshot
  snapshot_engine.py --engine vllm parse-recipes --recipes DIR [--runtime NAME --default-runtime NAME]
                                                               parse every recipe profile of that backend
                                                               (with --runtime: only those that run on it)
                                                               with the real parser; check its env
  snapshot_engine.py --engine atom --source DIR [--commit SHA] --engine-version V snapshot --out FILE
  snapshot_engine.py --engine atom --source DIR parse-recipes --recipes DIR ...
                                                               (the engine options may also follow the command)

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
  atom    NOT INSTALLED: ATOM is not on PyPI (PyPI's "atom" is another project) and its modules import torch,
          aiter and GPU code. From a checkout of ROCm/ATOM (--source) the parser of
          `python -m atom.entrypoints.openai_server` is built by EXECUTING ATOM's own code, never a copy:
            - atom/utils/arg_parser.py, loaded by file path (stdlib only): FlexibleArgumentParser, which
              registers the kebab/snake twin of each long flag;
            - EngineArgs.add_cli_args from atom/model_engine/arg_utils.py, cut out with `ast` and compiled
              without its decorator and annotations; EngineArgs itself is a stand-in holding only it;
            - the statements of main() in atom/entrypoints/openai/api_server.py from `parser = ...(...)` up
              to, not including, the one calling parser.parse_args() (EngineArgs.add_cli_args(parser),
              --host, --server-port, --chat-template, ...).
          RESOLVED BY AST, NOT EXECUTED: the module-level names that code reads (DEFAULT_HOST, DEFAULT_PORT,
          DP_LB_DEFAULT, DP_LB_STRATEGIES, argparse, json, ...), bound as the module's own imports would
          bind them: `NAME = <literal>` (ast.literal_eval) in the defining module, `from X import NAME`
          followed into the checkout (relative imports too), standard-library modules imported for real.
          A name that resolves to anything else (a call, a class, a non-stdlib module, a binding inside
          if/try) fails the snapshot naming the chain of imports; nothing is ever stubbed. Env vars:
          atom/utils/envs.py's `environment_variables` (imports only os), loaded by path. Metrics: the
          families atom/entrypoints/openai/metrics.py's collector yields (GaugeMetricFamily /
          CounterMetricFamily, by literal name or in loops over literal rows), read with `ast`. The version
          is --engine-version (setuptools_scm makes it when the image is built); the commit is the
          checkout's HEAD, or --commit for an archive, recorded as `source` {repository, commit}.
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
snapshot fails. SGLang lists its parsers as argparse choices, so its `registries` is empty; ATOM has no
parser-name option (it tells the format from the model), so its `registries` is empty too.

Snapshot format (JSON, SCHEMA_VERSION): schema_version, engine, engine_version, generated_by, source? (atom
only: {repository, commit} of the checkout), parser, positionals, options [{flags, dest, kind, type, optional,
nargs, choices, default, deprecated, group, help, normalize?, const?}], env_prefixes, env [{name, default, ...}],
metrics {families [{name, type, series, modules}], series}, registries {"--flag": {registry, names, modules,
plugin_flag}}: plugin_flag is the option that loads a plugin able to register further names.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import copy
import enum
import functools
import importlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import traceback
import types
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1

# Cleared before the engine is imported so that env-derived defaults do not depend on who runs the script.
_PLACEHOLDER_HOME = "/nonexistent-home"
_METRIC_PREFIX = {"vllm": "vllm:", "sglang": "sglang:", "atom": "atom:"}
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

    def provenance(self) -> dict[str, Any]:
        return {}  # the version says it all: the wheel on PyPI

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


# ----------------------------------------------------------------------------------------------------
# ATOM: a source checkout; its parser-building code executed, the module-level names it reads resolved with ast
# ----------------------------------------------------------------------------------------------------

def _load_by_path(root: Path, rel: str) -> types.ModuleType:
    """Execute one stdlib-only module of the checkout from its file, outside its package (whose __init__
    imports torch)."""
    path = root / rel
    if not path.is_file():
        raise SystemExit(f"{path}: not found; is --source a checkout of ROCm/ATOM?")
    spec = importlib.util.spec_from_file_location(rel[: -len(".py")].replace("/", "."), path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ImportError as exc:
        raise SystemExit(f"{rel} no longer imports with the standard library alone ({exc}): "
                         "the snapshot cannot load it without the engine installed") from None
    return module


def _binds(node: ast.stmt) -> set[str]:
    """Names one top-level statement binds in its module."""
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if isinstance(node, ast.AnnAssign) and node.value is None:
            return set()  # `X: int` alone binds nothing
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    return set()


def _free_names(statements: list[ast.stmt]) -> set[str]:
    """Names the code reads but never binds itself: what its namespace has to supply."""
    read, bound = set(), set()
    for node in (n for s in statements for n in ast.walk(s)):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return read - bound


class _SourceNames:
    """The module-level names of a source checkout, bound as its imports would bind them but without importing
    it (its modules import torch and aiter). A name resolves to the literal of the one top-level assignment that
    binds it, a standard-library module or attribute, an attribute of a module loaded by path (`loaded`), or a
    stand-in for a class of which only some static methods are executed (`executed`); `from X import NAME` is
    followed into the checkout. Anything else fails the snapshot, naming the chain of imports that led there."""

    def __init__(self, root: Path, loaded: dict[str, types.ModuleType], executed: dict[str, tuple[str, ...]]):
        self.root, self.loaded, self.executed = root, loaded, executed

    def tree(self, rel: str) -> ast.Module:
        path = self.root / rel
        if not path.is_file():
            raise SystemExit(f"{path}: not found; is --source a checkout of ROCm/ATOM?")
        tree = _tree(rel, path.read_text(encoding="utf-8"))
        if tree is None:
            raise SystemExit(f"{path}: Python {sys.version_info.major}.{sys.version_info.minor} cannot parse it")
        return tree

    def run(self, rel: str, statements: list[ast.stmt]) -> dict[str, Any]:
        """Execute statements of module `rel` as written, with the module-level names they read; the namespace after."""
        namespace: dict[str, Any] = {"__name__": rel[: -len(".py")].replace("/", "."), "__builtins__": builtins}
        top = self.tree(rel).body
        for name in sorted(_free_names(statements)):
            if any(name in _binds(node) for node in top) or not hasattr(builtins, name):
                namespace[name] = self.value(rel, name)
        code = compile(ast.Module(body=statements, type_ignores=[]), str(self.root / rel), "exec")
        try:
            exec(code, namespace)
        except Exception as exc:
            where = [f"{Path(f.filename).relative_to(self.root)}:{f.lineno}"
                     for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(f"{self.root}/")]
            raise SystemExit(f"executing ATOM's parser code failed at {' -> '.join(where)}: "
                             f"{type(exc).__name__}: {exc}") from None
        return namespace

    def value(self, rel: str, name: str, chain: tuple[str, ...] = ()) -> Any:
        chain += (f"{name} in {rel}",)
        if rel in self.loaded:
            if not hasattr(self.loaded[rel], name):
                raise self.unresolved(chain, "the module, loaded by path, does not define it")
            return getattr(self.loaded[rel], name)
        bindings = [node for node in self.tree(rel).body if name in _binds(node)]
        if len(bindings) != 1:
            raise self.unresolved(chain, f"bound by {len(bindings)} top-level statements" if bindings else
                                  "no top-level statement binds it (one inside if/try/for is not followed)")
        node = bindings[0]
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            return self.literal(rel, node, chain)
        if isinstance(node, ast.Import):
            alias = next(a for a in node.names if (a.asname or a.name).split(".")[0] == name)
            return self.stdlib(alias.name if alias.asname else name, chain)
        if isinstance(node, ast.ImportFrom):
            return self.imported(rel, node, name, chain)
        if isinstance(node, ast.ClassDef) and name in self.executed:
            return self.stand_in(rel, node, chain)
        raise self.unresolved(chain, f"a {type(node).__name__} at line {node.lineno}, not a literal")

    def literal(self, rel: str, node: ast.Assign | ast.AnnAssign | ast.AugAssign, chain: tuple[str, ...]) -> Any:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if isinstance(node, ast.AugAssign) or len(targets) != 1 or not isinstance(targets[0], ast.Name):
            raise self.unresolved(chain, f"line {node.lineno} is not a plain `NAME = literal`")
        if isinstance(node.value, ast.Name):  # NAME = OTHER_NAME: an alias
            return self.value(rel, node.value.id, chain)
        try:
            return ast.literal_eval(node.value)
        except ValueError:
            raise self.unresolved(chain, f"line {node.lineno}: {ast.unparse(node.value)} is not a literal") from None

    def imported(self, rel: str, node: ast.ImportFrom, name: str, chain: tuple[str, ...]) -> Any:
        original = next(a.name for a in node.names if (a.asname or a.name) == name)
        package = rel.split("/")[:-1]  # a relative import counts from the importing module's package
        base = package[: len(package) - node.level + 1] if node.level else []
        module = ".".join(base + ([node.module] if node.module else []))
        for candidate in (module.replace(".", "/") + ".py", module.replace(".", "/") + "/__init__.py"):
            if (self.root / candidate).is_file():
                return self.value(candidate, original, chain)
        target = self.stdlib(module, chain)
        if not hasattr(target, original):
            raise self.unresolved(chain, f"the standard library's {module} has no {original}")
        return getattr(target, original)

    def stdlib(self, module: str, chain: tuple[str, ...]) -> types.ModuleType:
        if module.split(".")[0] not in sys.stdlib_module_names:
            raise self.unresolved(chain, f"{module} is neither in the checkout nor in the standard library")
        return importlib.import_module(module)

    def stand_in(self, rel: str, node: ast.ClassDef, chain: tuple[str, ...]) -> type:
        """A class holding only the static methods that are executed (EngineArgs.add_cli_args): the real one is a
        dataclass whose fields' defaults import the engine."""
        methods = {}
        for method in self.executed[node.name]:
            fn = next((f for f in node.body if isinstance(f, ast.FunctionDef) and f.name == method), None)
            if fn is None or not any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in fn.decorator_list):
                raise self.unresolved(chain, f"{node.name}.{method} is no longer a @staticmethod of it")
            methods[method] = staticmethod(self.function(rel, fn))
        return type(node.name, (), methods)

    def function(self, rel: str, fn: ast.FunctionDef) -> Any:
        """The function as written, less its decorators and annotations: they only type it, and would need
        names (argparse.ArgumentParser) the body may not read."""
        fn = copy.deepcopy(fn)
        fn.decorator_list, fn.returns = [], None
        for arg in ast.walk(fn.args):
            if isinstance(arg, ast.arg):
                arg.annotation = None
        return self.run(rel, [fn])[fn.name]

    def unresolved(self, chain: tuple[str, ...], why: str) -> SystemExit:
        return SystemExit(f"cannot resolve {' <- '.join(reversed(chain))}: {why}. The ATOM snapshot gives the code "
                          "it executes only literals, standard-library names and the code it executes itself "
                          "(scripts/snapshot_engine.py, AtomAdapter)")


def _parser_statements(tree: ast.Module, rel: str) -> list[ast.stmt]:
    """main()'s statements from `parser = ...(...)` up to, not including, the one calling parser.parse_args():
    the ones that build the server's parser."""
    main = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main"), None)
    body = main.body if main else []
    start = next((i for i, s in enumerate(body) if isinstance(s, ast.Assign) and isinstance(s.value, ast.Call)
                  and [ast.unparse(t) for t in s.targets] == ["parser"]), None)
    end = next((i for i, s in enumerate(body) if start is not None and i > start and any(
        isinstance(n, ast.Call) and ast.unparse(n.func) in ("parser.parse_args", "parser.parse_known_args")
        for n in ast.walk(s))), None)
    if end is None:
        raise SystemExit(f"{rel}: main() no longer builds `parser = ...(...)` and then calls parser.parse_args(): "
                         "update AtomAdapter.build_parser")
    return body[start:end]


def _checkout_commit(source: Path, given: str | None) -> str:
    """The commit a checkout holds: git's HEAD where it is a clean repository (a --commit must agree), else
    --commit (an archive of a commit has no .git)."""
    if (source / ".git").exists():
        def git(*args: str) -> str:
            return subprocess.run(["git", "-C", str(source), *args], check=True, capture_output=True,
                                  text=True).stdout.strip()

        head = git("rev-parse", "HEAD")
        if given and given != head:
            raise SystemExit(f"--source {source} is at {head}, not --commit {given}: check out {given}")
        if git("status", "--porcelain", "--untracked-files=no"):
            raise SystemExit(f"--source {source} has local changes: the snapshot would not be {head}'s")
        return head
    if not given or not re.fullmatch(r"[0-9a-f]{40}", given):
        raise SystemExit(f"--source {source} is not a git checkout: name the commit it holds with --commit "
                         "(40 hex digits)")
    return given


# prometheus_client's families for custom collectors: ATOM's /metrics is one collector yielding these.
_FAMILY_KINDS = {"CounterMetricFamily": "counter", "GaugeMetricFamily": "gauge", "HistogramMetricFamily": "histogram",
                 "SummaryMetricFamily": "summary", "InfoMetricFamily": "info"}


def _loop_rows(loop: ast.For, scope: ast.AST, rel: str) -> list[ast.expr]:
    """The rows a `for ... in ROWS` loop walks: a literal tuple/list, inline or assigned once in the function."""
    rows = loop.iter
    if isinstance(rows, ast.Name):
        assigned = [n.value for n in ast.walk(scope) if isinstance(n, ast.Assign)
                    and [ast.unparse(t) for t in n.targets] == [rows.id]]
        rows = assigned[0] if len(assigned) == 1 else None
    if not isinstance(rows, (ast.Tuple, ast.List)):
        raise SystemExit(f"{rel}:{loop.lineno}: the loop building metric families does not walk a literal "
                         "tuple or list: update collector_families")
    return rows.elts


def _enclosing_loop(node: ast.AST, var: str, parents: dict) -> tuple[ast.For, int | None] | None:
    """The innermost `for` around node that binds var: the loop and var's slot in its target tuple (None: the
    whole target)."""
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.For):
            slots = node.target.elts if isinstance(node.target, ast.Tuple) else [node.target]
            for index, slot in enumerate(slots):
                if isinstance(slot, ast.Name) and slot.id == var:
                    return node, index if isinstance(node.target, ast.Tuple) else None
    return None


def _enclosing_function(node: ast.AST, parents: dict) -> ast.AST:
    while node in parents and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        node = parents[node]
    return node


def _family_names(call: ast.Call, parents: dict, rel: str) -> list[str]:
    """The names one family constructor builds: its literal name, or each row's value of the loop variable."""
    arg = next((k.value for k in call.keywords if k.arg == "name"), call.args[0] if call.args else None)
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return [arg.value]
    found = _enclosing_loop(call, arg.id, parents) if isinstance(arg, ast.Name) else None
    if found:
        loop, index = found
        rows = _loop_rows(loop, _enclosing_function(loop, parents), rel)
        values = [row if index is None else row.elts[index] if isinstance(row, (ast.Tuple, ast.List))
                  and len(row.elts) > index else None for row in rows]
        if all(isinstance(v, ast.Constant) and isinstance(v.value, str) for v in values):
            return [v.value for v in values]
    raise SystemExit(f"{rel}:{call.lineno}: {_call_name(call)}'s name {ast.unparse(arg) if arg else '(none)'} is "
                     "neither a literal nor a loop variable over literal rows: update collector_families")


def collector_families(package_dir: Path) -> list[dict]:
    """Families a custom collector builds: `GaugeMetricFamily("atom:x", ...)`, or the same inside
    `for name, doc, value in ROWS` over literal rows. Every metric-shaped string of such a module must be one of
    them, so a family built some other way fails the snapshot instead of going missing."""
    found: dict[str, dict] = {}
    for rel, source in _sources(package_dir):
        tree = _tree(rel, source) if "MetricFamily(" in source else None
        if tree is None:
            continue
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        here = set()
        for call in ast.walk(tree):
            if isinstance(call, ast.Call) and _call_name(call) in _FAMILY_KINDS:
                for name in _family_names(call, parents, rel):
                    fam = found.setdefault(name, {"kinds": set(), "modules": set()})
                    fam["kinds"].add(_FAMILY_KINDS[_call_name(call)])
                    fam["modules"].add(rel)
                    here.add(name)
        missed = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
                  and _metric_name_re().match(n.value)} - here
        if missed:
            raise SystemExit(f"{rel}: {sorted(missed)} look like metric names but no *MetricFamily(...) call "
                             "builds them: update collector_families")
    if not found:
        raise SystemExit(f"no *MetricFamily(...) call found under {package_dir}: update collector_families")
    return _families(found)


class AtomAdapter:
    """ATOM from a checkout of ROCm/ATOM: it is not on PyPI, and its modules import torch and aiter."""

    engine = "atom"
    from_source = True
    repository = "https://github.com/ROCm/ATOM"
    # `python -m atom.entrypoints.openai_server` runs this module's main() (unless USE_ATOMESH_ENTRYPOINTS=1).
    server = "atom/entrypoints/openai/api_server.py"
    loaded_by_path = ("atom/utils/arg_parser.py",)  # FlexibleArgumentParser: stdlib only
    executed = {"EngineArgs": ("add_cli_args",)}
    envs = "atom/utils/envs.py"  # environment_variables: imports only os

    def __init__(self, source: Path, commit: str | None = None, version: str | None = None):
        if not (source / self.server).is_file():
            raise SystemExit(f"--source {source}: no {self.server} there; give a checkout of {self.repository}")
        self.source, self.commit, self._version = source, commit, version

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "AtomAdapter":
        return cls(Path(args.source), args.commit, args.engine_version)

    def prepare(self, want_help: bool) -> None:
        _prepare_environment(self.env_prefixes())

    def build_parser(self) -> tuple[str, argparse.ArgumentParser, set[int]]:
        names = _SourceNames(self.source, {rel: _load_by_path(self.source, rel) for rel in self.loaded_by_path},
                             self.executed)
        namespace = names.run(self.server, _parser_statements(names.tree(self.server), self.server))
        return "atom.entrypoints.openai.api_server.main", namespace["parser"], set()

    def version(self) -> str:
        if not self._version:
            raise SystemExit("--engine-version is needed with --engine atom: setuptools_scm makes ATOM's version "
                             "when its image is built; give the one the runtime pins")
        return self._version

    def provenance(self) -> dict[str, Any]:
        return {"source": {"repository": self.repository, "commit": _checkout_commit(self.source, self.commit)}}

    @functools.cached_property
    def _getters(self) -> dict[str, Any]:
        return _load_by_path(self.source, self.envs).environment_variables

    def env(self) -> list[dict]:
        return _getter_env(self._getters)

    def env_prefixes(self) -> tuple[str, ...]:
        return ("ATOM_",)

    def package_dir(self) -> Path:
        return self.source / "atom"

    def metric_families(self) -> list[dict]:
        return collector_families(self.package_dir())

    def registries(self, options: list[dict]) -> dict[str, dict]:
        # ATOM has no --tool-call-parser / --reasoning-parser (checked at 024ccc45): it tells the tool-call format
        # from the model's output (entrypoints/openai/tool_parser/registry.py) and the reasoning dialect from the
        # model, so no option takes a registry's name. Should one appear, its names must be recorded first.
        named = {f for o in options for f in o["flags"]} & {"--tool-call-parser", "--reasoning-parser"}
        if named:
            raise SystemExit(f"ATOM now has {sorted(named)}: record their registered names (see vllm_registries)")
        return {}

    def recipe_argv(self, model: str, flags: list[str]) -> list[str]:
        return ["--model", model, *flags]

    def check_env(self, name: str) -> str | None:
        return _check_getter(self._getters, name, self.env_prefixes(), self.envs)


ADAPTERS = {"vllm": VllmAdapter, "sglang": SglangAdapter, "atom": AtomAdapter}


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
        **adapter.provenance(),
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


def _engine_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """Which engine, and for one built from a checkout which checkout. Accepted before and after the command
    (`--engine atom snapshot ...` and `snapshot --engine atom ...`): a subcommand's copy only overrides when given."""
    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    parser.add_argument("--engine", choices=sorted(ADAPTERS), default=default("vllm"))
    parser.add_argument("--source", default=default(None), metavar="DIR",
                        help="atom: a checkout of ROCm/ATOM (ATOM is not on PyPI)")
    parser.add_argument("--commit", default=default(None),
                        help="atom: the commit --source holds, where it has no .git (an archive)")
    parser.add_argument("--engine-version", default=default(None),
                        help="atom: the version to record (setuptools_scm makes it when the image is built)")


def _check_engine_options(top: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    from_source = ADAPTERS[args.engine].from_source
    if from_source and args.command == "requirements":
        top.error(f"{args.engine} is built from a source checkout, not installed: it has no requirements")
    if from_source and not args.source:
        top.error(f"--engine {args.engine} needs --source DIR, a checkout of {ADAPTERS[args.engine].repository}")
    given = [f"--{k.replace('_', '-')}" for k in ("source", "commit", "engine_version") if getattr(args, k)]
    if given and not from_source:
        top.error(f"{' '.join(given)}: only for an engine built from a source checkout (atom); "
                  f"{args.engine} is the one installed in this interpreter")


def main(argv: list[str] | None = None) -> int:
    global _engine
    top = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _engine_options(top, suppress=False)
    sub = top.add_subparsers(dest="command", required=True)
    p = sub.add_parser("requirements")
    _engine_options(p, suppress=True)
    p.add_argument("--deps", required=True)
    p.add_argument("--select", choices=("with-deps", "no-deps"), default="with-deps")
    p.set_defaults(func=cmd_requirements)
    p = sub.add_parser("snapshot")
    _engine_options(p, suppress=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_snapshot)
    p = sub.add_parser("parse-recipes")
    _engine_options(p, suppress=True)
    p.add_argument("--recipes", required=True)
    p.add_argument("--runtime", help="only the profiles that run on this runtime (runtimes/<name>)")
    p.add_argument("--default-runtime", help="the runtime a profile without `runtime:` runs on")
    p.set_defaults(func=cmd_parse_recipes)
    args = top.parse_args(argv)
    _check_engine_options(top, args)
    _engine = args.engine
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
