"""Repo files and which of them a prefetch takes: patterns and the pickle policy (pure)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from aimgen.errors import InvalidInput

# Pickle-based weights can run code when loaded; they are refused unless --allow-pickle.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
SAFE_WEIGHT_SUFFIXES = (".safetensors", ".gguf")
# Weights in formats no serving engine here reads (TensorFlow, Flax, ONNX, Core ML): skipped unless asked for.
DEFAULT_EXCLUDES = ("*.h5", "*.msgpack", "*.ot", "*.onnx", "*.onnx_data", "*.tflite", "*.mlmodel", "*.mlpackage/*",
                    "onnx/*", "coreml/*")


@dataclass(frozen=True)
class RepoFile:
    name: str  # path inside the repo, '/'-separated
    size: int
    blob_id: str | None = None  # git object id (sha1); for LFS files the pointer's id
    sha256: str | None = None  # LFS files (and local copies): sha256 of the content

    @property
    def etag(self) -> str:
        """The blob's name in the HF cache: the sha256 for LFS files, the git blob id otherwise."""
        name = self.sha256 or self.blob_id
        if not name:
            raise InvalidInput(f"{self.name}: the source gives neither a git blob id nor a sha256")
        return name

    def as_dict(self) -> dict:
        out: dict = {"name": self.name, "size": self.size}
        if self.blob_id:
            out["blob_id"] = self.blob_id
        if self.sha256:
            out["sha256"] = self.sha256
        return out

    @classmethod
    def from_dict(cls, d: dict) -> RepoFile:
        return cls(name=d["name"], size=int(d["size"]), blob_id=d.get("blob_id"), sha256=d.get("sha256"))


@dataclass(frozen=True)
class Listing:
    """What the source says a (model, commit) contains."""

    model_id: str
    commit: str
    files: tuple[RepoFile, ...]


@dataclass(frozen=True)
class Selection:
    files: tuple[RepoFile, ...]
    skipped_pickle: tuple[str, ...] = ()

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def _match(name: str, pattern: str) -> bool:
    # Same convention as huggingface_hub: "dir/" means everything below dir.
    if pattern.endswith("/"):
        pattern += "*"
    return fnmatch.fnmatch(name, pattern)


def is_pickle(name: str) -> bool:
    return name.lower().endswith(PICKLE_SUFFIXES)


def select(files: tuple[RepoFile, ...], *, allow: tuple[str, ...] = (), exclude: tuple[str, ...] = (),
           allow_pickle: bool = False) -> Selection:
    """Files to fetch. An explicit --allow-pattern wins over the default excludes; --exclude-pattern wins over all.
    Pickle weights are dropped unless allow_pickle; if that leaves no weights at all, refuse with a clear error."""
    chosen = []
    for f in files:
        explicitly = any(_match(f.name, p) for p in allow)
        if allow and not explicitly:
            continue
        if any(_match(f.name, p) for p in exclude):
            continue
        if not explicitly and any(_match(f.name, p) for p in DEFAULT_EXCLUDES):
            continue
        chosen.append(f)
    pickles = tuple(f.name for f in chosen if is_pickle(f.name))
    if pickles and not allow_pickle:
        chosen = [f for f in chosen if not is_pickle(f.name)]
        if not any(f.name.lower().endswith(SAFE_WEIGHT_SUFFIXES) for f in chosen):
            shown = ", ".join(pickles[:3]) + (f" (+{len(pickles) - 3} more)" if len(pickles) > 3 else "")
            raise InvalidInput(
                f"the selected weights are pickle files ({shown}), which can run code when loaded; "
                "use a safetensors revision of the model or pass --allow-pickle")
    if not chosen:
        raise InvalidInput("no file of the model matches the allow/exclude patterns")
    return Selection(tuple(chosen), pickles if not allow_pickle else ())
