"""The engine pods KServe v0.20 builds for an LLMInferenceService, from the manifests and KServe's own presets.

Pure functions over plain dicts. The rules restate kserve/kserve tag v0.20.0, pkg/controller/v1alpha2/llmisvc/:
- config_merge.go combineBaseRefsConfig: the well-known presets for the shape come first (with `prefill`:
  kserve-config-llm-prefill-template and kserve-config-llm-decode-template; with a `worker` and data parallelism
  kserve-config-llm-worker-data-parallel, with pipeline parallelism kserve-config-llm-worker-pipeline-parallel,
  which v0.20 does not ship; else kserve-config-llm-template; a prefill `worker` is not modelled), then the
  configs named in baseRefs in order, then the LLMInferenceService's own spec, each applied as a strategic merge
  patch over the result so far (MergeSpecs).
- workload_multi_node.go expectedMainMultiNodeLWS: a `worker` makes one LeaderWorkerSet whose groups are the
  `template` pod (the leader) and `size - 1` copies of the `worker` pod, where size is ParallelismSpec.GetSize():
  data / dataLocal with data parallelism, else pipeline (llm_inference_service_types_func.go).
- Strategic merge of a PodSpec (k8s.io/api/core/v1 patch tags): containers and initContainers merge by name,
  env by name, ports by containerPort, volumeMounts by mountPath, volumes by name with retainKeys (a volume in the
  patch replaces the source of the one it names: an emptyDir becomes a claim, not both); other lists, such as
  command and args, are replaced whole.
The presets are read from ../shared/kserve/v0.20.0/llmisvc-config (the files KServe installs).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Iterable

from aimgen.validate.kserve_pod import _POD_LISTS, strategic_merge

PRESET_DIR = ("kserve", "v0.20.0", "llmisvc-config")
PRESETS = {
    "template": "config-llm-template.yaml",
    "decode": "config-llm-decode-template.yaml",
    "prefill": "config-llm-prefill-template.yaml",
    "worker-data-parallel": "config-llm-worker-data-parallel.yaml",
    "scheduler": "config-llm-scheduler.yaml",  # the router's presets (aimgen.validate.llmisvc_children)
    "route": "config-llm-router-route.yaml",
}
PIPELINE_PRESET = "kserve-config-llm-worker-pipeline-parallel"  # named by config_merge.go, shipped by no release


def _merge_pod(base: dict, patch: dict) -> dict:
    """A PodSpec patch (aimgen.validate.kserve_pod.strategic_merge), with volumes' retainKeys: a volume the patch
    names is replaced, source and all, not merged into a volume with two sources."""
    named = {v.get("name") for v in patch.get("volumes") or [] if isinstance(v, dict)}
    kept = dict(base, volumes=[v for v in base.get("volumes") or [] if v.get("name") not in named])
    if not kept["volumes"]:
        kept.pop("volumes")
    return strategic_merge(kept, patch, _POD_LISTS)


def _merge_spec(base: dict, patch: dict) -> dict:
    """One LLMInferenceService(Config) spec over another: its pod templates (the decode `template`, the
    `prefill` one) merge as PodSpecs, the rest key by key."""
    pods = ("template", "worker", "prefill")
    out = strategic_merge(base, {k: v for k, v in patch.items() if k not in pods}, {})
    for pod in ("template", "worker"):
        if isinstance(patch.get(pod), dict):
            out[pod] = _merge_pod(base.get(pod) or {}, patch[pod])
    if isinstance(patch.get("prefill"), dict):
        out["prefill"] = _merge_spec(base.get("prefill") or {}, patch["prefill"])
    return out


def merge_specs(specs: Iterable[dict]) -> dict:
    """MergeSpecs: each LLMInferenceService(Config) spec laid over the ones before it."""
    out: dict = {}
    for spec in specs:
        out = _merge_spec(out, spec or {})
    return out


@lru_cache(maxsize=None)
def preset_spec(name: str) -> dict:
    import yaml

    from aimgen.paths import shared_dir

    path = shared_dir().joinpath(*PRESET_DIR, PRESETS[name])
    return yaml.safe_load(path.read_text(encoding="utf-8"))["spec"]


def named_configs(service: dict, docs: Iterable[dict]) -> tuple[list[dict], list[str]]:
    """The specs of the configs the service names in baseRefs, in order, and the names not among `docs`."""
    namespace = (service.get("metadata") or {}).get("namespace")
    by_name = {(d.get("metadata") or {}).get("name"): d for d in docs
               if d.get("kind") == "LLMInferenceServiceConfig"
               and (d.get("metadata") or {}).get("namespace") in (None, namespace)}
    found, missing = [], []
    for ref in (service.get("spec") or {}).get("baseRefs") or []:
        doc = by_name.get(ref.get("name"))
        (found.append(doc.get("spec") or {}) if doc else missing.append(ref.get("name")))
    return found, missing


def _positive(parallelism: dict, key: str) -> int:
    return max(_int(parallelism.get(key), 0), 0)


def group_size(parallelism: dict | None) -> int:
    """Pods per LeaderWorkerSet group (ParallelismSpec.GetSize): data / dataLocal with data parallelism, else
    pipeline, else 1."""
    p = parallelism or {}
    if _positive(p, "data") or _positive(p, "dataLocal"):
        return max(max(_positive(p, "data"), 1) // max(_positive(p, "dataLocal"), 1), 1)
    return _positive(p, "pipeline") or 1


def merged_spec(service: dict, docs: Iterable[dict]) -> tuple[dict, str | None]:
    """The spec KServe works from (presets, then baseRefs, then the service), and the name of a preset the shape
    needs that KServe v0.20 does not ship (None when all exist)."""
    configs, _ = named_configs(service, docs)
    own = service.get("spec") or {}
    resolved = merge_specs([*configs, own])
    missing = None
    if resolved.get("prefill"):
        presets = ["prefill", "decode"]
    elif resolved.get("worker"):
        parallel = resolved.get("parallelism") or {}
        data = _positive(parallel, "data") or _positive(parallel, "dataLocal")
        presets = ["worker-data-parallel"] if data else []
        missing = None if data else PIPELINE_PRESET
    else:
        presets = ["template"]
    return merge_specs([*(preset_spec(p) for p in presets), *configs, own]), missing


def workload_pods(service: dict, docs: Iterable[dict]) -> dict[str, dict]:
    """{role: pod spec} of the engine pods: "both" without prefill (and "worker" for a multi-node group's
    workers), else "decode" and "prefill"."""
    merged, _ = merged_spec(service, docs)
    if merged.get("prefill"):
        return {"decode": merged.get("template") or {}, "prefill": merged["prefill"].get("template") or {}}
    pods = {"both": merged.get("template") or {}}
    if merged.get("worker"):
        pods["worker"] = merged["worker"]
    return pods


# Finding codes of the LLMInferenceService serving contract (README, finding codes).
LLM_CONFIG = "LLM001"  # a config named in baseRefs is not in the file: the pods cannot be built (warning)
LLM_PORT = "LLM002"  # the engine listens elsewhere than where KServe's Service, pool or routing sidecar send traffic
LLM_VOLUMES = "LLM003"  # a mount naming no volume, a path mounted twice, a volume with two sources
LLM_GPUS = "LLM004"  # fewer GPUs than the engine's tensor x pipeline parallelism
LLM_GROUP = "LLM005"  # a multi-node group KServe cannot build, or whose pods' GPUs and DP ranks miss the world size
LLM_COMPILE = "LLM007"  # an engine compile/JIT cache read-only (error), off the cache claim or not keyed (warning)
# Where KServe sends traffic (workload.go reconcileWorkloadService: 8000; with prefill the decode preset's routing
# sidecar takes 8000 and forwards to --vllm-port=8001).
ENGINE_PORT = {"both": 8000, "prefill": 8000, "decode": 8001, "worker": None}  # workers serve no HTTP (--headless)
ENGINE_COMMANDS = (["vllm", "serve"],)


def _flag(args: list, name: str) -> str | None:
    for i, arg in enumerate(args):
        if isinstance(arg, str) and arg.startswith(f"{name}="):
            return arg.split("=", 1)[1]
        if arg == name and i + 1 < len(args):
            return str(args[i + 1])
    return None


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _main(pod: dict) -> dict | None:
    main = next((c for c in pod.get("containers") or [] if c.get("name") == "main"), None)
    return main if main is not None and list(main.get("command") or [])[:2] in ENGINE_COMMANDS else None


def _gpus(container: dict) -> int:
    return _int(((container.get("resources") or {}).get("limits") or {}).get("amd.com/gpu"), 0)


def group_problems(merged: dict, missing_preset: str | None) -> list[tuple[str, str, str]]:
    """A `worker` group as KServe builds it, against the world size the leader's engine expects: what the SERVE
    checks do for an InferenceService's head and workers (SERVE004), on the LeaderWorkerSet instead."""
    if not merged.get("worker") or merged.get("prefill"):
        return []
    where = "spec.parallelism"
    if missing_preset:
        return [(LLM_GROUP, where, f"a `worker` without data parallelism makes KServe v0.20 look for its preset "
                 f"{missing_preset!r}, which it does not ship: the service stays at ConfigNotFound; set "
                 "parallelism.data and dataLocal (data-parallel groups) or serve the model as an InferenceService")]
    size = group_size(merged.get("parallelism"))
    leader, worker = _main(merged.get("template") or {}), _main(merged["worker"])
    if leader is None or worker is None:
        return []  # KServe's own launcher, or no engine aimgen knows: nothing to count
    head = [str(a) for a in leader.get("args") or []]
    tp = _int(_flag(head, "--tensor-parallel-size"), 1)
    ranks = tp * _int(_flag(head, "--pipeline-parallel-size"), 1) * _int(_flag(head, "--data-parallel-size"), 1)
    gpus = _gpus(leader) + (size - 1) * _gpus(worker)
    out = []
    shape = f"the engine runs {ranks} rank(s), the group of {size} pod(s) (a leader and {size - 1} worker(s))"
    if ranks != gpus:
        out.append((LLM_GROUP, where, f"{shape} gets {gpus} amd.com/gpu: size the group (data / dataLocal pods) "
                    f"and each pod's GPUs to {ranks} in all"))
    dp = _int(_flag(head, "--data-parallel-size"), 1)
    local = [_int(_flag([str(a) for a in c.get("args") or []], "--data-parallel-size-local"), dp)
             for c in (leader, worker)]
    if dp > 1 and local[0] + (size - 1) * local[1] != dp:
        out.append((LLM_GROUP, where, f"DP{dp}, but the leader runs {local[0]} and each of the {size - 1} "
                    f"worker(s) {local[1]} rank(s) (--data-parallel-size-local): make them add up to {dp}"))
    return out


