"""Every command's --help exits 0 and prints plain usage; every usage error is one message line, never markup or an
internal error. The help pages are found by walking the real command tree, so a new command is covered unasked."""

from __future__ import annotations

import pytest


def _command_paths() -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """(every command and group path, the groups among them)."""
    import typer

    from aimgen.cli.commands import mount
    from aimgen.cli.main import app

    mount(None)  # every command module, as `aimgen --help` loads them
    paths: list[tuple[str, ...]] = []
    groups: list[tuple[str, ...]] = []

    def walk(command, prefix: tuple[str, ...]) -> None:
        paths.append(prefix)
        if getattr(command, "commands", None):
            groups.append(prefix)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, (*prefix, name))

    walk(typer.main.get_command(app), ())
    return paths, groups


COMMANDS, GROUPS = _command_paths()


def test_the_walk_finds_the_commands_people_use_most():
    assert {("render",), ("values",), ("validate",), ("cache", "prefetch"), ("chart", "sync")} <= set(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "aimgen")
def test_help_exits_0_with_usage(path, cli):
    code, out, err = cli(*path, "--help")
    assert code == 0, err
    assert out.startswith("Usage: aimgen"), out[:200]
    assert "internal error" not in err and "MarkupError" not in err, err


def test_help_keeps_bracketed_usage_text_literally(cli):
    """Rich markup would eat or choke on NAME[/NAMESPACE] (issue 11: `aimgen render --help` crashed on it)."""
    for command in ("render", "values"):
        code, out, err = cli(command, "--help")
        assert code == 0 and "NAME[/NAMESPACE]" in " ".join(out.split()), err


@pytest.mark.parametrize("path", [p for p in COMMANDS if p], ids=lambda p: " ".join(p))
def test_unknown_option_is_one_usage_line(path, cli):
    code, out, err = cli(*path, "--no-such-option-[/x]")
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1 and "internal error" not in err and "Traceback" not in err, err
    assert "--no-such-option-[/x]" in lines[0], lines[0]



@pytest.mark.parametrize("path", GROUPS, ids=lambda p: " ".join(p) or "aimgen")
def test_a_bare_group_prints_its_help_and_exits_2(path, cli):
    """`aimgen` or `aimgen cache` alone: the usage, on stderr, and exit 2 (a command is missing)."""
    code, out, err = cli(*path)
    assert code == 2 and err.startswith("Usage: aimgen"), err
