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

import copy
from functools import lru_cache
from typing import Any, Iterable

PRESET_DIR = ("kserve", "v0.20.0", "llmisvc-config")
PRESETS = {
    "template": "config-llm-template.yaml",
    "decode": "config-llm-decode-template.yaml",
    "prefill": "config-llm-prefill-template.yaml",
}
_CONTAINER_LISTS = {"env": "name", "ports": "containerPort", "volumeMounts": "mountPath"}
_POD_LISTS = {"containers": "name", "initContainers": "name", "volumes": "name"}
_RETAIN_KEYS = {"volumes"}  # patchStrategy "merge,retainKeys"


def _merge(base: Any, patch: Any, lists: dict[str, str]) -> Any:
    if not isinstance(base, dict) or not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif key in lists and isinstance(value, list) and isinstance(out.get(key), list):
            out[key] = _merge_list(out[key], value, lists[key], retain=key in _RETAIN_KEYS,
                                   item_lists=_CONTAINER_LISTS if key in ("containers", "initContainers") else {})
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value, _POD_LISTS if key == "template" else {})
        else:
            out[key] = copy.deepcopy(value)
    return out


def _merge_list(base: list, patch: list, key: str, *, retain: bool, item_lists: dict[str, str]) -> list:
    merged = copy.deepcopy(base)
    for item in patch:
        at = next((i for i, b in enumerate(merged) if isinstance(b, dict) and isinstance(item, dict)
                   and key in item and b.get(key) == item.get(key)), None)
        if at is None:
            merged.append(copy.deepcopy(item))
        elif retain:
            merged[at] = _merge({k: v for k, v in merged[at].items() if k in item}, item, item_lists)
        else:
            merged[at] = _merge(merged[at], item, item_lists)
    return merged


def merge_specs(specs: Iterable[dict]) -> dict:
    """MergeSpecs: each LLMInferenceService(Config) spec laid over the ones before it."""
    out: dict = {}
    for spec in specs:
        out = _merge(out, spec or {}, {})
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
