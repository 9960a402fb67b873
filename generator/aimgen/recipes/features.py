"""Per-model switches a user turns on per deployment (`render --feature NAME`): tool calling, reasoning output,
speculative decoding. Each recipe lists the ones its sources document (`features:`), with the engine args they add;
a feature the recipe does not document is refused with what would work, never guessed.

A feature only adds flags: it never changes one the profile sets (`recipes check` refuses a recipe where it would),
and two features of a recipe never set the same flag. So a feature is a fixed list of argv words appended to the
profile's command line, which the chart can append too (`aimgen chart sync` compiles each profile's words)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aimgen.errors import NoFeasiblePlan

FEATURES = ("tool-calling", "reasoning", "spec-decoding")


@lru_cache(maxsize=None)
def features_for(model_id: str) -> dict[str, dict]:
    """The `features:` block of the model's recipe ({} without a recipe or block): schema-checked on load."""
    from aimgen.loading import load_checked
    from aimgen.recipes.load import recipe_path

    path = recipe_path(model_id)
    if not path.exists():
        return {}
    data, _ = load_checked(path, "recipe", "recipe")
    return dict(data.get("features") or {}) if data.get("model") == model_id else {}


def _text(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":")) if isinstance(value, (dict, list)) else str(value)


def backends_of(feature: dict) -> list[str]:
    return feature.get("backends", ["vllm"])


def conflicts(feature: dict, args: dict[str, Any]) -> list[str]:
    """The flags a feature would change in `args` (set there to another value): a feature only adds."""
    return [flag for flag, value in feature["args"].items() if flag in args and args[flag] != value]


def added_args(feature: dict, args: dict[str, Any]) -> dict[str, Any]:
    """What a feature adds to `args`: its flags that `args` does not already set (to the same value)."""
    return {flag: value for flag, value in feature["args"].items() if flag not in args}


def offered(model_id: str, backend: str, args: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every feature a profile with these args can switch on (spelled for its backend, changing none of its
    flags), as the args it adds, in FEATURES order."""
    known = features_for(model_id)
    return {name: added_args(known[name], args) for name in FEATURES
            if name in known and backend in backends_of(known[name]) and not conflicts(known[name], args)}


def switch_on(model_id: str, backend: str, args: dict[str, Any], wanted: tuple[str, ...]) -> tuple[dict, tuple[str, ...]]:
    """The args the wanted features add, in the order asked, and one line per feature saying what it set;
    NoFeasiblePlan naming what would work when the recipe does not document one for this profile."""
    known = features_for(model_id)
    added: dict[str, Any] = {}
    said = []
    for name in wanted:
        feature = known.get(name)
        if feature is None:
            documented = ", ".join(sorted(known)) or "none"
            raise NoFeasiblePlan(f"{model_id}: its recipe documents no {name!r} feature (documented: {documented}); "
                                 f"drop --feature {name} or pass the engine flags yourself in a recipe profile")
        if backend not in backends_of(feature):
            raise NoFeasiblePlan(f"{model_id}: feature {name!r} is spelled for {', '.join(backends_of(feature))}; "
                                 f"use --backend {backends_of(feature)[0]}")
        if changed := conflicts(feature, args):
            flag = changed[0]
            raise NoFeasiblePlan(f"{model_id}: feature {name!r} sets --{flag} {_text(feature['args'][flag])} but the "
                                 f"profile sets it to {_text(args[flag])}; a feature only adds flags: drop --feature "
                                 f"{name} or choose another profile")
        added.update(added_args(feature, args))
        said.append(f"feature {name}: " + " ".join(f"--{k}" + ("" if v is True else f" {_text(v)}")
                                                   for k, v in feature["args"].items()))
    return added, tuple(said)
