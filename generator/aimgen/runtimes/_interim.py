"""INTERIM (lead): a hard-coded stand-in for aimgen.runtimes.registry until the runtimes helper's registry lands.
The runtimes helper: replace this file's use in compose.py with the real registry and delete it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class InterimRuntime:
    name: str
    engine: str
    engine_version: str
    images: dict = field(hash=False)
    command: tuple
    model_arg: str
    flag_names: dict = field(hash=False)
    port: int = 8080
    health_path: str = "/health"
    metrics_path: str = "/metrics"

    def image_for(self, gfx: str) -> str:
        return self.images.get(gfx) or self.images["default"]


VLLM = InterimRuntime(
    name="vllm-rocm", engine="vllm", engine_version="0.22.0",
    images={"default": "docker.io/vllm/vllm-openai-rocm:v0.22.0"},
    command=("vllm", "serve"), model_arg="positional",
    flag_names={"served_model_name": "served-model-name", "port": "port", "tensor_parallel_size": "tensor-parallel-size",
                "pipeline_parallel_size": "pipeline-parallel-size", "revision": "revision"},
)
SGLANG = InterimRuntime(
    name="sglang-rocm", engine="sglang", engine_version="0.5.12",
    images={"gfx942": "docker.io/lmsysorg/sglang:v0.5.12-rocm700-mi30x", "gfx950": "docker.io/lmsysorg/sglang:v0.5.12-rocm700-mi35x",
            "default": "docker.io/lmsysorg/sglang:v0.5.12-rocm700-mi30x"},
    command=("python3", "-m", "sglang.launch_server"), model_arg="model-path",
    flag_names={"served_model_name": "served-model-name", "port": "port", "tensor_parallel_size": "tp",
                "pipeline_parallel_size": "pp-size", "revision": "revision"},
)


def runtime_for_backend(backend: str) -> InterimRuntime:
    return {"vllm": VLLM, "sglang": SGLANG}[backend]
