"""The decision and its arithmetic, as a dict with stable keys and as a short engineer's note."""

from __future__ import annotations

from aimgen.compose import Decision
from aimgen.constants import API_LLMISVC, GIB, ROUTER_SCHEDULER



def _flag(d: Decision, *names: str):
    """A setting the engine is given, from the decision's flags (vLLM and SGLang name some differently)."""
    return next((d.engine_flags[n] for n in names if n in d.engine_flags), None)


def api_reason(api: str, router: str, nodes: int = 1) -> str:
    """Which KServe API the manifests use, and why (docs/llmisvc.md says when to choose which)."""
    if api != API_LLMISVC:
        return ("KServe InferenceService (v1beta1, RawDeployment) with a ServingRuntime: the default, served by any "
                "KServe install; no llm-d scheduler and no prefill/decode split (--api llmisvc for those)")
    route = ("llm-d's endpoint picker routes by prefix cache and load through an InferencePool, HTTPRoute and Gateway"
             if router == ROUTER_SCHEDULER else
             "no router (--router none): clients reach KServe's workload Service directly, no Gateway needed")
    group = (f"; each replica is a LeaderWorkerSet group of {nodes} pods (the `template` leader and {nodes - 1} "
             "`worker`), sized by parallelism.data / dataLocal" if nodes > 1 else "")
    return ("KServe LLMInferenceService (v1alpha2, --api llmisvc) over an LLMInferenceServiceConfig holding the AMD "
            f"base (image, argv, env, placement, probes, cache); {route}{group}")


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
        "gpus": svc.shape.world_size,
        "gpus_per_pod": svc.gpus,
        "parallelism": svc.shape.as_dict(),
        "tensor_parallel_size": svc.tensor_parallel_size,
        "pipeline_parallel_size": svc.pipeline_parallel_size,
        "nodes": svc.nodes,
        "precision": svc.precision,
        "backend": svc.backend,
        "metric": svc.metric,
        "profile": svc.profile_id,
        "source": svc.source,
        "source_title": svc.source_title,
        "derived_from": svc.derived_from or None,
        "fallbacks": list(s.fallbacks),
        "features": list(d.features),
        "extra_repos": [{"repo": r.repo, "revision": r.revision, "size_bytes": r.size_bytes}
                        for r in svc.extra_repos],
        "cache_notes": [line for _, line in d.repo_notes],
        "runtime": svc.runtime,
        "args": list(svc.args),
        "env": dict(svc.env),
    })
    out["max_model_len"] = _flag(d, "max-model-len", "context-length") or numbers.get("max_model_len")
    out["max_num_seqs"] = _flag(d, "max-num-seqs", "max-running-requests") or numbers.get("max_num_seqs")
    out["api"] = api
    out["api_reason"] = api_reason(api, router, svc.nodes)
    out["router"] = router if api == API_LLMISVC else None
    out["disaggregation"] = disaggregation_dict(d)
    return out


def _split_lines(d: Decision, e: dict) -> list[str]:
    """Experts per GPU and KV per DP rank for a recipe's DP/EP shape (a planned one says it in its reasons)."""
    shape = d.serving.shape
    if d.serving.source != "recipe" or (shape.data == 1 and not shape.expert):
        return []
    from aimgen.catalog.models import get_model
    from aimgen.planning.arch import arch_from_config

    arch = arch_from_config(get_model(d.serving.model).config)
    out = []
    if arch.moe:
        per_gpu = -(-arch.moe.num_experts // shape.expert_shards)
        out.append(f"experts: {arch.moe.num_experts} routed experts per MoE layer over "
                   f"{'EP' if shape.expert else 'TP x DP '}{shape.expert_shards} = {per_gpu} per GPU")
    tokens = e.get("kv_cache_tokens") or 0
    if shape.data > 1 and tokens:
        out.append(f"KV per DP rank (TP{shape.tensor}): {tokens:,} tokens; {shape.data} ranks hold "
                   f"{tokens * shape.data:,} in all")
    return out


def explain_text(d: Decision, api: str = "isvc", router: str = ROUTER_SCHEDULER) -> str:
    e = explain_dict(d, api, router)
    lines = [f"{e['model']} on {e['gpus']} x {d.selection.request.pool.gpu.product} "
             f"({e['precision']}, {e['backend']}, optimised for {e['metric']})"]
    if e["source"] == "recipe":
        lines.append(f"  profile {e['profile']} from the recipe; settings follow: {e['source_title']}")
    elif e["source"] == "derived":
        lines.append(f"  profile {e['profile']}: {e['source_title']}; tensor parallelism and context recomputed "
                     "for this GPU count")
    else:
        lines.append("  no recipe profile: planned from the model's architecture")
    for f in e["fallbacks"]:
        lines.append(f"  fallback: {f}")
    for f in e["features"]:
        lines.append(f"  {f}")
    for note in e["cache_notes"]:
        lines.append(f"  cache: {note}")
    shape = d.serving.shape
    if "weights_bytes" in e:
        per_gpu = e.get("weights_bytes_per_gpu") or e["weights_bytes"] / e["gpus"]
        lines.append(f"  weights {e['weights_bytes'] / GIB:.1f} GiB in {e['precision']}, "
                     f"{per_gpu / GIB:.1f} GiB on the most loaded GPU at {shape.label}")
    if shape.nodes > 1:
        lines.append(f"  {shape.nodes} pods of {shape.gpus_per_node} GPUs (a head and {shape.nodes - 1} worker): "
                     f"{shape.nodes} x {shape.gpus_per_node} = {shape.world_size} = the engine's world size")
    lines += [f"  {line}" for line in _split_lines(d, e)]
    if e.get("kv_cache_bytes_per_token"):
        lines.append(f"  KV cache {e['kv_cache_bytes_per_token'] / 1024:.0f} KiB per token; "
                     f"{e.get('kv_cache_tokens', 0):,} tokens fit after weights and overhead")
    lines.append(f"  max_model_len {e['max_model_len']}, max_num_seqs {e['max_num_seqs']}")
    for r in getattr(d.plan, "reasons", ()) or ():
        lines.append(f"  - {r}")
    lines.append(f"  api: {e['api_reason']}")
    rt = d.runtime
    lines.append(f"  runtime: {rt.plugin} ({rt.engine} {rt.engine_version}), image {rt.image}")
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
