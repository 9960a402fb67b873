"""Per-model switches a user turns on per deployment (`render --feature NAME`): tool calling, reasoning output,
speculative decoding. Each recipe lists the ones its sources document (`features:`), with the engine args they add;
a feature the recipe does not document is refused with what would work, never guessed."""

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


def apply_features(model_id: str, backend: str, args: dict[str, Any], wanted: tuple[str, ...]) -> tuple[dict, tuple[str, ...]]:
    """args with each wanted feature's args added, and one line per feature saying what it set."""
    if not wanted:
        return args, ()
    known = features_for(model_id)
    out, said = dict(args), []
    for name in wanted:
        feature = known.get(name)
        if feature is None:
            offered = ", ".join(sorted(known)) or "none"
            raise NoFeasiblePlan(f"{model_id}: its recipe documents no {name!r} feature (documented: {offered}); "
                                 f"drop --feature {name} or pass the engine flags yourself in a recipe profile")
        backends = feature.get("backends", ["vllm"])
        if backend not in backends:
            raise NoFeasiblePlan(f"{model_id}: feature {name!r} is spelled for {', '.join(backends)}; "
                                 f"use --backend {backends[0]}")
        for flag, value in feature["args"].items():
            if flag in out and out[flag] != value:
                said.append(f"feature {name}: --{flag} {value} replaces the profile's {out[flag]}")
            out[flag] = value
        said.append(f"feature {name}: " + " ".join(f"--{k}" + ("" if v is True else f" {_text(v)}") for k, v in feature["args"].items()))
    return out, tuple(said)
