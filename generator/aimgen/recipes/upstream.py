"""Read the public AMD configs in ../shared/upstream-configs/ (vLLM recipes, the InferenceX AMD matrix, AMD AIM
profiles): the one place that knows their layouts, for citations, the audit and the AIM importer."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@lru_cache(maxsize=None)
def read_yaml(path: Path) -> Any:
    """A parsed upstream file, or None when it is missing or not YAML (a citation check reports it)."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except (OSError, yaml.YAMLError):
        return None


def upstream_entry(upstream_dir: Path, path: str, key: str) -> Any:
    """Entry `key` of a mapping file (the InferenceX matrix is keyed by config name), or None."""
    data = read_yaml(upstream_dir / path)
    return data.get(key) if isinstance(data, dict) else None


def parse_cli(tokens: list) -> dict[str, Any]:
    """A vLLM recipe's argv list (`["--tensor-parallel-size", "2", "-cc.x=y", "--block-size=64"]`) as recipe args:
    names without dashes, dotted keys folded into their JSON option, JSON values parsed. Unreadable tokens are
    skipped: the audit compares what it can read."""
    import json

    from aimgen.recipes.seed_import import _args_from_tokens, _flag_name, _Report, _set_dotted

    pairs = _args_from_tokens([str(t) for t in tokens], "args", set(), _Report("upstream")) or []
    args: dict[str, Any] = {}
    for raw, value in pairs:
        head, _, dotted = raw.lstrip("-").partition(".")
        name = {"cc": "compilation-config"}.get(head, _flag_name("--" + head))
        if isinstance(value, str) and value[:1] in "[{":
            try:
                value = json.loads(value)
            except ValueError:
                pass
        if dotted:
            _set_dotted(args, f"{name}.{dotted}", value)
        else:
            args[name] = value
    return args
