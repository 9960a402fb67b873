"""The decision and its arithmetic, as a dict with stable keys and as a short engineer's note."""

from __future__ import annotations

from aimgen.compose import Decision
from aimgen.constants import API_LLMISVC, GIB, ROUTER_SCHEDULER



def _flag(d: Decision, *names: str):
    """A setting the engine is given, from the decision's flags (vLLM and SGLang name some differently)."""
    return next((d.engine_flags[n] for n in names if n in d.engine_flags), None)


def api_reason(api: str, router: str) -> str:
    """Which KServe API the manifests use, and why (docs/llmisvc.md says when to choose which)."""
    if api != API_LLMISVC:
        return ("KServe InferenceService (v1beta1, RawDeployment) with a ServingRuntime: the default, served by any "
                "KServe install; no llm-d scheduler and no prefill/decode split (--api llmisvc for those)")
    route = ("llm-d's endpoint picker routes by prefix cache and load through an InferencePool, HTTPRoute and Gateway"
             if router == ROUTER_SCHEDULER else
             "no router (--router none): clients reach KServe's workload Service directly, no Gateway needed")
    return ("KServe LLMInferenceService (v1alpha2, --api llmisvc) over an LLMInferenceServiceConfig holding the AMD "
            f"base (image, argv, env, placement, probes, cache); {route}")


def disaggregation_dict(d: Decision) -> dict | None:
    pd = d.serving.disaggregation
    if pd is None:
        return None
    return {
        "config": pd.config_id,
        "source_title": pd.source_title,
        "connector": pd.connector,
        **{r.role: {"replicas": r.replicas, "tensor_parallel_size": r.tensor_parallel_size, "port": r.port,
                    "args": list(r.args)} for r in (pd.prefill, pd.decode)},
    }


def explain_dict(d: Decision, api: str = "isvc", router: str = ROUTER_SCHEDULER) -> dict:
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
        "features": list(d.features),
        "runtime": svc.runtime,
        "args": list(svc.args),
        "env": dict(svc.env),
    })
    out["max_model_len"] = _flag(d, "max-model-len", "context-length") or numbers.get("max_model_len")
    out["max_num_seqs"] = _flag(d, "max-num-seqs", "max-running-requests") or numbers.get("max_num_seqs")
    out["api"] = api
    out["api_reason"] = api_reason(api, router)
    out["router"] = router if api == API_LLMISVC else None
    out["disaggregation"] = disaggregation_dict(d)
    return out


def explain_text(d: Decision, api: str = "isvc", router: str = ROUTER_SCHEDULER) -> str:
    e = explain_dict(d, api, router)
    lines = [f"{e['model']} on {e['gpus']} x {d.selection.request.pool.gpu.product} "
             f"({e['precision']}, {e['backend']}, optimised for {e['metric']})"]
    if e["source"] == "recipe":
        lines.append(f"  profile {e['profile']} from the recipe; settings follow: {e['source_title']}")
    else:
        lines.append("  no recipe profile: planned from the model's architecture")
    for f in e["fallbacks"]:
        lines.append(f"  fallback: {f}")
    for f in e["features"]:
        lines.append(f"  {f}")
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
    lines.append(f"  api: {e['api_reason']}")
    pd = e["disaggregation"]
    if pd:
        lines.append(f"  prefill/decode from {pd['config']} ({pd['source_title']}), KV over {pd['connector']}: "
                     f"{pd['prefill']['replicas']} prefill x TP={pd['prefill']['tensor_parallel_size']}, "
                     f"{pd['decode']['replicas']} decode x TP={pd['decode']['tensor_parallel_size']}")
        for role in ("prefill", "decode"):
            lines.append(f"  {role} engine: " + " ".join(pd[role]["args"]))
    else:
        lines.append("  engine: " + " ".join(e["args"]))
    if e["env"]:
        lines.append("  env: " + " ".join(f"{k}={v}" for k, v in e["env"].items()))
    return "\n".join(lines)
