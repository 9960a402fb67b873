"""Which module registers which command. Only the module a command line needs is imported, so a pod's
`aimgen cache prefetch` or `aimgen launch` starts without loading the renderer (help lists them all)."""

from __future__ import annotations

import importlib

# command name → module under aimgen.cli that registers it on the app
COMMANDS = {
    "render": "render",
    "values": "render",
    "explain": "explain",
    "list": "listing",
    "chart": "chart",
    "validate": "validate",
    "recipes": "recipes",
    "cache": "cache",
    "dashboard": "dashboard",
    "launch": "launch",
    "wait": "endpoint",
    "smoke": "endpoint",
}


def _import(module: str, word: str | None = None) -> None:
    """Import the module that registers `word` (None: every command it has); a module with several commands may
    register only the invoked one (its `register(word)`)."""
    try:
        loaded = importlib.import_module(f"aimgen.cli.{module}")
    except ModuleNotFoundError as exc:
        if exc.name != f"aimgen.cli.{module}":
            raise
        return
    register = getattr(loaded, "register", None)
    if register is not None:
        register(word)


def mount(argv: list[str] | None) -> None:
    words = [a for a in (argv or []) if not a.startswith("-")]
    if not words and "--version" in (argv or []):
        return
    if words and words[0] in COMMANDS:
        _import(COMMANDS[words[0]], words[0])
        return
    for module in dict.fromkeys(COMMANDS.values()):
        _import(module)
