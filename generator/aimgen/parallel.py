"""How one replica's GPUs are split: tensor, pipeline and data parallelism, expert parallelism for MoE layers, and
the nodes the replica spans. The planner decides it (`moe_parallelism`), recipes state it, the renderers read it;
KServe's InferenceService worker group and an LLMInferenceService `worker` section are both built from it.

vLLM's rules, from its own parser help (runtimes/vllm-rocm/snapshots/vllm-0.31.0.json):
- world size = TP x PP x DP; `--data-parallel-size`: "MoE layers will be sharded according to the product of the
  tensor ... and data parallel sizes", so the routed experts are spread over TP x DP GPUs while attention, dense
  MLPs and shared experts are replicated in each DP rank (each rank has its own KV cache and batch);
- `--enable-expert-parallel`: "use expert parallelism instead of tensor parallelism for MoE layers": whole experts
  per GPU (TP x DP of them share the routed experts) exchanging tokens through `--all2all-backend`;
- `--data-parallel-backend` defaults to "mp" and `--distributed-executor-backend` takes "mp" with `--nnodes`,
  `--node-rank`, `--master-addr`: no Ray needed across nodes.
"""

from __future__ import annotations

from dataclasses import dataclass

# vLLM's default all-to-all (its --all2all-backend default in 0.31.0) and the one AMD's ROCm guide sets for
# DeepSeek-R1 DP8 + EP on MI300X/MI355X (reference record rocmdoc-dsr1-dp8-ep, VLLM_ALL2ALL_BACKEND then).
# The MoRI backends (mori_low_latency, InferenceX multi_node/amd_utils/models_vllm.yaml) need MoRI and RDMA NICs
# in the image and the pods: a recipe may pin them; the planner does not assume them.
DEFAULT_ALL2ALL = "allgather_reducescatter"


@dataclass(frozen=True)
class Parallelism:
    """One replica's split of its GPUs. Plain numbers; every renderer derives its fields from these."""

    tensor: int
    pipeline: int = 1
    data: int = 1
    expert: bool = False  # --enable-expert-parallel
    nodes: int = 1
    all2all_backend: str | None = None

    @property
    def world_size(self) -> int:
        return self.tensor * self.pipeline * self.data

    @property
    def gpus_per_node(self) -> int:
        return self.world_size // self.nodes

    @property
    def data_local(self) -> int:
        """DP ranks on each node (vLLM --data-parallel-size-local)."""
        return self.data // self.nodes if self.data >= self.nodes else self.data

    @property
    def expert_shards(self) -> int:
        """GPUs the routed experts of one layer are spread over (per pipeline stage)."""
        return self.tensor * self.data

    @property
    def label(self) -> str:
        text = f"TP{self.tensor}"
        if self.pipeline > 1:
            text += f" x PP{self.pipeline}"
        if self.data > 1:
            text += f" x DP{self.data}"
        if self.expert:
            text += f" (EP{self.expert_shards})"
        return text

    def problems(self) -> list[str]:
        """Why this split cannot run as nodes of equal pods, or [] when it can."""
        out = []
        if min(self.tensor, self.pipeline, self.data, self.nodes) < 1:
            out.append("every size must be at least 1")
            return out
        if self.world_size % self.nodes:
            out.append(f"{self.label} ({self.world_size} GPUs) does not split evenly over {self.nodes} nodes")
        elif self.nodes > 1 and self.pipeline > 1 and self.data > 1:
            out.append(f"{self.label}: across nodes either PP (one stage per node) or DP (ranks per node), not both")
        elif self.nodes > 1 and self.pipeline > 1 and self.pipeline != self.nodes:
            out.append(f"{self.label}: one pipeline stage per node needs PP = nodes ({self.nodes})")
        elif self.nodes > 1 and self.data > 1 and self.data % self.nodes:
            out.append(f"DP{self.data} does not split evenly over {self.nodes} nodes")
        return out

    def as_dict(self) -> dict:
        """Stable keys for `aimgen explain --json` and the Helm values."""
        return {
            "tensor": self.tensor,
            "pipeline": self.pipeline,
            "data": self.data,
            "dataLocal": self.data_local,
            "expert": self.expert,
            "nodes": self.nodes,
            "worldSize": self.world_size,
            "gpusPerNode": self.gpus_per_node,
            "all2allBackend": self.all2all_backend or "",
        }


def or_plain(parallelism: Parallelism | None, tensor: int, pipeline: int, nodes: int) -> Parallelism:
    """The split a plan or a serving spec carries; a hand-built one without it is plain TP x PP over its nodes."""
    return parallelism or Parallelism(tensor, pipeline, nodes=nodes)


def from_flags(gpus: int, nodes: int, args: dict) -> Parallelism:
    """A recipe profile's split: `gpus` in all over `nodes`; `data-parallel-size` and `enable-expert-parallel` in
    its args as the expert's command has them; TP is what remains. Without DP, nodes > 1 means one PP stage per
    node (the ROCm guide's TP8 x PP2 for Llama-3.1-405B); with DP the ranks spread over the nodes instead."""
    data = int(args.get("data-parallel-size", 1) or 1)
    pipeline = nodes if data == 1 else 1
    tensor = max(1, gpus // (data * pipeline))
    expert = args.get("enable-expert-parallel") is True
    backend = args.get("all2all-backend")
    return Parallelism(tensor=tensor, pipeline=pipeline, data=data, expert=expert, nodes=nodes,
                       all2all_backend=str(backend) if backend else None)
