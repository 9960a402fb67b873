"""Where things live under a cache dir.

    <cache>/hub/models--org--name/{blobs,snapshots,refs}   the Hugging Face layout, read by vLLM/SGLang with
                                                          HF_HOME=<cache> and HF_HUB_OFFLINE=1
    <cache>/aimgen/records/models--org--name/<commit>.json completion records (written last)
    <cache>/aimgen/partial/models--org--name/<blob>.part   downloads in progress (never under hub/)
    <cache>/aimgen/leases/...                              leases (who downloads what)
    <cache>/aimgen/index.json                              usage index
    <cache>/compile/<image key>/<gfx>/{vllm,triton,...}    engines' compile/JIT caches (cache.plan, written by the
                                                          engines themselves; `evict`/`prune` leave them alone)

Everything of ours stays outside hub/ so huggingface_hub's own tools (scan-cache, delete-cache) see a clean cache.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from aimgen.errors import InvalidInput

COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
# Hub ids: "name" or "org/name"; letters, digits, '-', '_', '.'; no '--' or '..' (they would alias folder names).
MODEL_ID_RE = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,95}/)?[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
REVISION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")
BLOB_RE = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


def is_commit(revision: str) -> bool:
    return bool(COMMIT_RE.fullmatch(revision))


def check_model_id(model_id: str) -> str:
    if not MODEL_ID_RE.fullmatch(model_id) or "--" in model_id or ".." in model_id:
        raise InvalidInput(f"model id {model_id!r} is not a Hub id; expected 'org/name' "
                           "(letters, digits, '-', '_', '.')")
    return model_id


def check_revision(revision: str) -> str:
    if not REVISION_RE.fullmatch(revision) or ".." in revision:
        raise InvalidInput(f"revision {revision!r} is not a branch, tag or 40-hex commit sha")
    return revision


# Linux NAME_MAX: one path component longer than this cannot be created on ext4, xfs or NFS.
NAME_MAX_BYTES = 255
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
GIT_OID_RE = re.compile(r"^[0-9a-f]{40}$")


def repo_path_problem(name: object) -> str | None:
    """Why `name` cannot be a file inside a repo snapshot, or None. A name must be relative, '/'-separated and
    already normalised (no '', '.' or '..' component, no backslash, no control character): anything else could
    write outside the snapshot, or alias another file."""
    if not isinstance(name, str) or not name:
        return "an empty file name"
    if name.startswith("/"):
        return f"an absolute file name {name[:80]!r}"
    if "\\" in name:
        return f"a file name with a backslash {name[:80]!r}"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return f"a file name with a control character {name[:80]!r}"
    for part in name.split("/"):
        if part in ("", ".", ".."):
            return f"a file name that is not normalised inside the repo {name[:80]!r}"
        if len(part.encode()) > NAME_MAX_BYTES:
            return (f"a file name whose component is {len(part.encode())} bytes long ({part[:40]!r}...); file "
                    f"systems store at most {NAME_MAX_BYTES}")
    return None


def check_repo_path(name: str) -> str:
    """A file name inside a repo, as the source lists it (a hostile listing must not write outside the snapshot)."""
    problem = repo_path_problem(name)
    if problem is not None:
        raise InvalidInput(f"the source lists {problem}")
    return name


def tree_problem(names: list[str]) -> str | None:
    """Why these file names cannot all live in one snapshot: the same name twice, or a name that is a file and
    also a directory of another file ('a' and 'a/b')."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return f"the file {name[:80]!r} twice"
        seen.add(name)
    for name in names:
        parts = name.split("/")
        for i in range(1, len(parts)):
            folder = "/".join(parts[:i])
            if folder in seen:
                return f"{folder[:80]!r} both as a file and as the directory of {name[:80]!r}"
    return None


def repo_folder(model_id: str) -> str:
    return "models--" + model_id.replace("/", "--")


def model_from_folder(folder: str) -> str | None:
    if not folder.startswith("models--"):
        return None
    return folder[len("models--"):].replace("--", "/")


@dataclass(frozen=True)
class CacheLayout:
    root: Path

    @property
    def hub(self) -> Path:
        return self.root / "hub"

    @property
    def meta(self) -> Path:
        return self.root / "aimgen"

    @property
    def index(self) -> Path:
        return self.meta / "index.json"

    @property
    def leases(self) -> Path:
        return self.meta / "leases"

    def repo_dir(self, model_id: str) -> Path:
        return self.hub / repo_folder(model_id)

    def blob(self, model_id: str, blob: str) -> Path:
        if not BLOB_RE.fullmatch(blob):
            raise InvalidInput(f"blob id {blob!r} is neither a git sha1 nor a sha256")
        return self.repo_dir(model_id) / "blobs" / blob

    def snapshot(self, model_id: str, commit: str) -> Path:
        return self.repo_dir(model_id) / "snapshots" / commit

    def snapshot_file(self, model_id: str, commit: str, name: str) -> Path:
        return self.snapshot(model_id, commit).joinpath(*check_repo_path(name).split("/"))

    def ref(self, model_id: str, revision: str) -> Path:
        return self.repo_dir(model_id) / "refs" / check_revision(revision)

    def record(self, model_id: str, commit: str) -> Path:
        return self.meta / "records" / repo_folder(model_id) / f"{commit}.json"

    def records_dir(self) -> Path:
        return self.meta / "records"

    def partial(self, model_id: str, blob: str) -> Path:
        return self.meta / "partial" / repo_folder(model_id) / f"{blob}.part"

    def partial_dir(self) -> Path:
        return self.meta / "partial"

    def lease_key(self, model_id: str, name: str) -> str:
        return f"{repo_folder(model_id)}/{name}"


def read_ref(layout: CacheLayout, model_id: str, revision: str) -> str | None:
    try:
        commit = layout.ref(model_id, revision).read_text().strip()
    except OSError:
        return None
    return commit if is_commit(commit) else None


def default_cache_dir() -> Path:
    """AIMGEN_CACHE_DIR, else HF_HOME, else ~/.cache/huggingface: by hand, the cache is the user's own HF cache."""
    for var in ("AIMGEN_CACHE_DIR", "HF_HOME"):
        value = os.environ.get(var)
        if value:
            return Path(value).expanduser()
    return Path("~/.cache/huggingface").expanduser()
