"""The engine pods KServe v0.20 builds for an LLMInferenceService, from the manifests and KServe's own presets.

Pure functions over plain dicts. The rules restate kserve/kserve tag v0.20.0, pkg/controller/v1alpha2/llmisvc/:
- config_merge.go combineBaseRefsConfig: the well-known presets for the shape come first (with `prefill`:
  kserve-config-llm-prefill-template and kserve-config-llm-decode-template, else kserve-config-llm-template; a
  `worker` is not modelled), then the configs named in baseRefs in order, then the LLMInferenceService's own
  spec, each applied as a strategic merge patch over the result so far (MergeSpecs).
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
}


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
    pods = ("template", "prefill")
    out = strategic_merge(base, {k: v for k, v in patch.items() if k not in pods}, {})
    if isinstance(patch.get("template"), dict):
        out["template"] = _merge_pod(base.get("template") or {}, patch["template"])
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
def _preset_spec(name: str) -> dict:
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


def workload_pods(service: dict, docs: Iterable[dict]) -> dict[str, dict]:
    """{role: pod spec} of the engine pods: "both" without prefill, else "decode" and "prefill"."""
    configs, _ = named_configs(service, docs)
    own = service.get("spec") or {}
    resolved = merge_specs([*configs, own])
    presets = ["prefill", "decode"] if resolved.get("prefill") else ["template"]
    merged = merge_specs([*(_preset_spec(p) for p in presets), *configs, own])
    if merged.get("prefill"):
        return {"decode": merged.get("template") or {}, "prefill": merged["prefill"].get("template") or {}}
    return {"both": merged.get("template") or {}}


# Finding codes of the LLMInferenceService serving contract (README, finding codes).
LLM_CONFIG = "LLM001"  # a config named in baseRefs is not in the file: the pods cannot be built (warning)
LLM_PORT = "LLM002"  # the engine listens elsewhere than where KServe's Service, pool or routing sidecar send traffic
LLM_VOLUMES = "LLM003"  # a mount naming no volume, a path mounted twice, a volume with two sources
LLM_GPUS = "LLM004"  # fewer GPUs than the engine's tensor x pipeline parallelism
# Where KServe sends traffic (workload.go reconcileWorkloadService: 8000; with prefill the decode preset's routing
# sidecar takes 8000 and forwards to --vllm-port=8001).
ENGINE_PORT = {"both": 8000, "prefill": 8000, "decode": 8001}
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


def pod_problems(role: str, pod: dict) -> list[tuple[str, str, str]]:
    """(code, path, message) for one engine pod as KServe would build it."""
    where = "spec.prefill.template" if role == "prefill" else "spec.template"
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
    main = next((c for c in pod.get("containers") or [] if c.get("name") == "main"), None)
    if main is None or list(main.get("command") or [])[:2] not in ENGINE_COMMANDS:
        return out  # KServe's own launcher, or no engine aimgen knows: nothing more to read from the argv
    args = [str(a) for a in main.get("args") or []]
    port, want = _flag(args, "--port"), ENGINE_PORT[role]
    if _int(port, 8000) != want:
        out.append((LLM_PORT, f"{where}.containers[main].args", f"the engine listens on {port or 8000}, but KServe "
                    f"sends {role} traffic to {want}: use --port={want}"))
    parallel = _int(_flag(args, "--tensor-parallel-size"), 1) * _int(_flag(args, "--pipeline-parallel-size"), 1)
    gpus = _int(((main.get("resources") or {}).get("limits") or {}).get("amd.com/gpu"), 0)
    if gpus < parallel:
        out.append((LLM_GPUS, f"{where}.containers[main].resources", f"the engine runs {parallel} ranks "
                    f"(tensor x pipeline parallel) on {gpus} amd.com/gpu: request {parallel}"))
    return out


def llmisvc_findings(docs: list[dict], source: str) -> list:
    """The serving contract of every LLMInferenceService among `docs`, checked on the pods KServe would build."""
    from aimgen.findings import ERROR, WARNING, Finding

    out = []
    for doc in docs:
        if doc.get("kind") != "LLMInferenceService" or not isinstance(doc.get("spec"), dict):
            continue
        label = f"LLMInferenceService/{(doc.get('metadata') or {}).get('name', '?')}"
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
        except (AttributeError, KeyError, TypeError, ValueError, IndexError):
            continue  # a manifest of the wrong shape: the schema findings already say what is wrong with it
    return out
