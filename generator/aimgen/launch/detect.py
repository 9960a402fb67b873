"""Find the AMD GPUs this container can use: amd-smi JSON, else rocm-smi JSON, else the KFD topology in sysfs.

Tools are looked up on PATH and sysfs is read under AIMGEN_SYSFS_ROOT (default /), so tests replay recorded
outputs by putting fake `amd-smi` / `rocm-smi` scripts on PATH and a recorded tree under a temp root. The
parsers are pure functions of the text they are given; only `detect()` runs commands and reads files.
ROCR_VISIBLE_DEVICES, then HIP_VISIBLE_DEVICES, narrow the list the way the ROCm runtime does.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from aimgen.constants import GIB
from aimgen.errors import EnvironmentProblem

MIB = 1024**2
TOOL_TIMEOUT_S = 30
AMD_VENDOR_ID = 0x1002
KFD_NODES = Path("sys/class/kfd/kfd/topology/nodes")


@dataclass(frozen=True)
class DetectedGPU:
    index: int  # enumeration order of the tool that found it (HIP/ROCR device index)
    gfx: str | None  # gfx942
    device_id: int | None  # PCI device id, 0x74a1
    product_name: str | None  # "AMD Instinct MI300X" (marketing or board FRU name)
    vram_bytes: int | None
    compute_units: int | None = None
    compute_partition: str | None = None  # SPX / DPX / QPX / CPX
    memory_partition: str | None = None  # NPS1 / NPS4
    uuid: str | None = None
    bdf: str | None = None

    @property
    def vram_gib(self) -> float | None:
        return self.vram_bytes / GIB if self.vram_bytes else None

    @property
    def device_id_hex(self) -> str | None:
        return f"0x{self.device_id:04x}" if self.device_id is not None else None


@dataclass(frozen=True)
class Detection:
    gpus: tuple[DetectedGPU, ...]
    source: str  # amd-smi | rocm-smi | sysfs

    @property
    def count(self) -> int:
        return len(self.gpus)

    @property
    def first(self) -> DetectedGPU:
        return self.gpus[0]

    def as_dict(self) -> dict[str, Any]:
        g = self.first
        return {"source": self.source, "count": self.count, "gfx": g.gfx, "device_id": g.device_id_hex,
                "product_name": g.product_name, "vram_gib": round(g.vram_gib, 1) if g.vram_gib else None,
                "compute_partition": g.compute_partition, "memory_partition": g.memory_partition}


# ----------------------------------------------------------------------------------------------------
# value helpers
# ----------------------------------------------------------------------------------------------------

def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().upper() in ("", "N/A", "NA", "UNKNOWN"))


def _int(value: Any) -> int | None:
    if _missing(value) or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(float(text))
    except ValueError:
        return None


_UNITS = {"B": 1, "KB": 1024, "KIB": 1024, "MB": MIB, "MIB": MIB, "GB": GIB, "GIB": GIB}


def _bytes(value: Any, default_unit: str = "MB") -> int | None:
    """amd-smi sizes: {"value": 196592, "unit": "MB"} (ROCm 6.4+), "196592 MB", or a bare number in MB."""
    if isinstance(value, Mapping):
        number, unit = _int(value.get("value")), str(value.get("unit") or default_unit).upper()
    else:
        match = re.match(r"^\s*([0-9.]+)\s*([A-Za-z]*)\s*$", str(value)) if not _missing(value) else None
        if not match:
            return None
        number, unit = _int(match.group(1)), (match.group(2) or default_unit).upper()
    if number is None or unit not in _UNITS:
        return None
    return number * _UNITS[unit]


def _lower_keys(record: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k).strip().lower(): v for k, v in record.items()}


def gfx_from_target_version(value: int) -> str | None:
    """KFD packs the ISA as decimal major*10000 + minor*100 + stepping, minor and stepping printed in hex:
    90402 -> gfx942, 90010 -> gfx90a, 90500 -> gfx950. 0 is a CPU node."""
    if not value:
        return None
    major, minor, step = value // 10000, (value // 100) % 100, value % 100
    return f"gfx{major}{minor:x}{step:x}"


# ----------------------------------------------------------------------------------------------------
# parsers (pure)
# ----------------------------------------------------------------------------------------------------

def parse_amd_smi(text: str) -> list[DetectedGPU]:
    """`amd-smi static --json`: a list of GPU records (ROCm 6.x) or {"gpu_data": [...]} (ROCm 7.x)."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise EnvironmentProblem(f"amd-smi printed something that is not JSON ({exc})") from None
    records = doc.get("gpu_data", doc.get("gpus", [doc])) if isinstance(doc, dict) else doc
    gpus = []
    for position, record in enumerate(r for r in records if isinstance(r, Mapping)):
        asic = record.get("asic") if isinstance(record.get("asic"), Mapping) else {}
        vram = record.get("vram") if isinstance(record.get("vram"), Mapping) else {}
        board = record.get("board") if isinstance(record.get("board"), Mapping) else {}
        part = record.get("partition") if isinstance(record.get("partition"), Mapping) else {}
        bus = record.get("bus") if isinstance(record.get("bus"), Mapping) else {}
        if "size" in vram:
            size = _bytes(vram["size"])
        else:  # ROCm 6.0-6.2 spelled it vram_size_mb / vram_size (MB)
            size = _bytes(vram.get("vram_size_mb", vram.get("vram_size")))
        name = asic.get("market_name")
        if _missing(name):
            name = board.get("product_name")
        partition = part.get("accelerator_partition", part.get("compute_partition"))
        gpus.append(DetectedGPU(
            index=_int(record.get("gpu")) if _int(record.get("gpu")) is not None else position,
            gfx=None if _missing(asic.get("target_graphics_version")) else str(asic["target_graphics_version"]),
            device_id=_int(asic.get("device_id")),
            product_name=None if _missing(name) else str(name),
            vram_bytes=size,
            compute_units=_int(asic.get("num_compute_units")),
            compute_partition=None if _missing(partition) else str(partition).upper(),
            memory_partition=None if _missing(part.get("memory_partition")) else str(part["memory_partition"]).upper(),
            uuid=None if _missing(record.get("uuid")) else str(record["uuid"]),
            bdf=None if _missing(bus.get("bdf")) else str(bus["bdf"]),
        ))
    return gpus


