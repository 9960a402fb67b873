"""The model catalog (recipes/catalog/models.yaml): architecture facts in config.json shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from aimgen import paths
from aimgen.errors import InvalidInput
from aimgen.loading import load_checked, read_text
from aimgen.yamlio import load_json


@dataclass(frozen=True)
class CatalogModel:
    id: str  # Hugging Face id
    config: dict[str, Any] = field(hash=False)  # config.json fields
    revision: str | None = None
    native_precision: str = "bf16"
    checkpoints: dict[str, str] = field(default_factory=dict, hash=False)
    # quantization_config of each pre-quantized checkpoint (e.g. block FP8), which the planner's divisibility checks need
    checkpoint_quantization: dict[str, dict] = field(default_factory=dict, hash=False)
    trust_remote_code: bool = False
    aliases: tuple[str, ...] = ()
    published: dict[str, Any] = field(default_factory=dict, hash=False)
    in_catalog: bool = True
    # Why the planner cannot size this model (no KV arithmetic for its attention, or no transcribed config.json):
    # only its recipe profiles are served, and the planner refuses rather than guess.
    recipe_only: str | None = None

    @property
    def context_length(self) -> int | None:
        return self.config.get("max_position_embeddings") or self.published.get("context_length")

    @property
    def slug(self) -> str:
        return self.id.split("/", 1)[1].lower()


@lru_cache(maxsize=None)
def load_models() -> dict[str, CatalogModel]:
    data, _ = load_checked(paths.recipes_dir() / "catalog" / "models.yaml", "model-catalog", "model catalog")
    out: dict[str, CatalogModel] = {}
    for m in data["models"]:
        out[m["id"]] = CatalogModel(
            id=m["id"],
            config=m.get("config", {}),
            revision=m.get("revision"),
            native_precision=m.get("native_precision", "bf16"),
            checkpoints=dict(m.get("checkpoints", {})),
            checkpoint_quantization=dict(m.get("checkpoint_quantization", {})),
            trust_remote_code=m.get("trust_remote_code", False),
            aliases=tuple(m.get("aliases", ())),
            published=dict(m["published"]),
            recipe_only=m.get("recipe_only"),
        )
    return out


def find_model(name: str) -> CatalogModel | None:
    models = load_models()
    if name in models:
        return models[name]
    wanted = name.lower()
    for m in models.values():
        if m.id.lower() == wanted or wanted in (a.lower() for a in m.aliases) or m.slug == wanted:
            return m
    return None


def get_model(name: str) -> CatalogModel:
    model = find_model(name)
    if model is None:
        known = ", ".join(sorted(load_models()))
        raise InvalidInput(
            f"unknown model {name!r}: not in the catalog; give its Hub id (config.json is fetched from the Hub or "
            f"HF_ENDPOINT) or pass --model-config CONFIG_JSON, or use one of: {known}",
            path="MODEL",
        )
    return model


# A config.json is a few KiB; anything far larger is not one (and is not parsed into memory).
MAX_CONFIG_BYTES = 1 << 20


def model_from_config(model_id: str, config_path: Path) -> CatalogModel:
    """A model known only by its config.json (fine-tunes, new releases)."""
    return model_from_config_text(model_id, read_text(config_path, "model config"), str(config_path))


def model_from_config_text(model_id: str, text: str, source: str, *, revision: str | None = None,
                          published: dict[str, Any] | None = None) -> CatalogModel:
    """The model a config.json describes. `text` may come from a remote or a file: it is read under the input limits
    (yamlio.load_json) and every field the planner reads is checked here by the planner's own reader
    (planning/arch.py), so a hostile file gives one line naming `source` and the field."""
    from aimgen.planning.arch import arch_from_config, flatten_config  # the planner imports this module

    if len(text) > MAX_CONFIG_BYTES:
        raise InvalidInput(f"{len(text)} characters is not a config.json (at most {MAX_CONFIG_BYTES})", file=source)
    config = load_json(text, source)
    if not isinstance(config, dict):
        raise InvalidInput("expected a JSON object (a Hugging Face config.json)", file=source)
    try:
        arch = arch_from_config(config)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, file=source, path=exc.path) from None
    # The checkpoint's precision: its quantization_config, else its dtype (fp32 checkpoints are served in bf16).
    precision = arch.quantization.precision if arch.quantization else ("fp16" if arch.dtype == "fp16" else "bf16")
    return CatalogModel(
        id=model_id, config=flatten_config(config), revision=revision, native_precision=precision,
        published=dict(published or {}), in_catalog=False
    )
