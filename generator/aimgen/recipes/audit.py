"""`aimgen recipes audit`: every recipe against the three public AMD config sets in ../shared/upstream-configs —
the InferenceX AMD matrix, vLLM's recipes and AMD AIM's profiles — on what they state per model and GPU: which
GPUs and backends serve it, tensor parallelism, precision, the AITER switches, the context limit and the vLLM
recipe's AMD flags. Each divergence is reported; one a recipe keeps is explained in its `audit:` list
(source, code, optional gpu, why). Facts about aimgen itself (multi-node disaggregation) are explained here once,
for every recipe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from aimgen.constants import BACKENDS
from aimgen.recipes.model import Profile
from aimgen.recipes.upstream import read_yaml

SOURCES = ("inferencex", "vllm-recipes", "aim-build")
AITER_ENV = ("VLLM_ROCM_USE_AITER", "VLLM_ROCM_USE_AITER_MOE")
# Flags a vLLM recipe passes that aimgen renders or handles itself, never a divergence.
NOT_COMPARED = {"tensor-parallel-size", "trust-remote-code", "host", "port", "served-model-name", "model", "data-parallel-size"}
IX_PRECISION = {"fp4": "mxfp4", "fp8": "fp8", "bf16": "bf16"}
# What aimgen does not render at all: explained for every recipe.
BUILT_IN = {
    ("inferencex", "not-served:disagg"): "disaggregated prefill/decode runs across nodes over MoRI RDMA; aimgen's single-deployment recipes do not render it",
}


@dataclass(frozen=True)
class Divergence:
    model: str
    gpu: str
    source: str  # inferencex | vllm-recipes | aim-build
    code: str  # not-served[:why] | unsupported | tp | precision | env:NAME | max-context | flag:NAME
    message: str
    upstream: str  # the upstream file (#entry) it was read from
    why: str | None = None  # the explanation, when a recipe (or aimgen itself) gives one

    @property
    def explained(self) -> bool:
        return self.why is not None

    def as_dict(self) -> dict:
        return {"model": self.model, "gpu": self.gpu, "source": self.source, "code": self.code, "message": self.message,
                "upstream": self.upstream, "explained": self.explained, "why": self.why}


def _gpu_of(runner: str) -> str | None:
    found = re.search(r"mi\d{3}x", str(runner).lower())
    return found.group(0) if found else None


def _norm(name: str) -> str:
    """A repo name without org and quantization suffixes, to map a checkpoint back to its model."""
    base = name.split("/")[-1].lower()
    return re.sub(r"(-(mxfp4|mxfp8|fp8|fp8-kv|gptq-int4|awq)(-v2|-preview)?)+$", "", base)


class _Models:
    """Upstream model or checkpoint names → our catalog ids."""

    def __init__(self, catalog: dict):
        self.by_name: dict[str, str] = {}
        self.native = {m.id: m.native_precision for m in catalog.values()}
        for m in catalog.values():
            for name in (m.id, *m.checkpoints.values()):
                self.by_name.setdefault(name.lower(), m.id)
            self.by_name.setdefault(_norm(m.id), m.id)

    def find(self, name: str, exact: bool = False) -> str | None:
        return self.by_name.get(name.lower()) or (None if exact else self.by_name.get(_norm(name)))

    def is_model(self, name: str, model: str) -> bool:
        return name.lower() == model.lower()


def _ix(upstream: Path, models: _Models, mine: dict) -> Iterable[Divergence]:
    path = "inferencex/configs/amd-master.yaml"
    matrix = read_yaml(upstream / path) or {}
    for key, entry in matrix.items():
        model, gpu = models.find(str(entry.get("model", ""))), _gpu_of(entry.get("runner", ""))
        if model is None or gpu is None:
            continue
        where, framework = f"{path}#{key}", str(entry.get("framework", ""))
        backend = framework.split("-")[0]
        if entry.get("multinode") or "disagg" in framework:
            yield Divergence(model, gpu, "inferencex", "not-served:disagg", f"{key}: multi-node {framework}", where)
            continue
        if backend not in BACKENDS:
            yield Divergence(model, gpu, "inferencex", f"not-served:{backend}", f"{key}: {framework} launch", where)
            continue
        ours = [p for p in mine.get(model, ()) if p.gpu == gpu and p.backend == backend]
        precision = IX_PRECISION.get(str(entry.get("precision")), str(entry.get("precision")))
        if models.is_model(str(entry.get("model")), model):
            # the model's own repo is its native checkpoint, whatever the run's label (DeepSeek-V4-Pro "fp4": FP4 experts)
            precision = models.native[model]
        points = [s for scenario in (entry.get("scenarios") or {}).values() for e in scenario for s in e.get("search-space", [])]
        tps = sorted({int(s["tp"]) for s in points if "tp" in s})
        if not ours:
            yield Divergence(model, gpu, "inferencex", "not-served", f"{key}: {backend} {precision} TP{tps} has no {backend} profile on {gpu}", where)
            continue
        same = [p for p in ours if p.precision == precision]
        if not same:
            yield Divergence(model, gpu, "inferencex", "precision",
                             f"{key}: runs {precision}; ours on {gpu}/{backend}: {sorted({p.precision for p in ours})}", where)
            same = ours
        if tps and not {p.gpus for p in same} & set(tps):
            yield Divergence(model, gpu, "inferencex", "tp", f"{key}: TP {tps}; ours {sorted({p.gpus for p in same})}", where)


def _bool_env(value: Any) -> Any:
    text = str(value).strip().lower()
    return {"1": True, "true": True, "0": False, "false": False}.get(text, value)


def _effective(p: Profile, name: str) -> Any:
    """What the engine runs with: the profile's value, else the default of the engine version its runtime pins."""
    from aimgen.runtimes.flags import snapshot_for

    if name in p.env:
        return _bool_env(p.env[name])
    snap = snapshot_for(p.serving_runtime())
    var = snap.env.get(name) if snap else None
    return _bool_env(getattr(var, "default", None))