def parse_rocm_smi(text: str) -> list[DetectedGPU]:
    """`rocm-smi --showproductname --showmeminfo vram --showuniqueid --json`: {"card0": {...}, ..., "system": {...}};
    key spelling varies between releases ("Card Series" / "Card series"), so keys are matched case-insensitively."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise EnvironmentProblem(f"rocm-smi printed something that is not JSON ({exc})") from None
    cards = sorted(((int(k[4:]), v) for k, v in doc.items() if re.fullmatch(r"card\d+", k) and isinstance(v, Mapping)),
                   key=lambda kv: kv[0])
    gpus = []
    for position, (_, raw) in enumerate(cards):
        card = _lower_keys(raw)
        name = card.get("card series") or card.get("card model") or card.get("product name")
        device = card.get("device id") or card.get("card model")
        if _int(device) is None or not str(device).lower().startswith("0x"):
            device = None
        gfx = card.get("gfx version")
        size = card.get("vram total memory (b)")
        gpus.append(DetectedGPU(
            index=position,
            gfx=None if _missing(gfx) else str(gfx),
            device_id=_int(device),
            product_name=None if _missing(name) else str(name),
            vram_bytes=_int(size),
            uuid=None if _missing(card.get("unique id")) else str(card["unique id"]),
        ))
    return gpus


def _properties(path: Path) -> dict[str, int]:
    out = {}
    try:
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2 and re.fullmatch(r"-?\d+", parts[1]):
                out[parts[0]] = int(parts[1])
    except OSError:
        pass
    return out


def read_kfd_topology(root: Path) -> list[DetectedGPU]:
    """GPU nodes of /sys/class/kfd/kfd/topology/nodes/*/properties under `root` (CPU nodes have no
    gfx_target_version). VRAM from the node's mem_banks; the board name from its DRM render node."""
    nodes_dir = root / KFD_NODES
    if not nodes_dir.is_dir():
        return []
    nodes = sorted((p for p in nodes_dir.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    gpus = []
    for node in nodes:
        props = _properties(node / "properties")
        gfx = gfx_from_target_version(props.get("gfx_target_version", 0))
        if gfx is None or props.get("simd_count", 0) == 0:
            continue
        vram = 0
        for bank in sorted((node / "mem_banks").glob("*/properties")):
            bank_props = _properties(bank)
            if bank_props.get("heap_type") in (1, 2):  # frame buffer, public and private
                vram = max(vram, bank_props.get("size_in_bytes", 0))
        vram = vram or props.get("local_mem_size", 0)
        name = None
        minor = props.get("drm_render_minor")
        if minor is not None:
            product = root / f"sys/class/drm/renderD{minor}/device/product_name"
            try:
                name = product.read_text().strip() or None
            except OSError:
                name = None
        simd_per_cu = props.get("simd_per_cu") or 4
        gpus.append(DetectedGPU(
            index=len(gpus),
            gfx=gfx,
            device_id=props.get("device_id"),
            product_name=name,
            vram_bytes=vram or None,
            compute_units=props["simd_count"] // simd_per_cu,
            uuid=f"GPU-{props['unique_id']:016x}" if props.get("unique_id") else None,
        ))
    return gpus


