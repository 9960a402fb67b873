"""Check a recipe's engine args and env against the snapshot of the engine version its runtime pins.

Pure: reads the runtime's snapshot and renamed map (each parsed once) and returns findings. Codes:
  ENGINE001 unknown flag             ENGINE002 removed/renamed flag (with what replaces it)
  ENGINE003 value not among choices or registered names (a warning when a plugin flag may register it)
  ENGINE004 value of the wrong type
  ENGINE005 undeclared engine env    ENGINE006 env value not among choices
  ENGINE007 deprecated flag (warning) ENGINE008 runtime has no snapshot (warning)
  ENGINE009 flag set by the launcher itself (warning)
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any, Iterable, Mapping

from aimgen.findings import ERROR, WARNING, Finding
from aimgen.runtimes.registry import Runtime
from aimgen.runtimes.snapshot import Option, Renamed, Snapshot, load_renamed, load_snapshot

_HUMAN_INT = re.compile(r"^-?\d+(\.\d+)?[kKmMgGtT]?$")


def snapshot_for(runtime: Runtime) -> Snapshot | None:
    return load_snapshot(runtime.snapshot_path) if runtime.snapshot_path else None


def engine_metric_names(runtime: Runtime) -> frozenset[str]:
    """Every Prometheus sample name the pinned engine version exports (counters with _total, histograms
    with _bucket/_sum/_count), for checking dashboards and alerts. Empty without a snapshot."""
    snap = snapshot_for(runtime)
    return snap.metric_series if snap else frozenset()


def launcher_flags(runtime: Runtime) -> set[str]:
    """Flags the launcher writes itself; a recipe setting them would be overridden or duplicated."""
    flags = {runtime.flag("port"), runtime.flag("host")}
    if runtime.model_arg != "positional":
        flags.add("--" + runtime.model_arg)
    return {f for f in flags if f}


def check_engine_config(runtime: Runtime, args: Mapping[str, Any], env: Mapping[str, Any], *,
                        file: str, path: str) -> list[Finding]:
    """Findings for one profile's `args` ({flag-without-dashes: value | true}) and `env` ({NAME: value})."""
    snap = snapshot_for(runtime)
    if snap is None:
        return [Finding(WARNING, "ENGINE008", file, path,
                        f"runtime {runtime.name} has no engine snapshot; args and env are not checked")]
    renamed = load_renamed(runtime.renamed_path)
    where = f"{runtime.engine} {snap.engine_version}"
    findings: list[Finding] = []
    managed = launcher_flags(runtime)
    given = {_flag_of(str(key).partition(".")[0]) for key in (args or {})}
    for key, value in (args or {}).items():
        at = _join(path, "args", str(key))
        findings.extend(_check_arg(snap, renamed, where, managed, given, str(key), value, file, at))
    for name, value in (env or {}).items():
        at = _join(path, "env", str(name))
        findings.extend(_check_env(snap, renamed, where, str(name), value, file, at))
    return findings


def _join(path: str, *parts: str) -> str:
    out = path
    for part in parts:
        out = f"{out}.{part}" if out else part
    return out


def _flag_of(key: str) -> str:
    return key if key.startswith("-") else "--" + key


def _check_arg(snap: Snapshot, renamed: Renamed, where: str, managed: set[str], given: set[str], key: str,
               value: Any, file: str, at: str) -> Iterable[Finding]:
    # Dotted keys set one field of a JSON option: compilation-config.pass_config.x / cc.x
    base, _, subkey = key.partition(".")
    flag = _flag_of(base)
    opt = snap.option(flag) or (snap.option("-" + base) if subkey else None)
    if opt is None:
        yield _unknown_flag(snap, renamed, where, base, file, at)
        return
    if flag in managed:
        yield Finding(WARNING, "ENGINE009", file, at,
                      f"{flag} is set by the launcher from the runtime and the environment; drop it from args")
    if opt.deprecated:
        yield Finding(WARNING, "ENGINE007", file, at, f"{flag} is deprecated in {where}: {opt.help or 'see its docs'}")
    if subkey:
        if opt.type not in ("json", "json_or_str"):
            yield Finding(ERROR, "ENGINE004", file, at,
                          f"{flag} takes a {opt.type}, not JSON fields; write {base}: <value> instead of {key}")
        return
    problem = _type_problem(opt, value)
    if problem:
        yield Finding(ERROR, "ENGINE004", file, at, f"{flag} in {where}: {problem}")
        return
    for item in _items(opt, value) if opt.choices else ():
        hint = unaccepted(snap, opt, item)
        if hint is None:
            continue
        if opt.extensible_by in given:
            yield Finding(WARNING, "ENGINE003", file, at,
                          f"{flag}={item} is not registered by {where}; it must come from the plugin {opt.extensible_by} loads")
        else:
            yield Finding(ERROR, "ENGINE003", file, at, f"{flag}={item} is not accepted by {where}{hint}")


_LISTED_CHOICES = 20  # longer lists (parser names) are named by their nearest spellings and a count


