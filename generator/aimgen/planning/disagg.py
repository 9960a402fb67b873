"""Prefill/decode disaggregation shapes (recipes/catalog/disaggregation.yaml): which cited P/D configuration
serves a model on a GPU, or why there is none."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from aimgen import paths
from aimgen.errors import NoFeasiblePlan
from aimgen.loading import load_checked

# vLLM's NixlConnector: KV blocks move over NIXL (RIXL, AMD's port, on ROCm) with UCX underneath; the peers find
# each other through a side channel on VLLM_NIXL_SIDE_CHANNEL_HOST (default localhost, which another pod cannot
# reach), so each pod announces its own IP. Env names from runtimes/vllm-rocm/snapshots/vllm-0.31.0.json.
NIXL_SIDE_CHANNEL_HOST = "VLLM_NIXL_SIDE_CHANNEL_HOST"
CONNECTOR_POD_IP_ENV = {"NixlConnector": (NIXL_SIDE_CHANNEL_HOST,)}


@dataclass(frozen=True)
class Role:
    replicas: int
    tensor_parallel_size: int
    kv_role: str
    args: dict
    env: dict


@dataclass(frozen=True)
class PdConfig:
    id: str
    model: str
    gpu: str
    precision: str
    backend: str
    connector: str
    prefill: Role
    decode: Role
    source_title: str
    source_url: str

    def kv_transfer_config(self, role: Role) -> dict:
        """vLLM's --kv-transfer-config for one role (compact JSON once spelled by the argv builder)."""
        return {"kv_connector": self.connector, "kv_role": role.kv_role}


def _role(r: dict) -> Role:
    return Role(r["replicas"], r["tensor_parallel_size"], r["kv_role"], dict(r.get("args", {})), dict(r.get("env", {})))


@lru_cache(maxsize=None)
def load_configs() -> tuple[PdConfig, ...]:
    data, _ = load_checked(paths.recipes_dir() / "catalog" / "disaggregation.yaml", "disaggregation",
                           "P/D configuration")
    return tuple(
        PdConfig(c["id"], c["model"], c["gpu"], c["precision"], c["backend"], c["connector"], _role(c["prefill"]),
                 _role(c["decode"]), c["source"]["title"], c["source"]["url"])
        for c in data["configs"]
    )


def find(model: str, gpu: str, precision: str, backend: str) -> PdConfig:
    """The cited P/D configuration for this model x GPU x precision x backend, or NoFeasiblePlan naming those
    that exist."""
    for c in load_configs():
        if (c.model, c.gpu, c.precision, c.backend) == (model, gpu, precision, backend):
            return c
    known = "; ".join(f"{c.model} on {c.gpu} ({c.precision}, {c.backend})" for c in load_configs()) or "none"
    raise NoFeasiblePlan(
        f"--disaggregate: no cited prefill/decode configuration for {model} on {gpu} ({precision}, {backend}); "
        f"known: {known} (recipes/catalog/disaggregation.yaml); serve it without --disaggregate"
    )