# ----------------------------------------------------------------------------------------------------
# visibility
# ----------------------------------------------------------------------------------------------------

def _select(gpus: Sequence[DetectedGPU], spec: str, variable: str) -> list[DetectedGPU]:
    chosen = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        if re.fullmatch(r"\d+", item):
            if int(item) >= len(gpus):
                raise EnvironmentProblem(f"{variable}={spec} names device {item} but only {len(gpus)} are present")
            chosen.append(gpus[int(item)])
            continue
        match = [g for g in gpus if g.uuid and g.uuid.lower().removeprefix("gpu-") == item.lower().removeprefix("gpu-")]
        if not match:
            raise EnvironmentProblem(f"{variable}={spec}: no visible GPU has UUID {item}")
        chosen.extend(match)
    return chosen


def apply_visibility(gpus: Sequence[DetectedGPU], env: Mapping[str, str]) -> list[DetectedGPU]:
    """ROCR_VISIBLE_DEVICES selects from the devices present; HIP_VISIBLE_DEVICES (or CUDA_VISIBLE_DEVICES)
    indexes into what ROCR left, as the ROCm runtime layers them. An empty value hides every device."""
    visible = list(gpus)
    if "ROCR_VISIBLE_DEVICES" in env:
        visible = _select(visible, env["ROCR_VISIBLE_DEVICES"], "ROCR_VISIBLE_DEVICES")
    for variable in ("HIP_VISIBLE_DEVICES", "CUDA_VISIBLE_DEVICES"):
        if variable in env:
            visible = _select(visible, env[variable], variable)
            break
    return [replace(g, index=i) for i, g in enumerate(visible)]


# ----------------------------------------------------------------------------------------------------
# detection (I/O)
# ----------------------------------------------------------------------------------------------------

def _run(tool: str, args: list[str], env: Mapping[str, str]) -> str | None:
    path = shutil.which(tool, path=env.get("PATH", os.defpath))
    if path is None:
        return None
    try:
        done = subprocess.run([path, *args], capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, env=dict(env))
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0 or not done.stdout.strip():
        return None
    return done.stdout


AMD_SMI_ARGS = ["static", "--asic", "--vram", "--board", "--partition", "--bus", "--json"]
ROCM_SMI_ARGS = ["--showproductname", "--showid", "--showmeminfo", "vram", "--showuniqueid", "--json"]


def detect(env: Mapping[str, str] | None = None) -> Detection:
    """The visible AMD GPUs, from the first source that answers. Raises EnvironmentProblem when none does."""
    env = dict(os.environ if env is None else env)
    tried = []
    found: list[DetectedGPU] = []
    source = ""
    text = _run("amd-smi", AMD_SMI_ARGS, env)
    tried.append("amd-smi" + ("" if text else " (not found or failed)"))
    if text:
        found, source = parse_amd_smi(text), "amd-smi"
    if not found:
        text = _run("rocm-smi", ROCM_SMI_ARGS, env)
        tried.append("rocm-smi" + ("" if text else " (not found or failed)"))
        if text:
            found, source = parse_rocm_smi(text), "rocm-smi"
    if not found:
        root = Path(env.get("AIMGEN_SYSFS_ROOT") or "/")
        found, source = read_kfd_topology(root), "sysfs"
        tried.append(f"{root / KFD_NODES}")
    if not found:
        raise EnvironmentProblem(
            "no AMD GPU found (tried " + ", ".join(tried) + "); run the container with the AMD device plugin's "
            "amd.com/gpu resource, or /dev/kfd and /dev/dri mapped in"
        )
    visible = apply_visibility(found, env)
    if not visible:
        raise EnvironmentProblem(f"{len(found)} AMD GPU(s) found by {source} but ROCR/HIP_VISIBLE_DEVICES hides all of them")
    kinds = {(g.gfx, g.device_id, g.vram_bytes) for g in visible}
    if len(kinds) > 1:
        raise EnvironmentProblem(f"the visible GPUs differ ({sorted(map(str, kinds))}); one launch serves one GPU type: "
                                 "narrow HIP_VISIBLE_DEVICES")
    return Detection(tuple(visible), source)
