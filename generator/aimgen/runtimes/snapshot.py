"""Engine snapshots: what one engine version accepts (options, env vars) and exports (metric names).

An option whose values the engine looks up in a registry at start-up rather than in argparse choices (vLLM's
--tool-call-parser and --reasoning-parser) gets the registered names as its choices, from the snapshot's
`registries`, and `extensible_by` names the option that loads a plugin able to register more.

The JSON files are written by scripts/snapshot_engine.py from the real engine and checked by
`make test-engines`; here they are only read, once per file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from aimgen.errors import InvalidInput


@dataclass(frozen=True)
class Option:
    flags: tuple[str, ...]
    dest: str
    kind: str  # store | append | boolean_optional | store_const_bool | store_const | custom:<Action>
    type: str  # str | int | float | bool | json | json_or_str | human_readable_int | human_readable_int_or_auto
    optional: bool  # accepts "" / "None" as no value
    nargs: Any
    choices: tuple[str, ...] | None
    default: Any
    deprecated: bool
    normalize: str | None  # lower_snake: the engine folds case and dashes before matching choices
    help: str
    extensible_by: str | None = None  # a plugin option that may register values beyond `choices`

    @property
    def is_boolean(self) -> bool:
        return self.kind in ("boolean_optional", "store_const_bool")

    @property
    def takes_list(self) -> bool:
        return self.nargs in ("+", "*") or isinstance(self.nargs, int) and self.nargs > 1


@dataclass(frozen=True)
class EnvVar:
    name: str
    default: Any
    choices: tuple[str, ...] | None
    case_sensitive: bool


@dataclass(frozen=True)
class Snapshot:
    engine: str
    engine_version: str
    path: Path
    options: Mapping[str, Option]  # by every option string ("--tensor-parallel-size" and "-tp")
    env: Mapping[str, EnvVar]
    env_prefixes: tuple[str, ...]
    metric_families: Mapping[str, str]  # name -> counter | gauge | histogram | ...
    metric_series: frozenset[str]  # every sample name Prometheus sees (_total, _bucket, _sum, _count)

    def option(self, flag: str) -> Option | None:
        return self.options.get(flag)


@lru_cache(maxsize=16)
def _load(path: str, mtime_ns: int) -> Snapshot:
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read engine snapshot: {exc}", file=path) from None
    options: dict[str, Option] = {}
    for raw in doc.get("options", []):
        opt = Option(
            flags=tuple(raw["flags"]),
            dest=raw["dest"],
            kind=raw["kind"],
            type=raw["type"],
            optional=bool(raw.get("optional")),
            nargs=raw.get("nargs"),
            choices=tuple(str(c) for c in raw["choices"]) if raw.get("choices") else None,
            default=raw.get("default"),
            deprecated=bool(raw.get("deprecated")),
            normalize=raw.get("normalize"),
            help=raw.get("help", ""),
        )
        for flag in opt.flags:
            options[flag] = opt
    for flag, registry in (doc.get("registries") or {}).items():
        if flag in options:
            opt = replace(options[flag], choices=tuple(registry["names"]), extensible_by=registry.get("plugin_flag"))
            options.update(dict.fromkeys(opt.flags, opt))
    env = {
        e["name"]: EnvVar(e["name"], e.get("default"), tuple(e["choices"]) if e.get("choices") else None,
                          bool(e.get("case_sensitive", True)))
        for e in doc.get("env", [])
    }
    metrics = doc.get("metrics") or {}
    return Snapshot(
        engine=doc.get("engine", ""),
        engine_version=doc.get("engine_version", ""),
        path=Path(path),
        options=MappingProxyType(options),
        env=MappingProxyType(env),
        env_prefixes=tuple(doc.get("env_prefixes") or ()),
        metric_families=MappingProxyType({f["name"]: f["type"] for f in metrics.get("families", [])}),
        metric_series=frozenset(metrics.get("series", [])),
    )


def load_snapshot(path: Path) -> Snapshot:
    """Parsed once per file version (lru_cache keyed by path and mtime)."""
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise InvalidInput(f"cannot read engine snapshot: {exc.strerror}", file=str(path)) from None
    return _load(str(path), mtime)


@dataclass(frozen=True)
class Renamed:
    flags: Mapping[str, Mapping[str, str]]  # flag without dashes -> {replacement, note}
    env: Mapping[str, Mapping[str, str]]  # NAME -> {replacement_flag | replacement_env, note}


_EMPTY_RENAMED = Renamed(MappingProxyType({}), MappingProxyType({}))


@lru_cache(maxsize=16)
def _load_renamed(path: str, mtime_ns: int) -> Renamed:
    from aimgen import paths
    from aimgen.loading import read_text
    from aimgen.yamlio import load_with_lines

    doc = load_with_lines(read_text(Path(path), "renamed map"), path, paths.shipped(path))[0] or {}
    if not isinstance(doc, dict):
        raise InvalidInput("a renamed map is a mapping with flags: and env:", file=path)
    return Renamed(MappingProxyType(dict(doc.get("flags") or {})), MappingProxyType(dict(doc.get("env") or {})))


def load_renamed(path: Path | None) -> Renamed:
    if path is None or not path.is_file():
        return _EMPTY_RENAMED
    return _load_renamed(str(path), path.stat().st_mtime_ns)
