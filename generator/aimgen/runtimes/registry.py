"""The runtime registry: every `runtimes/<name>/runtime.yaml`, validated and turned into a frozen Runtime.

Built-in runtimes live under aimgen.paths.runtimes_dir(); users add their own backends by pointing
AIMGEN_RUNTIMES_PATH (os.pathsep-separated) at folders of the same shape. Both go through the same code:
folders named on AIMGEN_RUNTIMES_PATH are searched first, so a user's folder of the same name replaces a
built-in one (to re-pin an image, say), like PATH.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from aimgen import paths
from aimgen.errors import InvalidInput, UsageError
from aimgen.findings import json_path
from aimgen.loading import read_text
from aimgen.yamlio import load_with_lines

RUNTIME_FILE = "runtime.yaml"
ENV_RUNTIMES_PATH = "AIMGEN_RUNTIMES_PATH"


@dataclass(frozen=True)
class Image:
    repository: str
    tag: str
    digest: str | None = None

    @property
    def ref(self) -> str:
        """repository:tag, plus @digest when pinned by content."""
        ref = f"{self.repository}:{self.tag}"
        return f"{ref}@{self.digest}" if self.digest else ref


@dataclass(frozen=True)
class ArgStyle:
    value: str = "equals"  # --flag=value | separate: --flag value
    true_flag: str = "bare"  # --flag
    false_flag: str = "no-prefix"  # --no-flag | omit
    json: str = "compact"


@dataclass(frozen=True)
class DraftFlag:
    """Where the engine is told to load a second model (a speculative-decoding draft): `flag`'s value names it, or
    with `key` that key of the flag's JSON value; its revision in `revision_flag` or `revision_key` of the same value."""

    flag: str  # without dashes
    key: str | None = None
    revision_flag: str | None = None
    revision_key: str | None = None


@dataclass(frozen=True)
class Runtime:
    name: str
    folder: Path
    backend: str
    engine: str
    engine_version: str
    description: str
    images: Mapping[str, Image]  # by gfx target; its keys are the supported targets
    command: tuple[str, ...]
    model_arg: str  # "positional", or the flag (without dashes) that takes the model, e.g. "model-path"
    arg_style: ArgStyle
    flag_names: Mapping[str, str]  # role -> flag without dashes: port, host, served_model_name, tensor_parallel_size, ...
    port: int
    health_path: str
    readiness_path: str
    metrics_path: str
    default_args: Mapping[str, Any]
    env: Mapping[str, str]
    snapshot_path: Path | None  # snapshot of engine_version
    renamed_path: Path | None
    # env variable -> sub-directory: the engine's compile/JIT caches, kept on the cache volume (cache.plan)
    compile_caches: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    draft_models: tuple[DraftFlag, ...] = ()  # aimgen.planning.drafts reads them
    dockerfile_path: str = "Dockerfile"  # relative to the folder; another runtime's when only the base image differs

    @property
    def gfx_targets(self) -> tuple[str, ...]:
        return tuple(sorted(self.images))

    @property
    def dockerfile(self) -> Path:
        return self.folder / self.dockerfile_path

    def image(self, gfx: str) -> Image:
        try:
            return self.images[gfx]
        except KeyError:
            raise InvalidInput(
                f"runtime {self.name} has no image for {gfx}; it supports {', '.join(self.gfx_targets)}",
                file=str(self.folder / RUNTIME_FILE), path="images",
            ) from None

    def pins(self, image: str | None) -> bool:
        """Whether `image` (repository:tag[@digest]) is one this runtime pins for some GPU target."""
        return image is not None and image in {i.ref for i in self.images.values()}

    def image_for(self, gfx: str) -> str:
        """The image reference to run on a `gfx` GPU (repository:tag[@digest])."""
        return self.image(gfx).ref

    def flag(self, role: str) -> str | None:
        """`--name` for a role (port, host, served_model_name, tensor_parallel_size, ...), None if unset."""
        name = self.flag_names.get(role)
        return f"--{name}" if name else None

    def snapshots(self) -> dict[str, Path]:
        """Every committed snapshot in the folder by engine version (the pinned one among them)."""
        prefix = f"{self.engine}-"
        found = {}
        for path in sorted((self.folder / "snapshots").glob(f"{prefix}*.json")):
            found[path.stem[len(prefix):]] = path
        return found


