"""Data and expert parallelism for MoE models: when the smallest TP (x PP) shape is better served as DP ranks with
the experts spread over all GPUs, as AMD's own configs run them.

- One node, throughput, MLA model (DeepSeek-V3/R1 family): TP1 x DP(n) + EP, "DP attention". MLA keeps the whole
  KV latent on every TP rank (docs/planner.md), so TP n stores each token's KV n times; n DP ranks store it once.
  Source: AMD's ROCm vLLM optimization guide, DeepSeek-R1 `-dp 8 --enable-expert-parallel` on MI300X/MI355X
  (reference record rocmdoc-dsr1-dp8-ep); InferenceX runs DeepSeek with `dp-attn: true` at concurrency >= 64
  (configs/amd-master.yaml dsr1-fp8-mi355x-sglang search space).
- One node otherwise: TP (the same guide: "for single-node MI300X/MI355X prefer TP over EP for MoE").
- More than one node: DP ranks across the nodes with EP instead of pipeline stages, when it fits (replicated
  attention costs memory that PP would not): every node works on every step instead of waiting its stage's turn.
  Source: InferenceX's multi-node AMD runs shard MoE with EP and DP attention across MI355X nodes
  (configs/amd-master.yaml `*-disagg` entries: `ep: 8`, `dp-attn: true`); ROCm MAD maps M nodes to DP M
  (reference record mad-mi250-qwen3-8b).
"""

from __future__ import annotations

from aimgen.catalog.nodepool import NodePool
from aimgen.planning.fit import gib
from aimgen.parallel import DEFAULT_ALL2ALL, Parallelism
from aimgen.planning.search import Candidate, Search, Target, evaluate


def _arithmetic(t: Target, cand: Candidate, par: Parallelism, length: int) -> list[str]:
    """Experts per GPU and KV per DP rank: the numbers `aimgen explain` shows for a DP/EP shape."""
    from aimgen.planning.fit import tokens_that_fit

    moe = t.arch.moe
    per_gpu = -(-moe.num_experts // par.expert_shards)
    tokens = tokens_that_fit(cand.budget, length)
    return [
        f"experts: {moe.num_experts} routed experts per MoE layer over EP{par.expert_shards} (TP{par.tensor} x "
        f"DP{par.data}) = {per_gpu} per GPU; attention and shared weights replicated in each of the {par.data} "
        f"DP ranks: {gib(cand.budget.weights_per_gpu)} weights per GPU",
        f"KV per DP rank: {gib(max(0, cand.budget.kv_available))} per GPU x TP{par.tensor} holds {tokens:,} tokens "
        f"({tokens / length:.1f} sequences of {length:,}); {par.data} ranks hold {tokens * par.data:,} in all",
        f"all-to-all: --all2all-backend {par.all2all_backend} (vLLM's default, the one AMD's ROCm guide uses for "
        "DP + EP; the MoRI backends need MoRI and RDMA NICs: pin them in a recipe)",
    ]


def moe_parallelism(t: Target, pool: NodePool, found: Search, backend: str) -> tuple[Parallelism, Candidate, list[str]]:
    """The split for the chosen shape, the candidate whose budget it uses, and the reasons."""
    c = found.chosen
    base = Parallelism(tensor=c.tp, pipeline=c.pp, nodes=c.pp)
    if not t.arch.is_moe or c.gpus == 1:
        return base, c, []
    if backend != "vllm":
        return base, c, [f"MoE on SGLang: {base.label} kept (DP/EP is planned for vLLM; SGLang spells it "
                         "--dp-size/--ep-size/--enable-dp-attention)"]
    length = found.max_model_len
    if c.pp > 1:
        options = ([(1, c.gpus)] if t.arch.mla else []) + [(c.tp, c.pp)]
        rejected = []
        for tp, dp in options:
            cand = evaluate(t, tp, 1, length, dp)
            par = Parallelism(tp, 1, dp, True, nodes=c.pp, all2all_backend=DEFAULT_ALL2ALL)
            if cand.fits:
                why = (f"{par.label} across {c.pp} nodes instead of {c.label}: with pipeline stages each node "
                       f"waits for the other's; with DP ranks and expert parallelism every node works on every "
                       f"step (InferenceX shards MoE over AMD nodes with EP and DP attention)")
                return par, cand, [why, *_arithmetic(t, cand, par, length)]
            rejected.append(f"{par.label} needs {gib(cand.budget.weights_per_gpu)} weights per GPU (attention "
                            f"replicated per DP rank), leaving {gib(max(0, cand.budget.kv_available))} for KV")
        return base, c, [f"DP/EP across {c.pp} nodes rejected: {'; '.join(rejected)}; {c.label} kept"]
    if t.metric == "throughput" and t.arch.mla:
        rejected = []
        # The TP shape's GPUs first; else the whole node, as the ROCm guide's DP8 does.
        for dp in sorted({c.tp, pool.gpus_per_node}):
            cand = evaluate(t, 1, 1, length, dp)
            par = Parallelism(1, 1, dp, True, nodes=1, all2all_backend=DEFAULT_ALL2ALL)
            if cand.fits:
                why = (f"{par.label} instead of {c.label}: MLA keeps each token's whole KV latent on every GPU of a "
                       f"TP group, so TP{c.tp} holds one copy per {c.tp} GPUs; DP ranks with TP1 hold one per GPU "
                       "(DP attention: AMD's ROCm guide runs DeepSeek-R1 as DP8 + EP on MI300X/MI355X)")
                return par, cand, [why, *_arithmetic(t, cand, par, length)]
            rejected.append(f"{par.label}: {gib(cand.budget.weights_per_gpu)} weights per GPU leave "
                            f"{gib(max(0, cand.budget.kv_available))} for KV")
        return base, c, [f"DP attention rejected ({'; '.join(rejected)}); {c.label} kept"]
    return base, c, [f"MoE on one node: {c.label} (AMD's ROCm guide prefers TP over EP on a single node; DP "
                     "attention is planned for MLA models at the throughput metric)"]
