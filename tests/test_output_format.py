"""One switch for machine-readable output on every report command: --output-format text|json (README "Output")."""

from __future__ import annotations

import json

import pytest

from aimgen.paths import recipes_dir


def _commands(tmp_path):
    rendered = tmp_path / "qwen.yaml"
    return [
        ("list", "models"),
        ("explain", "Qwen/Qwen3-8B", "--gpu", "mi300x"),
        ("recipes", "check", str(recipes_dir() / "models" / "qwen3-8b.yaml")),
        ("validate", str(rendered)),
        ("cache", "list", "--cache-dir", str(tmp_path / "cache")),
        ("cache", "stats", "--cache-dir", str(tmp_path / "cache")),
    ], rendered


def test_every_report_command_speaks_json(cli, tmp_path):
    commands, rendered = _commands(tmp_path)
    code, _, err = cli("render", "Qwen/Qwen3-8B", "--gpu", "mi300x", "-o", str(rendered))
    assert code == 0, err
    (tmp_path / "cache").mkdir()
    for command in commands:
        code, out, err = cli(*command, "--output-format", "json")
        assert code == 0, (command, err)
        json.loads(out)  # one JSON document on stdout, nothing else


@pytest.mark.parametrize("command", [("list", "models"), ("explain", "Qwen/Qwen3-8B", "--gpu", "mi300x"),
                                     ("cache", "stats")])
def test_an_unknown_output_format_is_a_usage_error(cli, command):
    code, _, err = cli(*command, "--output-format", "yaml")
    assert code == 2 and "--output-format 'yaml'" in err
