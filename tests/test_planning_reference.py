"""The planner against how experts serve these models (../shared/amd/reference-configs.yaml).

For every record that states one TP (and maps to a catalog model, a catalog GPU and a precision): the expert's
shape fits by our arithmetic, and the planner's own smallest shape is never larger; where it is smaller, the plan
says why. Records are free text in places, so they are parsed defensively and the ones that cannot be mapped are
left out by construction (their count is asserted, so a parsing regression cannot hide cases).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from aimgen import paths
from aimgen.catalog.gpus import load_gpus
from aimgen.catalog.models import CatalogModel, find_model, load_models
from aimgen.catalog.nodepool import NodePool
from aimgen.planning import fit_check, plan

REFS = Path(paths.shared_dir()) / "amd" / "reference-configs.yaml"
PRECISION = re.compile(r"mxfp4|fp8|int4|int8|bf16|fp16")
GPU = re.compile(r"mi\d{3}x?")
MIN_CASES = 40


@dataclass(frozen=True)
class Case:
    record: str
    model: CatalogModel
    gpu: str
    precision: str
    tp: int
    pp: int
    max_model_len: int | None
    max_num_seqs: int | None
    gpu_memory_utilization: float | None
    backend: str

    @property
    def id(self) -> str:
        return f"{self.record}@{self.gpu}"


def _single_int(value) -> int | None:
    """7, '1 (default; ...)' → the number; lists, conditions and formulas → None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+)(\s*\(.*\))?\s*", value)
        return int(m.group(1)) if m else None
    return None


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _model(name: str) -> tuple[CatalogModel | None, str | None]:
    """The catalog model a record serves, and the precision its checkpoint implies."""
    repo = str(name).split(" ", 1)[0]
    model = find_model(repo)
    if model is not None:
        return model, None
    for m in load_models().values():
        for precision, checkpoint in m.checkpoints.items():
            if checkpoint == repo:
                return m, precision
    return None, None


def _records() -> list[dict]:
    return yaml.safe_load(REFS.read_text()) if REFS.is_file() else []


def expert_cases() -> list[Case]:
    gpus = load_gpus()
    cases = []
    for r in _records():
        tp = _single_int(r.get("tensor_parallel"))
        parallel = r.get("other_parallelism") or {}
        if tp is None or "dp" in parallel:  # sweeps, or DP attention + EP (not a TP shape)
            continue
        pp = _single_int(parallel.get("pp")) or 1
        model, checkpoint_precision = _model(r.get("model", ""))
        found = PRECISION.search(str(r.get("precision", "")).lower())
        precision = checkpoint_precision or (found.group(0) if found else None)
        if model is None or precision is None:
            continue
        for gpu in dict.fromkeys(GPU.findall(str(r.get("gpu", "")).lower())):
            if gpu not in gpus:
                continue
            cases.append(Case(
                record=r["id"], model=model, gpu=gpu, precision=precision, tp=tp, pp=pp,
                max_model_len=_single_int(r.get("max_model_len")),
                max_num_seqs=_single_int(r.get("max_num_seqs")),
                gpu_memory_utilization=_number(r.get("gpu_memory_utilization")),
                backend="sglang" if str(r.get("backend", "")).startswith("sglang") else "vllm",
            ))
    return cases


CASES = expert_cases()


def test_enough_expert_configs_are_mapped(shared_dir):
    assert len(CASES) >= MIN_CASES, [c.id for c in CASES]
    assert {c.gpu for c in CASES} >= {"mi300x", "mi325x", "mi355x"}
    assert {c.precision for c in CASES} >= {"bf16", "fp8", "mxfp4", "int4"}
    records = {c.record for c in CASES}
    single_tp = [r for r in _records() if _single_int(r.get("tensor_parallel")) is not None]
    # Unmapped by design: local paths, base (non-instruct) models, DP+EP, GPUs outside the catalog.
    assert len(single_tp) - len(records) <= 6, sorted({r["id"] for r in single_tp} - records)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_expert_shape_fits(case: Case):
    fit = fit_check(case.model, load_gpus()[case.gpu], case.precision, case.tp, case.pp,
                    max_model_len=case.max_model_len, max_num_seqs=case.max_num_seqs,
                    gpu_memory_utilization=case.gpu_memory_utilization)
    assert fit.fits, fit.reason
    assert fit.kv_cache_tokens >= fit.max_model_len


@pytest.mark.parametrize("metric", ["latency", "throughput"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_planner_never_needs_more_than_the_expert(case: Case, metric: str):
    gpu = load_gpus()[case.gpu]
    pool = NodePool(name="ref", gpu=gpu, gpus_per_node=gpu.gpus_per_node, nodes=case.pp)
    p = plan(case.model, pool, precision=case.precision, metric=metric, backend=case.backend,
             max_model_len=case.max_model_len)
    assert p.gpus <= case.tp * case.pp
    if case.pp == 1:
        assert p.tensor_parallel_size <= case.tp
    if p.gpus < case.tp * case.pp:
        assert any("smallest shape that fits" in r for r in p.reasons), p.reasons
    if case.max_model_len:  # an asked-for context is kept (only capped at the model's maximum)
        assert p.max_model_len == min(case.max_model_len, case.model.config["max_position_embeddings"])