def runtime_dirs() -> list[Path]:
    """Folders searched for runtimes, in order: AIMGEN_RUNTIMES_PATH entries, then the built-ins."""
    extra = [Path(p) for p in os.environ.get(ENV_RUNTIMES_PATH, "").split(os.pathsep) if p]
    return [*extra, paths.runtimes_dir()]


@lru_cache(maxsize=1)
def _schema() -> dict:
    return json.loads((paths.schemas_dir() / "runtime.schema.json").read_text())


def load_runtime(folder: Path) -> Runtime:
    """Read and validate one runtime folder; raises InvalidInput naming the file and field."""
    from aimgen.schema_check import known_valid, passed_marker, remember_valid

    file = folder / RUNTIME_FILE
    # A runtime folder may be a user's own backend: read under the same limits as every other input.
    remember = paths.shipped(file)
    doc, _ = load_with_lines(read_text(file, "runtime"), str(file), remember)
    marker = passed_marker(doc, "runtime", remember)
    if not known_valid(marker):
        import jsonschema

        validator = jsonschema.Draft202012Validator(_schema())
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        if errors:
            first = errors[0]
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise InvalidInput(f"{first.message}{more}", file=str(file), path=json_path(first.absolute_path) or None)
        remember_valid(marker)
    if doc["name"] != folder.name:
        raise InvalidInput(f"name {doc['name']!r} must equal the folder name {folder.name!r}", file=str(file),
                           path="name")
    snapshot = folder / doc["snapshot"] if doc.get("snapshot") else None
    if snapshot is not None and not snapshot.is_file():
        raise InvalidInput(f"snapshot file {doc['snapshot']} does not exist in {folder}", file=str(file),
                           path="snapshot")
    renamed = folder / doc["renamed"] if doc.get("renamed") else None
    if renamed is not None and not renamed.is_file():
        raise InvalidInput(f"renamed file {doc['renamed']} does not exist in {folder}", file=str(file), path="renamed")
    style = doc["arg_style"]
    return Runtime(
        name=doc["name"],
        folder=folder,
        backend=doc["backend"],
        engine=doc["engine"],
        engine_version=str(doc["engine_version"]),
        description=doc.get("description", ""),
        images=MappingProxyType({gfx: Image(i["repository"], i["tag"], i.get("digest"))
                                 for gfx, i in doc["images"].items()}),
        command=tuple(doc["command"]),
        model_arg=doc["model_arg"],
        arg_style=ArgStyle(style["value"], style["true_flag"], style["false_flag"], style.get("json", "compact")),
        flag_names=MappingProxyType(dict(doc["flags"])),
        port=int(doc["port"]),
        health_path=doc["health_path"],
        readiness_path=doc["readiness_path"],
        metrics_path=doc["metrics_path"],
        default_args=MappingProxyType(dict(doc.get("default_args") or {})),
        env=MappingProxyType({k: str(v) for k, v in (doc.get("env") or {}).items()}),
        snapshot_path=snapshot,
        renamed_path=renamed,
        compile_caches=MappingProxyType({k: str(v) for k, v in (doc.get("compile_caches") or {}).items()}),
        draft_models=tuple(DraftFlag(**d) for d in doc.get("draft_models") or ()),
        dockerfile_path=doc.get("dockerfile", "Dockerfile"),
    )