def pod_problems(role: str, pod: dict) -> list[tuple[str, str, str]]:
    """(code, path, message) for one engine pod as KServe would build it."""
    where = {"prefill": "spec.prefill.template", "worker": "spec.worker"}.get(role, "spec.template")
    out = []
    volumes = {v.get("name"): v for v in pod.get("volumes") or []}
    for name, v in volumes.items():
        if len(set(v) - {"name"}) != 1:
            out.append((LLM_VOLUMES, f"{where}.volumes[{name}]", f"volume {name!r} ends up with sources "
                        f"{sorted(set(v) - {'name'})}: give exactly one"))
    for c in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
        paths = [m.get("mountPath") for m in c.get("volumeMounts") or []]
        for path in sorted({p for p in paths if paths.count(p) > 1}):
            out.append((LLM_VOLUMES, f"{where}.containers[{c.get('name')}]", f"{path} is mounted twice"))
        for m in c.get("volumeMounts") or []:
            if m.get("name") not in volumes:
                out.append((LLM_VOLUMES, f"{where}.containers[{c.get('name')}]",
                            f"mounts volume {m.get('name')!r}, which the pod does not have"))
    main = _main(pod)
    if main is None:
        return out  # KServe's own launcher, or no engine aimgen knows: nothing more to read from the argv
    args = [str(a) for a in main.get("args") or []]
    port, want = _flag(args, "--port"), ENGINE_PORT[role]
    if want is not None and _int(port, 8000) != want:
        out.append((LLM_PORT, f"{where}.containers[main].args", f"the engine listens on {port or 8000}, but KServe "
                    f"sends {role} traffic to {want}: use --port={want}"))
    parallel = _int(_flag(args, "--tensor-parallel-size"), 1) * _int(_flag(args, "--pipeline-parallel-size"), 1)
    gpus = _gpus(main)
    if gpus < parallel:
        out.append((LLM_GPUS, f"{where}.containers[main].resources", f"the engine runs {parallel} ranks "
                    f"(tensor x pipeline parallel) on {gpus} amd.com/gpu: request {parallel}"))
    return out


