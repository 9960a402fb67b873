"""Name detected GPUs with the catalog's names (mi300x, mi325x, mi355x, mi250x, ...).

Pure. A catalog entry is anything with `name`, `gfx`, `device_ids` (lower-case hex without 0x, as the AMD
node labeller writes amd.com/gpu.device-id), `product_names` (node-labeller spelling) and `vram_gib`, such as
aimgen.catalog.gpus.Gpu. The PCI device id decides; the product name breaks ties (0x740c is MI250X and MI250)
or stands in when no id was reported; gfx target plus VRAM size is the last resort.
"""

from __future__ import annotations

import re
from typing import Iterable, Protocol, Sequence

from aimgen.errors import EnvironmentProblem
from aimgen.launch.detect import Detection, DetectedGPU


class CatalogGpu(Protocol):
    name: str
    gfx: str
    device_ids: Sequence[str]
    product_names: Sequence[str]
    vram_gib: int


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def _product_score(entry: CatalogGpu, product_name: str) -> int:
    """How specifically the detected product string names this entry: the longest model token it shares
    ("mi250x" beats "mi250" in "AMD Instinct MI250X / MI250")."""
    detected = _words(product_name)
    tokens = {entry.name.lower()} | {w for label in entry.product_names for w in _words(label) if w.startswith("mi")}
    return max((len(t) for t in tokens if t in detected), default=0)


def match_gpu(detected: Detection | DetectedGPU, catalog: Iterable[CatalogGpu]) -> CatalogGpu:
    gpu = detected.first if isinstance(detected, Detection) else detected
    entries = list(catalog)
    candidates: list[CatalogGpu] = []
    if gpu.device_id is not None:
        key = f"{gpu.device_id:04x}"
        candidates = [e for e in entries if key in {d.lower().removeprefix("0x") for d in e.device_ids}]
    if len(candidates) != 1 and gpu.product_name:
        pool = candidates or entries
        scored = [(e, _product_score(e, gpu.product_name)) for e in pool]
        best = max((s for _, s in scored), default=0)
        if best:
            candidates = [e for e, s in scored if s == best]
    if not candidates and gpu.gfx and gpu.vram_gib:
        # Only unpartitioned devices report the board's full memory.
        candidates = [e for e in entries if e.gfx == gpu.gfx and abs(e.vram_gib - gpu.vram_gib) <= 0.06 * e.vram_gib]
    if len(candidates) == 1:
        return candidates[0]
    identity = ", ".join(f"{k}={v}" for k, v in (("device_id", gpu.device_id_hex), ("product", gpu.product_name),
                                                  ("gfx", gpu.gfx), ("vram_gib", gpu.vram_gib and round(gpu.vram_gib)))
                         if v)
    if not candidates:
        raise EnvironmentProblem(f"GPU not in the catalog ({identity}); known: {', '.join(sorted(e.name for e in entries))}"
                                 " — add it to recipes/catalog/gpus.yaml")
    raise EnvironmentProblem(f"GPU ({identity}) matches several catalog entries: {', '.join(e.name for e in candidates)}")