def unaccepted(snap: Snapshot, opt: Option, value: Any) -> str | None:
    """None when `value` is among the option's choices (registered names included), else what to say instead:
    the nearest choices and the whole list, or where to find it when it is long."""
    if not opt.choices or _in_choices(opt, value):
        return None
    close = difflib.get_close_matches(str(value), opt.choices, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    if len(opt.choices) <= _LISTED_CHOICES:
        return f"{hint} (valid: {', '.join(opt.choices)})"
    return f"{hint} ({len(opt.choices)} valid names, listed in {'/'.join(snap.path.parts[-3:])})"


def _unknown_flag(snap: Snapshot, renamed: Renamed, where: str, base: str, file: str, at: str) -> Finding:
    flag = _flag_of(base)
    entry = renamed.flags.get(base.lstrip("-"))
    if entry is not None:
        hint = entry.get("note", "")
        replacement = entry.get("replacement")
        if replacement and snap.option(_flag_of(replacement)):
            hint = f"use --{replacement} instead ({hint})" if hint else f"use --{replacement} instead"
        return Finding(ERROR, "ENGINE002", file, at, f"{flag} was removed; {where} does not accept it: {hint}")
    dashed = base.replace("_", "-")
    if dashed != base and snap.option(_flag_of(dashed)):
        return Finding(ERROR, "ENGINE001", file, at, f"{flag} is spelled --{dashed.lstrip('-')} in {where}")
    longs = [f for f in snap.options if f.startswith("--")]
    # "--tp" means --tp-size; then spelling neighbours ("--max-num-seq" -> --max-num-seqs).
    close = [f for f in longs if f.startswith(flag + "-")][:3] or difflib.get_close_matches(flag, longs, n=3, cutoff=0.75)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    return Finding(ERROR, "ENGINE001", file, at, f"{flag} is not an option of {where}{hint}")


def _items(opt: Option, value: Any) -> list[Any]:
    if opt.takes_list:
        if isinstance(value, (list, tuple)):
            return list(value)
        if isinstance(value, str):
            return value.split()
    return [value]


def _type_problem(opt: Option, value: Any) -> str | None:
    if opt.is_boolean:
        if isinstance(value, bool):
            return None
        return f"is a switch; write true (bare flag) or false, not {value!r}"
    if opt.kind == "store_const":
        return None if value is True else f"takes no value; write true, not {value!r}"
    if value is True or value is False:
        return f"takes a {opt.type} value, not a bare switch (got {str(value).lower()})"
    if value is None or value == "" or value == "None":
        return None if opt.optional else f"needs a {opt.type} value"
    if isinstance(value, (list, tuple)) and not opt.takes_list and opt.type not in ("json", "json_or_str"):
        return f"takes one {opt.type} value, not a list"
    for item in _items(opt, value):
        problem = _scalar_problem(opt.type, item)
        if problem:
            return problem
    return None


def _scalar_problem(kind: str, value: Any) -> str | None:
    if kind == "int":
        if isinstance(value, int) or isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            return None
        return f"needs an integer, not {value!r}"
    if kind == "float":
        if isinstance(value, (int, float)):
            return None
        try:
            float(str(value))
            return None
        except ValueError:
            return f"needs a number, not {value!r}"
    if kind in ("human_readable_int", "human_readable_int_or_auto"):
        if isinstance(value, int) or isinstance(value, str) and (
                _HUMAN_INT.match(value.strip()) or kind.endswith("auto") and value.strip() == "auto"):
            return None
        extra = ", -1 or auto" if kind.endswith("auto") else ""
        return f"needs an integer such as 8192 or 32k{extra}, not {value!r}"
    if kind == "json":
        if isinstance(value, (dict, list)):
            return None
        try:
            json.loads(str(value))
            return None
        except ValueError:
            return f"needs a JSON object (write a mapping in YAML), not {value!r}"
    if kind == "json_or_str":
        return None
    if kind == "str" and isinstance(value, (dict, list)):
        return f"needs a single string, not {type(value).__name__}"
    return None


def _in_choices(opt: Option, value: Any) -> bool:
    text = str(value)
    if opt.normalize == "lower_snake":
        text = text.lower().replace("-", "_")
    elif opt.normalize == "lower":
        text = text.lower()
    return text in opt.choices


def _check_env(snap: Snapshot, renamed: Renamed, where: str, name: str, value: Any, file: str,
               at: str) -> Iterable[Finding]:
    if not name.startswith(snap.env_prefixes):
        return  # HSA_*, NCCL_*, AMDGCN_*: not the engine's to declare
    var = snap.env.get(name)
    if var is None:
        entry = renamed.env.get(name)
        if entry is not None:
            hint = entry.get("note", "")
            if entry.get("replacement_flag") and snap.option(_flag_of(entry["replacement_flag"])):
                hint = f"{hint} (flag --{entry['replacement_flag']})"
            elif entry.get("replacement_env") and entry["replacement_env"] in snap.env:
                hint = f"use {entry['replacement_env']} ({hint})"
            yield Finding(ERROR, "ENGINE005", file, at, f"{name} was removed; {where} ignores it: {hint}")
            return
        close = difflib.get_close_matches(name, list(snap.env), n=2, cutoff=0.8)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        yield Finding(ERROR, "ENGINE005", file, at, f"{name} is not declared by {where}{hint}")
        return
    if var.choices:
        text = str(value)
        choices = var.choices if var.case_sensitive else tuple(c.lower() for c in var.choices)
        if (text if var.case_sensitive else text.lower()) not in choices:
            yield Finding(ERROR, "ENGINE006", file, at,
                          f"{name}={text} is not accepted by {where}; valid: {', '.join(var.choices)}")
