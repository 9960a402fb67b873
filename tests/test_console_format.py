"""The one console: JSON lines with stable keys off a terminal, human text on one, NO_COLOR honoured."""

from __future__ import annotations

import io
import json
import re

import pytest

from aimgen.console import Console

TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def no_overrides(monkeypatch):
    monkeypatch.delenv("AIMGEN_LOG_FORMAT", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)


def lines(stream) -> list[str]:
    return stream.getvalue().splitlines()


def test_json_lines_off_a_terminal_with_stable_keys():
    out = io.StringIO()
    c = Console(out)
    c.warning("fell back to bf16", event="fallback", model="Qwen/Qwen3-8B", gpus=4)
    c.info("", event="rendered")
    first, second = (json.loads(line) for line in lines(out))
    assert list(first) == ["ts", "level", "event", "message", "model", "gpus"]
    assert TS.match(first["ts"])
    assert first == {"ts": first["ts"], "level": "warning", "event": "fallback", "message": "fell back to bf16",
                     "model": "Qwen/Qwen3-8B", "gpus": 4}
    assert list(second) == ["ts", "level", "event"]


def test_fields_cannot_replace_the_fixed_keys_and_odd_values_become_strings():
    out = io.StringIO()
    Console(out).info("x", event="e", ts="forged", path=io)
    record = json.loads(out.getvalue())
    assert record["ts"] != "forged" and TS.match(record["ts"])
    assert isinstance(record["path"], str)


def test_human_text_when_forced_off_a_terminal(monkeypatch):
    monkeypatch.setenv("AIMGEN_LOG_FORMAT", "text")
    out = io.StringIO()
    Console(out).warning("fell back to bf16", event="fallback", model="m")
    assert lines(out) == ["warning: fell back to bf16 model=m"]


def test_json_when_forced_on_a_terminal(monkeypatch):
    monkeypatch.setenv("AIMGEN_LOG_FORMAT", "json")
    out = Terminal()
    Console(out).error("boom", event="failed")
    assert json.loads(out.getvalue())["level"] == "error"


def test_terminal_text_is_coloured_unless_no_color(monkeypatch):
    out = Terminal()
    Console(out).error("boom")
    assert out.getvalue() == "\033[31merror: boom\033[0m\n"
    monkeypatch.setenv("NO_COLOR", "1")
    out = Terminal()
    Console(out).error("boom")
    assert out.getvalue() == "error: boom\n"


def test_an_empty_no_color_does_not_disable_colour(monkeypatch):
    # no-color.org: only a non-empty NO_COLOR disables colour.
    monkeypatch.setenv("NO_COLOR", "")
    out = Terminal()
    Console(out).warning("w")
    assert out.getvalue().startswith("\033[33m")


def test_cli_failure_is_one_json_line_on_stderr(monkeypatch, cli):
    monkeypatch.setenv("AIMGEN_LOG_FORMAT", "json")
    code, out, err = cli("render", "no-such-model", "--gpu", "mi300x")
    assert code != 0 and out == ""
    (line,) = err.splitlines()
    record = json.loads(line)
    assert record["level"] == "error" and record["event"] and record["message"]
