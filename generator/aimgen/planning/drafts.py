"""The Hub repos a serving loads besides its checkpoint: the draft model of speculative decoding (EAGLE/EAGLE3
heads, DFlash and draft models), named where the runtime plugin says (`draft_models` in runtime.yaml: vLLM's
--speculative-config `model`, SGLang's --speculative-draft-model-path).

The engine runs offline on the cache (HF_HUB_OFFLINE=1, aimgen.cache.plan.serving_env), so every repo it loads must
be prefetched beside the checkpoint; this is the one place that finds them. A draft given as a local folder, the
checkpoint itself, and methods without a draft model (MTP layers of the main model, n-gram) add nothing."""

from __future__ import annotations

import json
from typing import Any, Callable, Mapping

from aimgen.errors import InvalidInput
from aimgen.spec import HubRepo


def is_hub_repo(name: str) -> bool:
    """A Hub id ('org/name' or 'name'), not a folder: '/mnt/draft', './draft' or '~/draft' are local paths."""
    from aimgen.cache.layout import check_model_id

    try:
        check_model_id(name)
    except InvalidInput:
        return False
    return True


def _value(raw: Any, key: str | None) -> Any:
    """The flag's value, or with `key` that key of its JSON value (a mapping, or its JSON text on a command line)."""
    if key is None:
        return raw
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None
    return raw.get(key) if isinstance(raw, Mapping) else None


def named_repos(runtime, value_of: Callable[[str], Any], checkpoint: str) -> tuple[HubRepo, ...]:
    """The Hub repos the engine's flags name besides `checkpoint`, in the runtime's `draft_models` order.
    `value_of(flag)` is the value the engine gets for a flag (name without dashes), None when not given."""
    from aimgen.cache.layout import check_revision

    found: dict[str, HubRepo] = {}
    for place in runtime.draft_models:
        repo = _value(value_of(place.flag), place.key)
        if not isinstance(repo, str) or repo == checkpoint or repo in found or not is_hub_repo(repo):
            continue
        revision = (value_of(place.revision_flag) if place.revision_flag
                    else _value(value_of(place.flag), place.revision_key) if place.revision_key else None)
        try:
            revision = check_revision(str(revision)) if revision else None
        except InvalidInput as exc:
            raise InvalidInput(f"the draft model {repo} (--{place.flag}): {exc.message}") from None
        found[repo] = HubRepo(repo, revision, catalog_bytes(repo))
    return tuple(found.values())


def draft_repos(runtime, args: Mapping[str, Any], checkpoint: str) -> tuple[HubRepo, ...]:
    """named_repos() of an args mapping (flag name without dashes -> value), whichever alias of a flag it spells:
    the engine's snapshot says which names are one option."""
    from aimgen.runtimes.flags import snapshot_for

    snapshot = snapshot_for(runtime)

    def dest(flag: str) -> str:
        option = snapshot.option(f"--{flag}") if snapshot else None
        return option.dest if option else flag

    by_dest = {dest(flag): value for flag, value in args.items()}
    return named_repos(runtime, lambda flag: by_dest.get(dest(flag)), checkpoint)


def catalog_bytes(repo: str) -> int | None:
    """The repo's size on disk when it is a catalog model or one of its pre-quantized checkpoints, else None: a
    draft head's size is not known to aimgen without the Hub."""
    from aimgen.catalog.models import load_models
    from aimgen.planning.arch import arch_from_config
    from aimgen.planning.formats import weight_format
    from aimgen.planning.memory import checkpoint_bytes
    from aimgen.planning.weights import _checkpoint_quantization, native_precision

    for model in load_models().values():
        precision = next((p for p, r in model.checkpoints.items() if r == repo), None)
        if (repo != model.id and precision is None) or model.recipe_only or not model.config:
            continue
        try:
            arch = arch_from_config(model.config)
            if repo == model.id:
                listed = model.published.get("checkpoint_bytes")
                return int(listed) if listed else checkpoint_bytes(
                    arch, weight_format(arch, native_precision(model, arch), arch.quantization))
            return checkpoint_bytes(arch, weight_format(arch, precision, _checkpoint_quantization(model, precision)))
        except (InvalidInput, ValueError, KeyError):
            return None
    return None