def _vllm_recipes(upstream: Path, models: _Models, mine: dict) -> Iterable[Divergence]:
    from aimgen.recipes.upstream import parse_cli

    for file in sorted((upstream / "vllm-recipes" / "models").glob("*/*.yaml")):
        doc = read_yaml(file) or {}
        model = models.find(str((doc.get("model") or {}).get("model_id", "")), exact=True)
        if model is None or model not in mine:
            continue
        where = str(file.relative_to(upstream))
        status = {g: s for g, s in ((doc.get("meta") or {}).get("hardware") or {}).items() if g.startswith("mi")}
        amd = ((doc.get("hardware_overrides") or {}).get("amd") or {})
        flags = {k: v for k, v in parse_cli(amd.get("extra_args") or []).items() if k not in NOT_COMPARED}
        env = {**((doc.get("model") or {}).get("base_env") or {}), **(amd.get("extra_env") or {})}
        context = (doc.get("model") or {}).get("context_length")
        for gpu, state in sorted(status.items()):
            ours = [p for p in mine[model] if p.gpu == gpu and p.backend == "vllm"]
            if state == "unsupported" and ours:
                yield Divergence(model, gpu, "vllm-recipes", "unsupported", f"the recipe marks {gpu} unsupported; we serve it", where)
            if state == "verified" and not ours:
                yield Divergence(model, gpu, "vllm-recipes", "not-served", f"the recipe marks {gpu} verified; no vLLM profile here", where)
            if state != "verified":
                continue
            for name in AITER_ENV:
                want = str(env[name]) if name in env else None
                # an unset variable is the engine's default (runtimes/vllm-rocm snapshot), not a divergence in itself
                differ = sorted({_effective(p, name) for p in ours if _effective(p, name) != _bool_env(want)}, key=str)
                if want is not None and differ:
                    yield Divergence(model, gpu, "vllm-recipes", f"env:{name}", f"the recipe sets {name}={want}; ours {differ}", where)
            latency = [p for p in ours if p.metric == "latency"]
            for name, value in flags.items():
                if latency and not any(p.args.get(name) == value for p in latency):
                    yield Divergence(model, gpu, "vllm-recipes", f"flag:{name}",
                                     f"the recipe's AMD launch passes --{name} {value}; our latency profiles do not", where)
            if isinstance(context, int) and context > 0:
                longer = sorted({p.args.get("max-model-len") for p in ours
                                 if isinstance(p.args.get("max-model-len"), int) and p.args["max-model-len"] > context})
                if longer:
                    yield Divergence(model, gpu, "vllm-recipes", "max-context", f"max-model-len {longer} > the recipe's context_length {context}", where)


