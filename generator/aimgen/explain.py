"""The decision and its arithmetic, as a dict with stable keys and as a short engineer's note."""

from __future__ import annotations

from aimgen.compose import Decision
from aimgen.constants import GIB



def _flag(d: Decision, *names: str):
    """A setting the engine is given, from the decision's flags (vLLM and SGLang name some differently)."""
    return next((d.engine_flags[n] for n in names if n in d.engine_flags), None)


def explain_dict(d: Decision) -> dict:
    s, svc = d.selection, d.serving
    numbers = d.plan.as_dict() if hasattr(d.plan, "as_dict") else {}
    out = dict(numbers)
    out.update({
        "model": svc.model,
        "checkpoint": svc.checkpoint,
        "gpu": svc.gpu,
        "gpus": svc.tensor_parallel_size * svc.pipeline_parallel_size,
        "gpus_per_pod": svc.gpus,
        "tensor_parallel_size": svc.tensor_parallel_size,
        "pipeline_parallel_size": svc.pipeline_parallel_size,
        "nodes": svc.nodes,
        "precision": svc.precision,
        "backend": svc.backend,
        "metric": svc.metric,
        "profile": svc.profile_id,
        "source": svc.source,
        "source_title": svc.source_title,
        "fallbacks": list(s.fallbacks),
        "runtime": svc.runtime,
        "args": list(svc.args),
        "env": dict(svc.env),
    })
    out["max_model_len"] = _flag(d, "max-model-len", "context-length") or numbers.get("max_model_len")
    out["max_num_seqs"] = _flag(d, "max-num-seqs", "max-running-requests") or numbers.get("max_num_seqs")
    return out


def explain_text(d: Decision) -> str:
    e = explain_dict(d)
    lines = [f"{e['model']} on {e['gpus']} x {d.selection.request.pool.gpu.product} "
             f"({e['precision']}, {e['backend']}, optimised for {e['metric']})"]
    if e["source"] == "recipe":
        lines.append(f"  profile {e['profile']} from the recipe; settings follow: {e['source_title']}")
    else:
        lines.append("  no recipe profile: planned from the model's architecture")
    for f in e["fallbacks"]:
        lines.append(f"  fallback: {f}")
    if "weights_bytes" in e:
        lines.append(f"  weights {e['weights_bytes'] / GIB:.1f} GiB in {e['precision']}, "
                     f"{e['weights_bytes'] / GIB / e['gpus']:.1f} GiB per GPU at TP={e['tensor_parallel_size']}"
                     + (f" x PP={e['pipeline_parallel_size']}" if e["pipeline_parallel_size"] > 1 else ""))
    if e.get("kv_cache_bytes_per_token"):
        lines.append(f"  KV cache {e['kv_cache_bytes_per_token'] / 1024:.0f} KiB per token; "
                     f"{e.get('kv_cache_tokens', 0):,} tokens fit after weights and overhead")
    lines.append(f"  max_model_len {e['max_model_len']}, max_num_seqs {e['max_num_seqs']}")
    for r in getattr(d.plan, "reasons", ()) or ():
        lines.append(f"  - {r}")
    lines.append("  engine: " + " ".join(e["args"]))
    if e["env"]:
        lines.append("  env: " + " ".join(f"{k}={v}" for k, v in e["env"].items()))
    return "\n".join(lines)
