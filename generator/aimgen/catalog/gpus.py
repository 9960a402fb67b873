"""The GPU catalog (recipes/catalog/gpus.yaml) as typed records."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from aimgen import paths
from aimgen.constants import GIB
from aimgen.errors import InvalidInput
from aimgen.loading import load_checked



@dataclass(frozen=True)
class Gpu:
    name: str  # catalog key, e.g. "mi300x"
    product: str  # "MI300X"
    arch: str
    gfx: str
    vram_gib: int
    fp8: str  # "none" | "fnuz" | "ocp"
    mxfp4: bool
    gpus_per_node: int
    product_names: tuple[str, ...]
    device_ids: tuple[str, ...]
    family: str
    vram_label: str
    memory_bandwidth_tbs: float | None = None

    @property
    def vram_bytes(self) -> int:
        return self.vram_gib * GIB

    @property
    def supports_fp8(self) -> bool:
        return self.fp8 != "none"

    def supports(self, precision: str) -> bool:
        if precision == "fp8":
            return self.supports_fp8
        if precision == "mxfp4":
            return self.mxfp4
        return True


@lru_cache(maxsize=None)
def load_gpus() -> dict[str, Gpu]:
    data, _ = load_checked(paths.recipes_dir() / "catalog" / "gpus.yaml", "gpu-catalog", "GPU catalog")
    out = {}
    for name, g in data["gpus"].items():
        labels = g["node_labels"]
        out[name] = Gpu(
            name=name,
            product=g["product"],
            arch=g["arch"],
            gfx=g["gfx"],
            vram_gib=g["vram_gib"],
            fp8=g["fp8"],
            mxfp4=g["mxfp4"],
            gpus_per_node=g["gpus_per_node"],
            product_names=tuple(labels["product_names"]),
            device_ids=tuple(labels["device_ids"]),
            family=labels["family"],
            vram_label=labels["vram"],
            memory_bandwidth_tbs=g.get("memory_bandwidth_tbs"),
        )
    return out


def get_gpu(name: str, *, field: str = "--gpu") -> Gpu:
    gpus = load_gpus()
    key = name.strip().lower().replace("-", "").replace("_", "")
    if key.startswith("amdinstinct"):
        key = key[len("amdinstinct"):]
    if key in gpus:
        return gpus[key]
    raise InvalidInput(f"unknown GPU {name!r}; known GPUs: {', '.join(sorted(gpus))}", path=field)
