"""Models outside the catalog, by Hub id: their config.json (and the repository's file listing, whose sizes are the
checkpoint's exact size on disk) from the Hub or the HF_ENDPOINT mirror, through the cache's Hub client, kept in a
local metadata cache so the next run plans offline.

The metadata cache is one JSON file per (model, revision), written atomically:
  $XDG_CACHE_HOME/aimgen/hub-metadata/<org>/<name>/<revision>/metadata.json
  {"model_id", "revision", "commit", "endpoint", "files": [{name, size, blob_id, sha256}], "config": <text>,
   "generation_config": <text> | null}
It is read back through the same checks as a fresh download (a torn or edited file counts as absent or invalid).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from aimgen import paths
from aimgen.catalog.models import MAX_CONFIG_BYTES, CatalogModel, model_from_config_text
from aimgen.console import console
from aimgen.errors import EnvironmentProblem, InvalidInput

REVISION = "main"
CONFIG = "config.json"
GENERATION_CONFIG = "generation_config.json"
METADATA = "metadata.json"
# Connection failures are retried a little (a mirror restarting), not for minutes: the cache may answer instead.
RETRIES = 2
TIMEOUT_S = 10.0


@dataclass(frozen=True)
class HubMetadata:
    commit: str
    files: tuple  # RepoFile
    config: str
    generation_config: str | None

    @property
    def weights_bytes(self) -> int:
        return sum(f.size for f in self.files if f.name.endswith(".safetensors"))


def metadata_root() -> Path:
    return paths.user_cache_dir() / "hub-metadata"


def metadata_path(model_id: str, revision: str) -> Path:
    # Both parts were checked by check_model_id / check_revision: no '..', no absolute paths.
    return metadata_root() / model_id / revision / METADATA


def hub_model(model_id: str, revision: str = REVISION, endpoint: str | None = None) -> CatalogModel:
    """The model `model_id` from the Hub (or `endpoint`, else HF_ENDPOINT), else from the metadata cache; exit 4
    when neither has it."""
    from aimgen.cache.layout import check_model_id, check_revision
    from aimgen.cache.prefetch import offline

    check_model_id(model_id)
    check_revision(revision)
    path = metadata_path(model_id, revision)
    if offline():
        meta = _read_cached(path, model_id)
        if meta is None:
            raise EnvironmentProblem(f"model {model_id!r} is not in the catalog, HF_HUB_OFFLINE is set and no "
                                     f"metadata is cached at {path}; run once with access to the Hub, or pass "
                                     "--model-config CONFIG_JSON")
    else:
        try:
            meta = _fetch(model_id, revision, path, endpoint)
        except EnvironmentProblem as exc:
            meta = _read_cached(path, model_id)
            if meta is None:
                raise EnvironmentProblem(f"model {model_id!r} is not in the catalog and its config.json is neither "
                                         f"on the Hub ({exc.message}) nor cached at {path}; retry with access to "
                                         "the Hub (HF_ENDPOINT for a mirror) or pass --model-config CONFIG_JSON"
                                         ) from None
            console.warning(f"{exc.message}; planning {model_id} from the metadata cached at {path} "
                            f"(commit {meta.commit})", event="hub.metadata_cached", commit=meta.commit)
    return _model(model_id, meta, f"{model_id}@{meta.commit}/{CONFIG}")


def _model(model_id: str, meta: HubMetadata, source: str) -> CatalogModel:
    published = {"checkpoint_bytes": meta.weights_bytes} if meta.weights_bytes else {}
    return model_from_config_text(model_id, meta.config, source, revision=meta.commit, published=published)


def _remote(endpoint: str | None = None):
    from aimgen.cache.remote import Remote
    from aimgen.cache.retry import RetryPolicy

    try:
        from huggingface_hub import get_token
    except ImportError:
        raise EnvironmentProblem("fetching a model's config.json from the Hub needs huggingface_hub: "
                                 "pip install 'aimgen[cache]'") from None
    # get_token: HF_TOKEN, else the file at HF_TOKEN_PATH, else huggingface-cli's token file under HF_HOME.
    return Remote(endpoint=endpoint or os.environ.get("HF_ENDPOINT") or None, token=get_token(), timeout=TIMEOUT_S,
                  policy=RetryPolicy.from_env(RETRIES), use_xet=False)


def _fetch(model_id: str, revision: str, path: Path, endpoint: str | None = None) -> HubMetadata:
    from aimgen.cache.fsutil import atomic_write_json

    remote = _remote(endpoint)
    listing = remote.listing(model_id, revision)
    files = {f.name: f for f in listing.files}
    if CONFIG not in files:
        raise InvalidInput(f"{model_id}@{listing.commit}: the repository on {remote.where()} has no {CONFIG}; "
                           "pass --model-config CONFIG_JSON")
    texts = {name: _download(remote, model_id, listing.commit, files[name])
             for name in (CONFIG, GENERATION_CONFIG) if name in files}
    meta = HubMetadata(listing.commit, listing.files, texts[CONFIG], texts.get(GENERATION_CONFIG))
    # Checked before it is cached: a config the planner refuses is never kept.
    _model(model_id, meta, f"{model_id}@{listing.commit}/{CONFIG}")
    atomic_write_json(path, {"model_id": model_id, "revision": revision, "commit": meta.commit,
                             "endpoint": remote.where(), "files": [f.as_dict() for f in meta.files],
                             "config": meta.config, "generation_config": meta.generation_config})
    return meta


def _download(remote, model_id: str, commit: str, f) -> str:
    """One small file, size- and digest-checked by the cache's writer; its text."""
    from aimgen.cache.transfer import PartialWriter

    what = f"{model_id}@{commit}/{f.name}"
    if f.size > MAX_CONFIG_BYTES:
        raise InvalidInput(f"{what}: {f.size} bytes is not a config file (at most {MAX_CONFIG_BYTES})")
    with tempfile.TemporaryDirectory(prefix="aimgen-hub-") as tmp:
        with PartialWriter(Path(tmp) / "file", f) as writer:
            remote.download(model_id, commit, f, writer, lease=None, on_bytes=lambda _n: None)
        data = (Path(tmp) / "file").read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{what}: not UTF-8 text") from None


def _read_cached(path: Path, model_id: str) -> HubMetadata | None:
    """The cached metadata, or None when absent or not in the shape this module writes (it is then refetched)."""
    from aimgen.cache.fsutil import read_json
    from aimgen.cache.files import RepoFile
    from aimgen.cache.layout import check_repo_path, is_commit

    data = read_json(path)
    if not isinstance(data, dict) or data.get("model_id") != model_id:
        return None
    commit, config, gen, files = data.get("commit"), data.get("config"), data.get("generation_config"), data.get("files")
    if not (isinstance(commit, str) and is_commit(commit) and isinstance(config, str) and isinstance(files, list)
            and (gen is None or isinstance(gen, str))):
        return None
    try:
        repo_files = tuple(RepoFile(name=check_repo_path(f["name"]), size=int(f["size"])) for f in files)
    except (InvalidInput, KeyError, TypeError, ValueError):
        return None
    return HubMetadata(commit, repo_files, config, gen)
