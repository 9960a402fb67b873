"""Spell an engine command line from a runtime and an args mapping ({flag-without-dashes: value | true}).

Pure. The spelling follows runtime.yaml's arg_style and, where the engine snapshot knows the flag, the
engine's own parser: `--no-x` only where the engine defines it, lists as separate words for nargs='+'.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from aimgen.runtimes.registry import Runtime
from aimgen.runtimes.snapshot import Snapshot


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)


def negation_of(name: str, flags: tuple[str, ...] | list[str]) -> str | None:
    """The engine's "off" spelling of a switch, if it has one: --no-x (argparse), or --disable-x for
    --enable-x and the reverse (vLLM 0.33 renamed its negations that way)."""
    candidates = [f"--no-{name}"]
    if name.startswith("enable-"):
        candidates.append("--disable-" + name[len("enable-"):])
    elif name.startswith("disable-"):
        candidates.append("--enable-" + name[len("disable-"):])
    return next((c for c in candidates if c in flags), None)


def flag_words(runtime: Runtime, name: str, value: Any, snapshot: Snapshot | None = None) -> list[str]:
    """The argv words for one flag; [] when the value means "leave it out" (None, or false without --no-x)."""
    name = name.lstrip("-")
    flag = f"--{name}"
    option = snapshot.option(flag) if snapshot else None
    if value is None:
        return []
    if "." in name:  # a field inside a JSON option (--compilation-config.pass_config.x=true)
        return [f"{flag}={_scalar(value)}"]
    if value is True:
        return [flag]
    if value is False:
        if option is not None:
            negation = negation_of(name, option.flags)
            return [negation] if negation else []
        return [f"--no-{name}"] if runtime.arg_style.false_flag == "no-prefix" else []
    if isinstance(value, (list, tuple)) and option is not None and option.takes_list:
        return [flag, *(_scalar(v) for v in value)]
    if runtime.arg_style.value == "separate":
        return [flag, _scalar(value)]
    return [f"{flag}={_scalar(value)}"]


def args_words(runtime: Runtime, args: Mapping[str, Any], snapshot: Snapshot | None = None) -> list[str]:
    """The argv words for several flags, in their order."""
    return [word for name, value in args.items() for word in flag_words(runtime, name, value, snapshot)]


def build_argv(runtime: Runtime, model: str, args: Mapping[str, Any], *, port: int, host: str | None = None,
               snapshot: Snapshot | None = None) -> list[str]:
    """command + model + runtime default args overlaid by `args` + host/port (which the launcher owns)."""
    argv = list(runtime.command)
    if runtime.model_arg == "positional":
        argv.append(model)
    else:
        argv += flag_words(runtime, runtime.model_arg, model, snapshot)
    owned = {runtime.flag_names.get("port"), runtime.flag_names.get("host"),
             None if runtime.model_arg == "positional" else runtime.model_arg}
    merged = {**runtime.default_args, **{k.lstrip("-"): v for k, v in args.items()}}
    argv += args_words(runtime, {k: v for k, v in merged.items() if k not in owned}, snapshot)
    if host and runtime.flag_names.get("host"):
        argv += flag_words(runtime, runtime.flag_names["host"], host, snapshot)
    argv += flag_words(runtime, runtime.flag_names["port"], port, snapshot)
    return argv
