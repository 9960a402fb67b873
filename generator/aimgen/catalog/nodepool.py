"""Node pools: what a pool of AMD GPU nodes offers and how pods are placed on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aimgen.catalog.gpus import Gpu, get_gpu
from aimgen.errors import InvalidInput
from aimgen.loading import load_checked

DEFAULT_CPU_PER_GPU = 8
DEFAULT_MEMORY_GIB_PER_GPU = 64


@dataclass(frozen=True)
class NodePool:
    name: str
    gpu: Gpu
    gpus_per_node: int
    nodes: int = 1
    cpu_per_gpu: int = DEFAULT_CPU_PER_GPU
    memory_gib_per_gpu: int = DEFAULT_MEMORY_GIB_PER_GPU
    node_selector: dict[str, str] = field(default_factory=dict, hash=False)
    match_device_ids: bool = True
    tolerations: tuple[dict, ...] = ()
    storage_class: str | None = None
    cache_access_mode: str = "ReadWriteMany"
    priority_class_name: str | None = None

    @property
    def total_gpus(self) -> int:
        return self.gpus_per_node * self.nodes


# Dedicated GPU nodes are commonly tainted with the device resource name; tolerating it is harmless elsewhere.
DEFAULT_TOLERATIONS = ({"key": "amd.com/gpu", "operator": "Exists", "effect": "NoSchedule"},)


def default_pool(gpu: Gpu) -> NodePool:
    return NodePool(name=f"{gpu.name}-pool", gpu=gpu, gpus_per_node=gpu.gpus_per_node, tolerations=DEFAULT_TOLERATIONS)


def api_problems(data: dict) -> list[tuple[str, str]]:
    """(field, why) for each placement value the API server would refuse on the serving pods or the claim:
    the schema checks types, apirules the syntax Kubernetes' Go validation enforces (loaded with a pool file only:
    the default pools need none of it)."""
    from aimgen.validate import apirules

    out = [(f"nodeSelector{k}", why) for k, why in apirules.node_selector(data.get("nodeSelector", {}))]
    for i, t in enumerate(data.get("tolerations", ())):
        out += [(f"tolerations[{i}]{'.' + f if f else ''}", why) for f, why in apirules.toleration(t)]
    for field in ("priorityClassName", "storageClass"):
        value = data.get(field)
        if value is not None and (why := apirules.dns1123_subdomain(value)):
            out.append((field, f"{value!r} {why}"))
    return out


def load_node_pool(path: Path, gpu_override: str | None = None) -> NodePool:
    data, _ = load_checked(Path(path), "node-pool", "node pool")
    problems = api_problems(data)
    if problems:
        field, why = problems[0]
        raise InvalidInput(why, file=str(path), path=field)
    gpu = get_gpu(data["gpu"], field="gpu")
    if gpu_override is not None and get_gpu(gpu_override).name != gpu.name:
        raise InvalidInput(
            f"--gpu {gpu_override} contradicts the node pool's gpu {data['gpu']!r}; drop --gpu or fix the pool",
            file=str(path), path="gpu",
        )
    gpus_per_node = data.get("gpusPerNode", gpu.gpus_per_node)
    return NodePool(
        name=data["name"],
        gpu=gpu,
        gpus_per_node=gpus_per_node,
        nodes=data.get("nodes", 1),
        cpu_per_gpu=data.get("cpuPerGpu", DEFAULT_CPU_PER_GPU),
        memory_gib_per_gpu=data.get("memoryGiBPerGpu", DEFAULT_MEMORY_GIB_PER_GPU),
        node_selector=dict(data.get("nodeSelector", {})),
        match_device_ids=data.get("matchDeviceIds", True),
        tolerations=tuple(data.get("tolerations", DEFAULT_TOLERATIONS)),
        storage_class=data.get("storageClass"),
        cache_access_mode=data.get("cacheAccessMode", "ReadWriteMany"),
        priority_class_name=data.get("priorityClassName"),
    )
