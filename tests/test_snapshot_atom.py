"""scripts/snapshot_engine.py --engine atom: the parser is built by executing an ATOM checkout's own registration code
(FlexibleArgumentParser loaded by path, EngineArgs.add_cli_args and main()'s parser statements cut out with ast),
the module-level names that code reads resolved with ast to literals, never stubbed. Run against a small tree of
ATOM's shape written here (not ATOM's code); every module of it imports torch, which is not installed, so a
snapshot that imported one would fail."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from aimgen.runtimes.snapshot import load_snapshot

TOOL = Path(__file__).resolve().parents[1] / "scripts" / "snapshot_engine.py"
COMMIT = "0123456789abcdef0123456789abcdef01234567"

ATOM_TREE = {
    "atom/__init__.py": "import torch\n",
    "atom/utils/__init__.py": "import torch\n",
    # A minimal FlexibleArgumentParser of ATOM's shape: every kebab-case long flag gains its snake_case twin.
    "atom/utils/arg_parser.py": '''
        import argparse


        class FlexibleArgumentParser(argparse.ArgumentParser):
            def add_argument(self, *names, **kwargs):
                twins = ["--" + n[2:].replace("-", "_") for n in names if n.startswith("--")]
                extra = [t for t in twins if t not in names and t not in self._option_string_actions]
                return super().add_argument(*names, *extra, **kwargs)
        ''',
    "atom/utils/envs.py": '''
        import os

        environment_variables = {
            "ATOM_LEVEL": lambda: int(os.getenv("ATOM_LEVEL", "3")),
            "USE_MESH": lambda: os.getenv("USE_MESH", "0") == "1",
        }
        ''',
    "atom/model_engine/__init__.py": "",
    "atom/model_engine/consts.py": '''
        import torch

        MODES = ("fast", "slow")
        _FAST = "fast"
        DEFAULT_MODE = _FAST
        BLOCK = 16
        ''',
    "atom/model_engine/arg_utils.py": '''
        import argparse
        import json
        from dataclasses import dataclass

        import torch

        from atom.model_engine.consts import DEFAULT_MODE, MODES
        from .consts import BLOCK as BLOCK_SIZE


        @dataclass
        class EngineArgs:
            device: object = torch.device("cuda")

            @staticmethod
            def add_cli_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
                parser.add_argument("--model", default="m")
                parser.add_argument("--tensor-parallel-size", "-tp", type=int, default=1)
                parser.add_argument("--kv_cache_dtype", choices=["bf16", "fp8"], default="bf16")
                parser.add_argument("--enable_prefix_caching", action=argparse.BooleanOptionalAction, default=True)
                parser.add_argument("--mode", choices=list(MODES), default=DEFAULT_MODE)
                parser.add_argument("--block-size", type=int, default=BLOCK_SIZE)
                group = parser.add_argument_group("extra")
                group.add_argument("--extra-config", type=json.loads, default=None)
                return parser
        ''',
    "atom/entrypoints/openai/api_server.py": '''
        import torch

        from atom.model_engine.arg_utils import EngineArgs
        from atom.utils.arg_parser import FlexibleArgumentParser

        DEFAULT_HOST = "0.0.0.0"
        DEFAULT_PORT = 8000


        def main():
            global engine
            parser = FlexibleArgumentParser(description="server")
            EngineArgs.add_cli_args(parser)
            parser.add_argument("--host", default=DEFAULT_HOST)
            parser.add_argument("--server-port", type=int, default=DEFAULT_PORT)
            args = parser.parse_args()
            engine = torch.cuda.init()
        ''',
    "atom/entrypoints/openai/metrics.py": '''
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily


        class Collector:
            def collect(self):
                yield GaugeMetricFamily("atom:up", "Up.")
                gauges = (("atom:running", "Running.", 1), ("atom:waiting", "Waiting.", 2))
                for name, documentation, value in gauges:
                    yield GaugeMetricFamily(name, documentation)
                for name, documentation, value in (("atom:finished", "Done.", 3),):
                    yield CounterMetricFamily(name, documentation)
        ''',
}


# Short names for the files a test edits.
FILES = {"server": "atom/entrypoints/openai/api_server.py", "consts": "atom/model_engine/consts.py",
         "arg_utils": "atom/model_engine/arg_utils.py", "metrics": "atom/entrypoints/openai/metrics.py"}


def _atom_tree(root: Path, **edits: tuple[str, str]) -> Path:
    """ATOM_TREE written under root, each edit {FILES key: (old, new)} applied to its file."""
    for rel, text in ATOM_TREE.items():
        text = textwrap.dedent(text).lstrip()
        for old, new in [edit for key, edit in edits.items() if FILES[key] == rel]:
            assert old in text, (rel, old)
            text = text.replace(old, new)
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _tool(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    # ATOM_LEVEL is set to show the snapshot clears the engine's prefix before reading defaults.
    env = {"PATH": "/usr/bin:/bin", "ATOM_LEVEL": "9"}
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


def _snapshot(tmp_path: Path, source: Path, *extra: str) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path / "atom-0.0.1.json"
    done = _tool("snapshot", "--engine", "atom", "--source", source, "--engine-version", "0.0.1", *extra,
                 "--out", out, cwd=tmp_path)
    return done, out


def test_the_parser_is_atoms_own_code_executed(tmp_path):
    done, out = _snapshot(tmp_path, _atom_tree(tmp_path / "src"), "--commit", COMMIT)
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    assert (doc["engine"], doc["engine_version"], doc["parser"]) == (
        "atom", "0.0.1", "atom.entrypoints.openai.api_server.main")
    assert doc["source"] == {"repository": "https://github.com/ROCm/ATOM", "commit": COMMIT}
    options = {o["flags"][0]: o for o in doc["options"]}
    assert options["--tensor-parallel-size"]["flags"] == ["--tensor-parallel-size", "-tp", "--tensor_parallel_size"]
    assert options["--kv_cache_dtype"]["flags"] == ["--kv_cache_dtype"]  # the twin only goes kebab -> snake here
    assert options["--enable_prefix_caching"]["kind"] == "boolean_optional"
    assert "--no-enable_prefix_caching" in options["--enable_prefix_caching"]["flags"]
    # names resolved across modules: a literal, an alias of one, an `as` import, a relative import
    assert (options["--mode"]["choices"], options["--mode"]["default"]) == (["fast", "slow"], "fast")
    assert options["--block-size"]["default"] == 16
    assert (options["--host"]["default"], options["--server-port"]["default"]) == ("0.0.0.0", 8000)
    # An argument group's add_argument is argparse's own, not the parser's override: no twin, as in ATOM.
    assert (options["--extra-config"]["flags"], options["--extra-config"]["type"]) == (["--extra-config"], "json")
    assert options["--extra-config"]["group"] == "extra"
    assert {e["name"]: e["default"] for e in doc["env"]} == {"ATOM_LEVEL": 3, "USE_MESH": False}
    assert doc["env_prefixes"] == ["ATOM_"] and doc["registries"] == {}
    assert {f["name"]: f["type"] for f in doc["metrics"]["families"]} == {
        "atom:up": "gauge", "atom:running": "gauge", "atom:waiting": "gauge", "atom:finished": "counter"}
    assert "atom:finished_total" in doc["metrics"]["series"]

    snap = load_snapshot(out)  # the generator reads it like the other engines' snapshots
    assert snap.option("-tp") is snap.option("--tensor_parallel_size")
    assert snap.option("--no-enable_prefix_caching").is_boolean


@pytest.mark.parametrize("edits, message", [
    ({"server": ("DEFAULT_PORT = 8000", "DEFAULT_PORT = int('8000')")},
     "DEFAULT_PORT in atom/entrypoints/openai/api_server.py: line 7: int('8000') is not a literal"),
    ({"consts": ('MODES = ("fast", "slow")', "MODES = tuple(torch.modes())")},
     "MODES in atom/model_engine/consts.py <- MODES in atom/model_engine/arg_utils.py"),
    ({"server": ('DEFAULT_HOST = "0.0.0.0"', "from torch import DEFAULT_HOST")},
     "torch is neither in the checkout nor in the standard library"),
    ({"arg_utils": ("default=BLOCK_SIZE", "default=BLOCK_SIZE * LIMIT")},
     "LIMIT in atom/model_engine/arg_utils.py: no top-level statement binds it"),
    ({"server": ("    args = parser.parse_args()\n", "")},
     "main() no longer builds `parser = ...(...)` and then calls parser.parse_args()"),
    ({"metrics": ("class Collector:", 'LOST = "atom:lost"\n\n\nclass Collector:')},
     "['atom:lost'] look like metric names but no *MetricFamily(...) call builds them"),
])
def test_what_cannot_be_resolved_fails_the_snapshot(tmp_path, edits, message):
    done, out = _snapshot(tmp_path, _atom_tree(tmp_path / "src", **edits), "--commit", COMMIT)
    assert done.returncode == 1 and message in done.stderr and not out.exists(), done.stderr


def test_the_commit_is_the_checkouts_head(tmp_path):
    source = _atom_tree(tmp_path / "src")
    assert "name the commit it holds with --commit" in _snapshot(tmp_path, source)[0].stderr
    git = ["git", "-C", str(source), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "tree"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    done, out = _snapshot(tmp_path, source)
    assert done.returncode == 0 and json.loads(out.read_text())["source"]["commit"] == head, done.stderr
    done, _ = _snapshot(tmp_path, source, "--commit", COMMIT)
    assert done.returncode == 1 and f"is at {head}, not --commit {COMMIT}" in done.stderr


def test_recipe_profiles_are_parsed_with_the_real_parser(tmp_path):
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    (recipes / "m.yaml").write_text(textwrap.dedent("""
        model: org/m
        profiles:
        - {backend: atom, args: {kv_cache_dtype: fp8, enable_prefix_caching: false, extra-config: {a: 1}}}
        - {backend: atom, args: {kv_cache_dtype: fp16, extra_config: {a: 1}}, env: {ATOM_LEVEL: high, ATOM_NOPE: '1'}}
        - {backend: vllm, args: {anything: 1}}
        """))
    done = _tool("--engine", "atom", "--source", _atom_tree(tmp_path / "src"), "parse-recipes",
                 "--recipes", recipes, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "FAIL m.yaml: profiles[1]: atom rejects ['--kv_cache_dtype=fp16', '--extra_config={\"a\":1}']: "
        "argument --kv_cache_dtype: invalid choice: 'fp16' (choose from 'bf16', 'fp8')",
        "FAIL m.yaml: profiles[1]: env ATOM_LEVEL='high': ValueError: invalid literal for int() with base 10: 'high'",
        "FAIL m.yaml: profiles[1]: env ATOM_NOPE='1': not declared by atom/utils/envs.py",
        "2 atom profiles parsed with the real parser, 3 failures",
    ]


def test_the_checkout_is_for_atom_alone(tmp_path):
    assert "--engine atom needs --source DIR" in _tool("--engine", "atom", "snapshot", "--out", "x", cwd=tmp_path).stderr
    done = _tool("--engine", "vllm", "--source", tmp_path, "snapshot", "--out", "x", cwd=tmp_path)
    assert done.returncode == 2 and "--source: only for an engine built from a source checkout" in done.stderr
