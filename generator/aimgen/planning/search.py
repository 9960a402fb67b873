"""The shape search: which TP x PP shapes vLLM can shard a model to, which of them fit, and — when none does —
a shorter planned context or one line saying what would work.

Order tried: TP = 1..GPUs-per-node on one node, then (one node too small) the largest valid TP inside each node
with pipeline parallelism across 2, 3, ... nodes. The first that fits wins: the smallest shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from aimgen.catalog.gpus import Gpu
from aimgen.catalog.models import CatalogModel
from aimgen.catalog.nodepool import NodePool
from aimgen.errors import AimgenError, NoFeasiblePlan
from aimgen.planning.arch import ModelArch
from aimgen.planning.fit import (
    MIN_MODEL_LEN,
    Budget,
    budget,
    default_kv_cache_dtype,
    gib,
    longest_context,
    tp_blockers,
)
from aimgen.planning.weights import ServedWeights, available_precisions, resolve_weights

# Full-length sequences the KV cache must hold: one is what vLLM needs to start; throughput wants a second
# resident so one sequence's prefill overlaps another's decode.
MIN_SEQUENCES = {"latency": 1, "throughput": 2}
# Scheduler caps by metric. Latency keeps batches small so each step is short; throughput fills the KV cache.
MAX_NUM_SEQS_CAP = {"latency": 64, "throughput": 1024}
BATCHED_TOKENS = {"latency": 8192, "throughput": 16384}
MAX_PIPELINE_NODES = 16  # how far the "needs N nodes" hint looks


@dataclass(frozen=True)
class Target:
    """What is being placed: weights in a format, on a GPU type, with a KV dtype and a memory fraction."""

    model: CatalogModel
    arch: ModelArch
    served: ServedWeights
    gpu: Gpu
    metric: str
    kv_dtype: str
    gpu_memory_utilization: float

    def on(self, gpu: Gpu, served: ServedWeights) -> "Target":
        kv = default_kv_cache_dtype(self.arch, served, gpu)[0]
        return Target(self.model, self.arch, served, gpu, self.metric, kv, self.gpu_memory_utilization)


@dataclass(frozen=True)
class Candidate:
    tp: int
    pp: int
    budget: Budget
    needed: int  # KV bytes per GPU the metric asks for
    dp: int = 1  # data-parallel ranks (each a TP x PP group; MoE experts spread over TP x DP)

    @property
    def fits(self) -> bool:
        return self.budget.kv_available >= self.needed

    @property
    def gpus(self) -> int:
        return self.tp * self.pp * self.dp

    @property
    def label(self) -> str:
        return f"TP{self.tp}" + (f" x PP{self.pp}" if self.pp > 1 else "") + (f" x DP{self.dp}" if self.dp > 1 else "")


@dataclass(frozen=True)
class Search:
    chosen: Candidate
    tried: tuple[Candidate, ...]  # in order, up to and including the chosen one
    skipped: tuple[tuple[int, str], ...]  # (tp, why vLLM cannot shard to it)
    max_model_len: int
    shrunk_from: int | None = None  # the planned context before it was cut to fit


def evaluate(t: Target, tp: int, pp: int, length: int, dp: int = 1) -> Candidate:
    b = budget(t.arch, t.served, t.gpu, tp, pp, max_model_len=length, max_num_seqs=MAX_NUM_SEQS_CAP[t.metric],
               batched_tokens=BATCHED_TOKENS[t.metric], gpu_memory_utilization=t.gpu_memory_utilization,
               kv_cache_dtype=t.kv_dtype, dp=dp)
    return Candidate(tp, pp, b, MIN_SEQUENCES[t.metric] * b.kv_per_sequence, dp)


def valid_tps(t: Target, limit: int) -> tuple[list[int], list[tuple[int, str]]]:
    """TP sizes up to limit that vLLM can shard this model to, and (tp, why) for the others."""
    valid, skipped = [], []
    for tp in range(1, limit + 1):
        why = tp_blockers(t.arch, tp, t.served)
        if why:
            skipped.append((tp, why[0]))
        else:
            valid.append(tp)
    return valid, skipped


def _pp_range(t: Target, start: int, stop: int) -> range:
    return range(start, min(stop, t.arch.num_layers) + 1)


def _fitting_tp(t: Target, gpus_per_node: int, length: int, above: int = 0) -> int | None:
    valid, _ = valid_tps(t, gpus_per_node)
    return next((tp for tp in valid if tp > above and evaluate(t, tp, 1, length).fits), None)


def requested_shape(t: Target, pool: NodePool, gpus: int) -> tuple[int, int]:
    """--gpus N as TP x PP: TP = N within a node, else TP = GPUs per node and PP across nodes."""
    gpn = pool.gpus_per_node
    if gpus <= gpn:
        tp, pp = gpus, 1
    elif gpus % gpn == 0:
        tp, pp = gpn, gpus // gpn
    else:
        raise NoFeasiblePlan(f"--gpus {gpus} spans nodes of {gpn} GPUs: use a multiple of {gpn} "
                             f"(TP{gpn} in each node, pipeline parallel across nodes) or at most {gpn}")
    why = tp_blockers(t.arch, tp, t.served)
    if why:
        valid, _ = valid_tps(t, gpn)
        raise NoFeasiblePlan(f"{t.model.id} cannot run at TP{tp}: {'; '.join(why)}; "
                             f"TP sizes that work on {gpn}-GPU nodes: {', '.join(map(str, valid)) or 'none'}")
    if pp > t.arch.num_layers:
        raise NoFeasiblePlan(f"PP{pp} exceeds the model's {t.arch.num_layers} layers")
    return tp, pp


def search(t: Target, pool: NodePool, length: int, *, gpus: int | None, explicit_length: bool,
           gpu_catalog: Iterable[Gpu] | None = None) -> Search:
    """The smallest shape of pool that holds `length` tokens of context (or a planned context cut to fit)."""
    valid, skipped = valid_tps(t, pool.gpus_per_node)
    if gpus is not None:
        shapes = [requested_shape(t, pool, gpus)]
    elif not valid:
        raise NoFeasiblePlan(f"{t.model.id} cannot be sharded on {pool.gpus_per_node}-GPU nodes: "
                             f"TP{skipped[0][0]}: {skipped[0][1]}")
    else:
        node_tp = max(valid)
        shapes = [(tp, 1) for tp in valid] + [(node_tp, pp) for pp in _pp_range(t, 2, pool.nodes)]
    tried: list[Candidate] = []
    for tp, pp in shapes:
        tried.append(evaluate(t, tp, pp, length))
        if tried[-1].fits:
            return Search(tried[-1], tuple(tried), tuple(skipped), length)

    # Nothing holds the context: a planned default may shrink (longest first, then fewest GPUs); an asked-for
    # context may not.
    sequences = MIN_SEQUENCES[t.metric]
    usable = [(longest_context(t.arch, c.budget, t.kv_dtype, c.tp, c.pp, sequences, length), -c.gpus, c) for c in tried]
    usable = [u for u in usable if u[0] >= min(MIN_MODEL_LEN, length)]
    if usable and not explicit_length:
        shorter, _, best = max(usable, key=lambda u: (u[0], u[1]))
        chosen = evaluate(t, best.tp, best.pp, shorter)
        return Search(chosen, tuple(tried), tuple(skipped), shorter, shrunk_from=length)

    where = f"{pool.nodes} x {pool.gpus_per_node} {t.gpu.product}" if gpus is None else f"{gpus} {t.gpu.product}"
    last = tried[-1]
    b = last.budget
    detail = (f" ({last.label}: {gib(b.weights_per_gpu)} weights + {gib(b.overhead)} overhead per GPU, "
              f"{gib(max(0, b.kv_available))} left for KV, {gib(last.needed)} needed)")
    longest = max((u[0] for u in usable), default=0)
    if explicit_length and longest:
        detail += f"; the longest max_model_len that fits is {longest:,}"
    raise NoFeasiblePlan(f"{t.model.id} ({t.served.precision}) does not fit {where} at max_model_len {length:,}"
                         f"{detail}{failure_hint(t, pool, length, gpus, gpu_catalog)}")


def failure_hint(t: Target, pool: NodePool, length: int, asked_gpus: int | None,
                 gpu_catalog: Iterable[Gpu] | None) -> str:
    """One clause saying what would work: more GPUs or nodes, another precision, or another GPU."""
    hints: list[str] = []
    bigger = _fitting_tp(t, pool.gpus_per_node, length, above=asked_gpus) if asked_gpus else None
    if bigger:
        hints.append(f"--gpus {bigger} (TP{bigger} on one node)")
    else:
        valid, _ = valid_tps(t, pool.gpus_per_node)
        for pp in _pp_range(t, 2, MAX_PIPELINE_NODES) if valid else ():
            if evaluate(t, max(valid), pp, length).fits:
                where = f"the pool has {pool.nodes}" if pp > pool.nodes else f"--gpus {max(valid) * pp}"
                hints.append(f"{pp} nodes of {pool.gpus_per_node} x {t.gpu.product} (TP{max(valid)} x PP{pp}; {where})")
                break
    for other in ("fp8", "mxfp4", "int4"):
        if other == t.served.precision or other not in available_precisions(t.model, t.arch):
            continue
        try:
            served = resolve_weights(t.model, t.arch, other, t.gpu)
        except AimgenError:
            continue
        fit = _fitting_tp(t.on(t.gpu, served), pool.gpus_per_node, length)
        if fit:
            hints.append(f"--precision {other} (fits TP{fit} on one node)")
            break
    if gpu_catalog is None:
        from aimgen.catalog.gpus import load_gpus  # read only on this failure path

        gpu_catalog = load_gpus().values()
    for g in sorted(gpu_catalog, key=lambda g: g.vram_gib):
        if g.vram_gib <= t.gpu.vram_gib:
            continue
        try:
            served = resolve_weights(t.model, t.arch, t.served.precision, g)
        except AimgenError:
            continue
        fit = _fitting_tp(t.on(g, served), g.gpus_per_node, length)
        if fit:
            hints.append(f"a pool of {g.product} (fits TP{fit})")
            break
    return "; would work: " + ", or ".join(hints) if hints else ""


def smaller_replica(t: Target, chosen: Candidate, gpus: int, length: int) -> int | None:
    """The smallest TP below the chosen one that fits and divides the GPUs asked for (for the replica note)."""
    valid, _ = valid_tps(t, chosen.tp)
    return next((tp for tp in valid if tp < chosen.tp and gpus % tp == 0 and evaluate(t, tp, 1, length).fits), None)