@lru_cache(maxsize=8)
def _discover(dirs: tuple[Path, ...]) -> Mapping[str, Runtime]:
    found: dict[str, Runtime] = {}
    for root in dirs:
        if not root.is_dir():
            continue
        for folder in sorted(p for p in root.iterdir() if (p / RUNTIME_FILE).is_file()):
            if folder.name not in found:  # earlier folders win (AIMGEN_RUNTIMES_PATH before built-ins)
                found[folder.name] = load_runtime(folder)
    return MappingProxyType(found)


def discover() -> Mapping[str, Runtime]:
    """All runtimes by name, from runtime_dirs() (cached per search path)."""
    return _discover(tuple(d.resolve() for d in runtime_dirs()))


def clear_cache() -> None:
    _discover.cache_clear()


def list_runtimes() -> list[Runtime]:
    return sorted(discover().values(), key=lambda r: r.name)


def get_runtime(name: str) -> Runtime:
    runtimes = discover()
    if name not in runtimes:
        raise UsageError(f"unknown runtime {name!r}; available: {', '.join(sorted(runtimes)) or 'none'} "
                         f"(searched {', '.join(str(d) for d in runtime_dirs())})")
    return runtimes[name]


def runtime_problem(backend: str, name: str) -> str | None:
    """Why runtime `name` cannot serve a `backend` profile (unknown, or it serves another backend), naming the
    runtimes that would; None when it can."""
    runtimes = discover()
    found = runtimes.get(name)
    if found is not None and found.backend == backend:
        return None
    what = "is not a runtime" if found is None else f"serves backend {found.backend!r}"
    serving = sorted(r.name for r in runtimes.values() if r.backend == backend)
    return f"runtime {name!r} {what}; runtimes serving {backend!r}: {', '.join(serving) or 'none'}"


def runtime_gpu_problem(backend: str, name: str | None, gpu: str, gfx: str) -> str | None:
    """Why the runtime a `backend` profile runs on (`name`, one that exists, else the backend's default) cannot run
    on `gpu` (no image for its target), naming the targets it builds for; None when it can. A runtime may cover
    fewer targets than others (sglang-0517-rocm, atom-rocm: gfx950 only), so a profile is held to them before
    render or launch refuses the GPU."""
    runtime = discover()[name] if name is not None else default_runtime(backend)
    if runtime is None or gfx in runtime.images:
        return None
    which = f"runtime {runtime.name!r}" + ("" if name is not None else f" (backend {backend}'s default)")
    return f"{which} has no image for {gpu} ({gfx}); it builds for {', '.join(runtime.gfx_targets)}"


def default_runtime(backend: str) -> Runtime | None:
    """The runtime a `backend` profile without `runtime:` runs on: `<backend>-rocm` if there is one, else the only
    runtime declaring that backend; None when there is none or several."""
    runtimes = discover()
    preferred = runtimes.get(f"{backend}-rocm")
    if preferred is not None and preferred.backend == backend:
        return preferred
    matching = [r for r in runtimes.values() if r.backend == backend]
    return matching[0] if len(matching) == 1 else None


def runtime_for_backend(backend: str, name: str | None = None) -> Runtime:
    """The runtime serving a recipe backend: `name` when a recipe profile names one (`runtime:`, which must serve
    that backend), else `<backend>-rocm` if there is one, else the only runtime declaring that backend."""
    runtimes = discover()
    if name is not None:
        problem = runtime_problem(backend, name)
        if problem:
            raise InvalidInput(problem)
        return runtimes[name]
    found = default_runtime(backend)
    if found is not None:
        return found
    matching = [r for r in runtimes.values() if r.backend == backend]
    if not matching:
        known = sorted({r.backend for r in runtimes.values()})
        raise InvalidInput(f"no runtime serves backend {backend!r}; backends with a runtime: {', '.join(known)}")
    raise InvalidInput(f"several runtimes serve backend {backend!r} ({', '.join(r.name for r in matching)}); "
                       f"name one explicitly")


def backends() -> list[str]:
    """Every recipe backend some runtime serves (built-in and custom): the choices for --backend."""
    return sorted({r.backend for r in discover().values()})