def compile_cache_findings(service: dict, docs: Iterable[dict]) -> list[tuple[str, str, str]]:
    """The engine's compile/JIT caches in every pod KServe builds, held to the rule InferenceService pods are
    (validate/serving.py compile_cache_problems, SERVE012)."""
    from aimgen.runtimes.cmdline import runtime_for_command
    from aimgen.validate.serving import compile_cache_problems

    out = []
    for role, pod in workload_pods(service, docs).items():
        main = _main(pod)
        runtime = runtime_for_command(tuple(main.get("command") or ()), main.get("image")) if main else None
        if runtime is None:
            continue  # KServe's own launcher, or an engine aimgen has no runtime for
        where = {"prefill": "spec.prefill.template", "worker": "spec.worker"}.get(role, "spec.template")
        engine = f"{runtime.engine} {runtime.engine_version}"
        out += compile_cache_problems(engine, runtime.compile_caches, pod, main, f"{where}.containers[main].env")
    return out


def services(docs: Iterable[dict]) -> Iterable[tuple[dict, str]]:
    """Every LLMInferenceService among `docs` with a spec to read, and how findings name it."""
    for doc in docs:
        if doc.get("kind") == "LLMInferenceService" and isinstance(doc.get("spec"), dict):
            yield doc, f"LLMInferenceService/{(doc.get('metadata') or {}).get('name', '?')}"