def _aim(upstream: Path, models: _Models, mine: dict) -> Iterable[Divergence]:
    root = upstream / "aim-build" / "profiles"
    groups: dict[tuple[str, str], list[tuple[str, dict]]] = {}
    for file in sorted(root.glob("*/*/*.yaml")):
        if file.parts[-3] in ("general", "custom"):
            continue
        doc = read_yaml(file) or {}
        model = models.find(str(doc.get("aim_id", "")))
        meta = doc.get("metadata") or {}
        gpu = str(meta.get("gpu", "")).lower()
        if model in mine:
            groups.setdefault((model, gpu), []).append((str(file.relative_to(upstream)), doc))
    for (model, gpu), docs in sorted(groups.items()):
        ours = [p for p in mine[model] if p.gpu == gpu and p.backend == "vllm"]
        where = str(Path(docs[0][0]).parent)
        if not ours:
            yield Divergence(model, gpu, "aim-build", "not-served", f"AIM has {len(docs)} profiles on {gpu}; we have no vLLM profile there", where)
            continue
        theirs = {}
        for path, doc in docs:
            meta = doc["metadata"]
            precision = {"fp16": "16-bit", "fp4": "mxfp4"}.get(str(meta.get("precision")), str(meta.get("precision")))
            theirs.setdefault((precision, meta.get("metric")), set()).add(meta.get("gpu_count"))
        mine_keys = {("16-bit" if p.precision in ("bf16", "fp16") else p.precision, p.metric): set() for p in ours}
        for p in ours:
            mine_keys[("16-bit" if p.precision in ("bf16", "fp16") else p.precision, p.metric)].add(p.gpus)
        for (precision, metric), counts in sorted(theirs.items(), key=str):
            if not any(k[0] == precision for k in mine_keys):
                yield Divergence(model, gpu, "aim-build", "precision", f"AIM serves {precision} on {gpu}; we do not", where)
            elif (precision, metric) in mine_keys and not counts & mine_keys[(precision, metric)]:
                yield Divergence(model, gpu, "aim-build", "tp",
                                 f"AIM {precision} {metric} on {sorted(counts)} GPUs; ours {sorted(mine_keys[(precision, metric)])}", where)


def explanations(raw_recipes: dict[str, Any]) -> dict[str, list[dict]]:
    """model → its recipe's `audit:` entries."""
    return {model: list((doc or {}).get("audit") or []) for model, doc in raw_recipes.items()}


def _explain(d: Divergence, notes: dict[str, list[dict]]) -> Divergence:
    from dataclasses import replace

    for key, why in BUILT_IN.items():
        if (d.source, d.code) == key:
            return replace(d, why=why)
    for entry in notes.get(d.model, ()):
        if entry.get("source") == d.source and entry.get("code") == d.code and entry.get("gpu") in (None, d.gpu):
            return replace(d, why=entry["why"])
    return d


def audit(profiles: Iterable[Profile], catalog: dict, upstream: Path, notes: dict[str, list[dict]]) -> list[Divergence]:
    """Every divergence between our recipes and the three upstream config sets, explained where a recipe says why."""
    mine: dict[str, list[Profile]] = {}
    for p in profiles:
        mine.setdefault(p.model, []).append(p)
    models = _Models(catalog)
    found = [*_ix(upstream, models, mine), *_vllm_recipes(upstream, models, mine), *_aim(upstream, models, mine)]
    unique = list(dict.fromkeys(found))
    return [_explain(d, notes) for d in unique]