def llmisvc_findings(docs: list[dict], source: str) -> list:
    """The serving contract of every LLMInferenceService among `docs`, checked on the pods KServe would build."""
    from aimgen.findings import ERROR, WARNING, Finding

    out = []
    for doc, label in services(docs):
        try:
            _, missing = named_configs(doc, docs)
            if missing:
                out.append(Finding(WARNING, LLM_CONFIG, source, f"{label} spec.baseRefs",
                                   f"names {', '.join(map(repr, missing))}, not in this file: keep the "
                                   "LLMInferenceServiceConfig beside it (as `aimgen render` writes them) to check "
                                   "the pods KServe builds"))
                continue
            for role, pod in workload_pods(doc, docs).items():
                out += [Finding(ERROR, code, source, f"{label} {path}", message)
                        for code, path, message in pod_problems(role, pod)]
            out += [Finding(ERROR, code, source, f"{label} {path}", message)
                    for code, path, message in group_problems(*merged_spec(doc, docs))]
            out += [Finding(level, LLM_COMPILE, source, f"{label} {path}", message)
                    for level, path, message in compile_cache_findings(doc, docs)]
        except (AttributeError, KeyError, TypeError, ValueError, IndexError):
            continue  # a manifest of the wrong shape: the schema findings already say what is wrong with it
    return out
