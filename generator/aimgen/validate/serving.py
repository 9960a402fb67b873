"""Serving-contract checks (SERVE001-SERVE011): will the pod KServe builds from these manifests serve?

For every InferenceService, the pod is built as KServe v0.20 builds it (kserve_pod.py), its engine command is read
back with the engine's option table (runtimes/cmdline.py, the snapshot of the version the image carries), and
each promise a probe, a Service, a scrape, the cache or the planner makes about that engine is checked against
what the engine will actually do. Schema validity is documents.py's job; this is what comes after it.

  SERVE001 the runtime or engine cannot be found, so nothing below could be checked (warning), or KServe
           would refuse to build the pod (error)
  SERVE002 the engine listens on loopback only: probes and the Service on the pod IP never reach it
  SERVE003 the engine's port is not the container port / a probe's port / the metrics scrape port / a port the
           NetworkPolicies let in, a route misses the predictor Service's port, or /metrics is scraped from an
           engine that does not serve it
  SERVE004 TP x PP x DP is not the number of GPUs the pod group gets
  SERVE005 the engine does not look for the model where the init container or prefetch Job writes it, or loads a
           folder no volume holds (storageUri: KServe's mount, download or model car at /mnt/models), or runs
           offline with a draft model (speculative decoding) no prefetch of the input writes
  SERVE006 /dev/shm is not a memory-backed emptyDir sized for the GPUs, or the memory limit does not cover it
  SERVE007 the context (max-model-len) exceeds the model or does not fit the GPUs (the planner's arithmetic)
  SERVE008 the precision does not run on the GPU family the pod is pinned to
  SERVE009 the served model name is not the one the release advertises, or scaling reads metrics the engine
           does not export
  SERVE010 the image's engine version has no snapshot: its args were checked against another version
  SERVE011 the engine's parser would reject the args
  SERVE012 a compile/JIT cache dir of the engine (the runtime's compile_caches: VLLM_CACHE_ROOT, TRITON_CACHE_DIR,
           TORCHINDUCTOR_CACHE_DIR, AITER_JIT_DIR, SGLANG_CACHE_DIR) is read-only (error), or off the cache volume, or
           not keyed by the image and GPU architecture (warning: every start recompiles, or a build loads kernels
           another build compiled)

What this cannot prove (README, docs/runtimes.md): that kernels exist for the model on the GPU, that the GPU
memory arithmetic is exact, that the node has the GPUs, that the Hub serves the files. It is not a GPU.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Any, Sequence

from aimgen.constants import ANN_MODEL, LABEL_GPU_DEVICE_ID, LABEL_GPU_FAMILY, LABEL_GPU_PRODUCT, SHM_MOUNT_PATH
from aimgen.findings import ERROR, WARNING, Finding
from aimgen.validate.kserve_pod import find_runtime, gpus_of, pod_group

RUNTIME = "SERVE001"
HOST = "SERVE002"
PORT = "SERVE003"
WORLD = "SERVE004"
CACHE = "SERVE005"
SHM = "SERVE006"
CONTEXT = "SERVE007"
PRECISION = "SERVE008"
NAME = "SERVE009"
VERSION = "SERVE010"
ARGS = "SERVE011"
COMPILE = "SERVE012"

MODEL_ARGS = "spec.predictor.model.args"
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")
_QUANTITY = re.compile(r"^([0-9.]+)([KMGTPE]i?|k|m)?$")
_UNITS = {None: 1, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18, "Ki": 2**10,
          "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60, "m": 1e-3}
_METRIC = re.compile(r"\b([a-z_]+:[a-z0-9_:]+)")


def quantity(value: Any) -> float | None:
    """A Kubernetes quantity in base units (bytes for memory), None when unreadable."""
    found = _QUANTITY.match(str(value).strip()) if value is not None else None
    return float(found.group(1)) * _UNITS[found.group(2)] if found else None


@dataclass
class Served:
    """One InferenceService as its pod will run."""

    source: str
    label: str
    isvc: dict
    pod: dict
    container: dict
    group: list
    cmd: Any  # aimgen.runtimes.cmdline.EngineCommand
    docs: Sequence[tuple[str, dict]]

    def finding(self, level: str, code: str, path: str, message: str) -> Finding:
        return Finding(level, code, self.source, f"{self.label} {path}".strip(), message)

    @property
    def engine(self) -> str:
        return f"{self.cmd.runtime.engine} {self.cmd.snapshot.engine_version}"

    @property
    def gpus_per_pod(self) -> int:
        return gpus_of(self.container)


def serving_findings(docs: Sequence[tuple[str, dict]]) -> list[Finding]:
    """Findings for every InferenceService among `docs` ((source, manifest) pairs, all files of one input)."""
    manifests = [d for _, d in docs]
    findings: list[Finding] = []
    for source, doc in docs:
        if doc.get("kind") != "InferenceService" or not isinstance(doc.get("spec"), dict):
            continue
        try:
            served, problems = _read(source, doc, manifests, docs)
            for check in CHECKS if served is not None else ():
                problems += check(served)
        except (AttributeError, KeyError, TypeError, ValueError, IndexError):
            # A manifest of the wrong shape: the schema findings already say what is wrong with it.
            name = (doc.get("metadata") or {}).get("name") if isinstance(doc.get("metadata"), dict) else None
            problems = [Finding(WARNING, RUNTIME, source, f"InferenceService/{name}",
                                "the serving contract could not be checked: fix the schema errors first")]
        findings += problems
    return findings


def _read(source: str, isvc: dict, manifests: list[dict], docs) -> tuple[Served | None, list[Finding]]:
    from aimgen.runtimes.cmdline import (
        engine_version_of,
        parse_command,
        runtime_for_command,
        snapshot_of_version,
    )
    from aimgen.runtimes.flags import snapshot_for

    label = f"InferenceService/{(isvc.get('metadata') or {}).get('name', '?')}"
    at = lambda level, code, path, message: Finding(level, code, source, f"{label} {path}".strip(), message)  # noqa: E731
    predictor = isvc["spec"].get("predictor") or {}
    name = (predictor.get("model") or {}).get("runtime")
    if not isinstance(predictor.get("model"), dict) or not name:
        # A custom-container predictor, or a runtime KServe auto-selects by model format in the cluster: no runtime
        # named, none of ours to check.
        return None, []
    runtime_doc = find_runtime(isvc, manifests)
    if runtime_doc is None:
        return None, [at(WARNING, RUNTIME, "spec.predictor.model.runtime",
                         f"names runtime {name!r}, which is not in this input: the serving contract cannot be "
                         "checked; validate the ServingRuntime/ClusterServingRuntime together with it")]
    try:
        group = pod_group(isvc, runtime_doc)
    except ValueError as exc:
        return None, [at(ERROR, RUNTIME, "spec.predictor", f"KServe would not build the pod: {exc}")]
    pod = group[0][0]
    container = pod["spec"]["containers"][0]
    runtime = runtime_for_command(container.get("command"), container.get("image"))
    if runtime is None:
        return None, [at(WARNING, RUNTIME, "spec.predictor.model",
                         f"command {container.get('command')} starts no engine aimgen knows (runtimes/*/runtime.yaml); "
                         "host, port, parallelism and cache are not checked")]
    findings = []
    version = engine_version_of(runtime, container.get("image"))
    snapshot = snapshot_of_version(runtime, version)
    if snapshot is None:
        snapshot = snapshot_for(runtime)
        known = ", ".join(runtime.snapshots()) or "none"
        if version is None:
            findings.append(at(WARNING, VERSION, "image", f"{container.get('image')} names no engine version; its args "
                               f"are checked against {runtime.engine} {runtime.engine_version}, the runtime's pin"))
        else:
            findings.append(at(ERROR, VERSION, "image",
                               f"{container.get('image')} runs {runtime.engine} {version}, but aimgen has no snapshot of "
                               f"that version (has: {known}), so its args were checked against "
                               f"{runtime.engine} {runtime.engine_version}; use an image of a snapshotted version, "
                               f"e.g. {runtime.image_for(runtime.gfx_targets[-1])}"))
    if snapshot is None:
        return None, findings
    cmd = parse_command(runtime, snapshot, container.get("args") or [])
    for problem in cmd.problems:
        findings.append(at(ERROR, ARGS, MODEL_ARGS, f"{runtime.engine} {snapshot.engine_version} would refuse to "
                                                    f"start: {problem}"))
    return Served(source, label, isvc, pod, container, group, cmd, docs), findings


# --- the checks ---------------------------------------------------------------------------------------------


def check_host(s: Served) -> list[Finding]:
    from aimgen.runtimes.cmdline import ALL_INTERFACES, listens_everywhere

    host = s.cmd.host
    if listens_everywhere(host):
        return []
    how = "--host" if s.cmd.dest(s.cmd.runtime.flag("host")) in s.cmd.given else "its default, per its snapshot"
    return [s.finding(ERROR, HOST, MODEL_ARGS,
                      f"{s.engine} listens on {host} ({how}): the kubelet's probes and the Service reach the pod IP, "
                      f"never loopback, so the pod would never become Ready; add {s.cmd.runtime.flag('host')}="
                      f"{ALL_INTERFACES} to {MODEL_ARGS}")]


def _port_number(port: Any, container: dict) -> Any:
    if isinstance(port, str) and not port.isdigit():
        named = [p.get("containerPort") for p in container.get("ports") or () if p.get("name") == port]
        return named[0] if named else port
    return int(port) if isinstance(port, str) else port


def check_ports(s: Served) -> list[Finding]:
    port = s.cmd.port
    how = "--port" if s.cmd.dest(s.cmd.runtime.flag("port")) in s.cmd.given else "the engine's default"
    fix = f"{s.cmd.runtime.flag('port')}={port}" if how == "--port" else f"{s.cmd.runtime.flag('port')}=<that port>"
    out = []
    ports = [p.get("containerPort") for p in s.container.get("ports") or ()]
    if ports and ports[0] != port:
        out.append(s.finding(ERROR, PORT, "spec.predictor.model.ports",
                             f"{s.engine} listens on {port} ({how}) but the container port (what KServe's Service "
                             f"targets) is {ports[0]}; make them equal ({fix} or containerPort: {port})"))
    for probe in PROBES:
        handler = s.container.get(probe) or {}
        action = handler.get("httpGet") or handler.get("tcpSocket")
        if not action:
            continue
        number = _port_number(action.get("port"), s.container)
        if number != port:
            out.append(s.finding(ERROR, PORT, f"spec.predictor.model.{probe}",
                                 f"probes port {action.get('port')}, but {s.engine} listens on {port} ({how}): the "
                                 f"probe would fail forever; set its port to {port}"))
        path = (handler.get("httpGet") or {}).get("path")
        known = {s.cmd.runtime.health_path, s.cmd.runtime.readiness_path}
        if path is not None and path not in known:
            out.append(s.finding(WARNING, PORT, f"spec.predictor.model.{probe}.httpGet.path",
                                 f"{path} is not an endpoint the runtime declares ({', '.join(sorted(known))})"))
    out += _metrics(s, port)
    out += _network(s, port, ports[0] if ports else port)
    return out


# KServe's RawDeployment Service: <name>-predictor, port 80 -> the first container port
# (reconcilers/service/service_reconciler.go, constants.CommonDefaultHttpPort).
SERVICE_PORT = 80


def _network(s: Served, port: int, target: int) -> list[Finding]:
    """NetworkPolicies that select the pod must let the engine's port in; Ingresses and HTTPRoutes that send to the
    predictor Service must use the port that Service has."""
    out = []
    meta = s.pod["metadata"]
    labels, namespace = meta.get("labels") or {}, meta.get("namespace")
    service = f"{s.isvc['metadata'].get('name')}-predictor"
    for source, doc in s.docs:
        kind, spec = doc.get("kind"), doc.get("spec") or {}
        doc_meta = doc.get("metadata") or {}
        if doc_meta.get("namespace", namespace) != namespace:
            continue
        label = f"{kind}/{doc_meta.get('name')}"
        if kind == "NetworkPolicy" and "Ingress" in (spec.get("policyTypes") or ["Ingress"]):
            selector = spec.get("podSelector") or {}
            wanted = selector.get("matchLabels") or {}
            if selector.get("matchExpressions") or any(labels.get(k) != v for k, v in wanted.items()):
                continue
            rules = spec.get("ingress") or []
            allowed = [r for r in rules if not r.get("ports") or any(_port_number(p.get("port"), s.container) == port
                                                                     for p in r["ports"])]
            if rules and not allowed:
                open_ports = sorted({str(p.get("port")) for r in rules for p in r.get("ports") or ()})
                out.append(Finding(ERROR, PORT, source, f"{label} spec.ingress",
                                   f"selects {s.label}'s pods and lets in ports {', '.join(open_ports)}, but "
                                   f"{s.engine} listens on {port}: clients would be dropped; allow port {port}"))
        backends = []
        if kind == "HTTPRoute":
            backends = [b for rule in spec.get("rules") or () for b in rule.get("backendRefs") or ()]
            backends = [(b.get("name"), b.get("port")) for b in backends]
        elif kind == "Ingress":
            for rule in spec.get("rules") or ():
                for path in ((rule.get("http") or {}).get("paths") or ()):
                    svc = (path.get("backend") or {}).get("service") or {}
                    backends.append((svc.get("name"), (svc.get("port") or {}).get("number")))
        for name, number in backends:
            if name == service and number not in (SERVICE_PORT, None):
                out.append(Finding(ERROR, PORT, source, label,
                                   f"sends to {service} port {number}, but KServe's predictor Service listens on "
                                   f"{SERVICE_PORT} (to container port {target}); use port {SERVICE_PORT}"))
    return out


def _metrics(s: Served, port: int) -> list[Finding]:
    out = []
    annotations = s.pod["metadata"].get("annotations") or {}
    scraped = False
    for key in ("prometheus.io/port", "prometheus.kserve.io/port"):
        if key in annotations:
            scraped = True
            if str(annotations[key]) != str(port):
                out.append(s.finding(ERROR, PORT, f"metadata.annotations[{key}]",
                                     f"Prometheus would scrape port {annotations[key]}, but {s.engine} serves "
                                     f"{s.cmd.runtime.metrics_path} on {port}; set it to {port}"))
    labels = s.pod["metadata"].get("labels") or {}
    for source, doc in s.docs:
        if doc.get("kind") != "PodMonitor":
            continue
        wanted = ((doc.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        if not wanted or any(labels.get(k) != v for k, v in wanted.items()):
            continue
        scraped = True
        for i, endpoint in enumerate((doc.get("spec") or {}).get("podMetricsEndpoints") or ()):
            number = endpoint.get("portNumber") or _port_number(endpoint.get("port") or endpoint.get("targetPort"),
                                                                 s.container)
            if number is not None and number != port:
                name = (doc.get("metadata") or {}).get("name")
                out.append(Finding(ERROR, PORT, source, f"PodMonitor/{name} spec.podMetricsEndpoints[{i}]",
                                   f"scrapes port {number} of {s.label}'s pods, whose engine serves metrics on "
                                   f"{port}; set portNumber: {port}"))
    switch = s.cmd.snapshot.option("--enable-metrics")
    if scraped and switch is not None and switch.is_boolean and not s.cmd.values.get(switch.dest):
        out.append(s.finding(ERROR, PORT, MODEL_ARGS,
                             f"the pod is scraped but {s.engine} serves {s.cmd.runtime.metrics_path} only with "
                             "--enable-metrics; add it"))
    return out


def check_world_size(s: Served) -> list[Finding]:
    tp, pp, dp = s.cmd.world_size
    ranks = tp * pp * dp
    gpus = sum(gpus_of(pod["spec"]["containers"][0]) * count for pod, count in s.group)
    pods = sum(count for _, count in s.group)
    shape = f"TP{tp} x PP{pp} x DP{dp} = {ranks} GPU rank(s)"
    per_pod = " + ".join(f"{gpus_of(pod['spec']['containers'][0])} x {count}" for pod, count in s.group if count)
    given = f"{gpus} GPU(s) ({per_pod} in {pods} pod(s))"
    if ranks > gpus:
        return [s.finding(ERROR, WORLD, MODEL_ARGS,
                          f"{shape}, but the pod group gets {given}: the engine would wait for GPUs that never come; "
                          f"give the pod amd.com/gpu: {ranks} (nodes with that many GPUs) or lower the parallel sizes "
                          "(a multi-node shape needs a workerSpec)")]
    if ranks < gpus:
        return [s.finding(WARNING, WORLD, MODEL_ARGS, f"{shape} on {given}: {gpus - ranks} GPU(s) would sit idle")]
    return []


def _env(container: dict) -> dict[str, str]:
    return {e["name"]: str(e.get("value", "")) for e in container.get("env") or () if isinstance(e, dict) and "name" in e}


def engine_hub_dir(env: dict[str, str], download_dir: str | None) -> str:
    """Where huggingface_hub (and so the engine) looks for repos: --download-dir, HF_HUB_CACHE, HF_HOME/hub,
    $XDG_CACHE_HOME/huggingface/hub, ~/.cache/huggingface/hub (huggingface_hub constants.py)."""
    if download_dir:
        return download_dir
    if env.get("HF_HUB_CACHE"):
        return env["HF_HUB_CACHE"]
    home = env.get("HF_HOME") or posixpath.join(
        env.get("XDG_CACHE_HOME") or posixpath.join(env.get("HOME") or "/root", ".cache"), "huggingface")
    return posixpath.join(home, "hub")


def _mount_of(container: dict, path: str) -> dict | None:
    """The container's mount that holds `path` (the deepest), None when none does."""
    best = None
    for mount in container.get("volumeMounts") or ():
        root = mount.get("mountPath", "").rstrip("/") or "/"
        if (path == root or path.startswith(root.rstrip("/") + "/")) and \
                (best is None or len(root) > len(best.get("mountPath", ""))):
            best = mount
    return best


def _on_volume(pod_spec: dict, container: dict, path: str) -> tuple[tuple, str] | None:
    """(the volume's identity, the path inside it) for a path in a container, None when no volume holds it."""
    best = _mount_of(container, path)
    if best is None:
        return None
    volume = next((v for v in pod_spec.get("volumes") or () if v.get("name") == best.get("name")), {})
    if "persistentVolumeClaim" in volume:
        identity: tuple = ("pvc", volume["persistentVolumeClaim"].get("claimName"))
    elif "hostPath" in volume:
        identity = ("hostPath", volume["hostPath"].get("path"))
    else:
        identity = ("pod", id(pod_spec), best.get("name"))  # emptyDir and the like: this pod's own
    inside = posixpath.normpath(posixpath.join("/", best.get("subPath", ""),
                                               posixpath.relpath(path, best.get("mountPath", "/"))))
    return identity, inside


@dataclass(frozen=True)
class Writer:
    where: str
    model: str
    revision: str
    location: tuple[tuple, str] | None
    hub: str


def _writers(s: Served) -> list[Writer]:
    """Containers that run `aimgen cache prefetch`: the pod's init containers and the input's Jobs."""
    found = []
    pods = [("spec.predictor.initContainers", s.pod["spec"], s.pod["spec"].get("initContainers") or ())]
    for _, doc in s.docs:
        if doc.get("kind") == "Job":
            template = ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}
            pods.append((f"Job/{(doc.get('metadata') or {}).get('name')}", template, template.get("containers") or ()))
    for where, pod_spec, containers in pods:
        for container in containers:
            args = [str(a) for a in container.get("args") or ()]
            words = [*map(str, container.get("command") or ()), *args]
            if "prefetch" not in words or "cache" not in words:
                continue
            rest = words[words.index("prefetch") + 1:]
            model = next((w for w in rest if not w.startswith("-")), "")
            option = lambda flag, default: rest[rest.index(flag) + 1] if flag in rest[:-1] else default  # noqa: E731
            env = _env(container)
            root = option("--cache-dir", env.get("AIMGEN_CACHE_DIR") or env.get("HF_HOME") or
                          posixpath.join(env.get("HOME") or "/root", ".cache", "huggingface"))
            hub = posixpath.join(root, "hub")
            found.append(Writer(f"{where} {container.get('name')}", model, option("--revision", "main"),
                                _on_volume(pod_spec, container, hub), hub))
    return found


def _writing(writers: list[Writer], repo: str, where) -> list[Writer]:
    """The writers that put `repo` on the volume the engine reads its Hub cache from (`where`, _on_volume's)."""
    return [w for w in writers if w.model == repo and w.location is not None and w.location == where]


def check_local_model(s: Served, path: str) -> list[Finding]:
    """An engine given a folder (a --model-source at /mnt/models) must find a volume there: a claim, the storage
    initializer's download or the model car KServe adds for storageUri (kserve_pod.inject_storage)."""
    if _on_volume(s.pod["spec"], s.container, path) is not None:
        return _local_cache(s)
    return [s.finding(ERROR, CACHE, MODEL_ARGS,
                      f"{s.engine} loads the folder {path}, but no volume of the pod holds it: the image has no "
                      "weights there; set spec.predictor.model.storageUri (pvc://, s3://, oci://) so KServe provides "
                      "them at /mnt/models, or mount a volume holding the model at that path")]


def _matches(cached: str, uri: str) -> bool:
    """v1alpha1.MatchStorageURI: the same URI, or a sub-folder of it."""
    cached, uri = cached.rstrip("/"), uri.rstrip("/")
    return uri == cached or uri.startswith(cached + "/")


def _local_cache(s: Served) -> list[Finding]:
    """An InferenceService that names a node group (serving.kserve.io/nodegroup) beside LocalModelCaches in the same
    input must match one of them (inference_service_defaults.go setLocalModelLabel: sourceModelUri and nodeGroups),
    or KServe downloads the model into every pod instead of mounting the node's copy."""
    group = ((s.isvc.get("metadata") or {}).get("annotations") or {}).get("serving.kserve.io/nodegroup")
    uri = ((s.isvc["spec"].get("predictor") or {}).get("model") or {}).get("storageUri") or ""
    caches = [d for _, d in s.docs if d.get("kind") == "LocalModelCache" and isinstance(d.get("spec"), dict)]
    if not group or not caches:
        return []
    if any(_matches(str(c["spec"].get("sourceModelUri", "")), uri) and group in (c["spec"].get("nodeGroups") or ())
           for c in caches):
        return []
    return [s.finding(WARNING, CACHE, "metadata.annotations[serving.kserve.io/nodegroup]",
                      f"no LocalModelCache of this input caches {uri} on node group {group}: KServe would download "
                      "the model into every pod instead of mounting the node's copy; give the LocalModelCache "
                      "that storageUri as sourceModelUri and this node group in nodeGroups")]


def _offline(env: dict[str, str]) -> bool:
    return env.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def check_cache(s: Served) -> list[Finding]:
    return check_model_cache(s) + check_draft_cache(s)


def check_draft_cache(s: Served) -> list[Finding]:
    """An engine that runs offline must find every Hub repo it loads besides the model (a speculative-decoding
    draft, aimgen.planning.drafts) where some prefetch of this input writes it, at the revision it asks for."""
    from aimgen.errors import InvalidInput
    from aimgen.planning.drafts import named_repos

    env = _env(s.container)
    if not _offline(env):
        return []  # the engine downloads it itself at start-up
    try:
        repos = named_repos(s.cmd.runtime, lambda flag: s.cmd.get(f"--{flag}"), s.cmd.model or "")
    except InvalidInput as exc:  # a draft revision no Hub would take
        return [s.finding(ERROR, CACHE, MODEL_ARGS, exc.message)]
    hub = engine_hub_dir(env, s.cmd.get("--download-dir"))
    where = _on_volume(s.pod["spec"], s.container, hub)
    writers = _writers(s)
    out = []
    for repo in repos:
        revision = repo.revision or "main"
        if any(w.revision == revision for w in _writing(writers, repo.repo, where)):
            continue
        out.append(s.finding(ERROR, CACHE, MODEL_ARGS,
                             f"{s.engine} also loads the draft model {repo.repo} at revision {revision}, but "
                             f"HF_HUB_OFFLINE is set and nothing in this input writes it to {hub}: the engine would "
                             "fail at start-up; prefetch it beside the model (an init container running `aimgen cache "
                             f"prefetch {repo.repo} --revision {revision}` on the same volume, as `aimgen render` "
                             "writes it)"))
    return out


def check_model_cache(s: Served) -> list[Finding]:
    from aimgen.cache.plan import read_snapshot_folder

    env = _env(s.container)
    model = s.cmd.model
    if model.startswith("/"):
        # <hub>/models--org--name/snapshots/<commit>: how an engine with no revision flag (ATOM) loads a pinned
        # commit (aimgen.compose); the prefetch of org/name at that commit fills it
        pinned = read_snapshot_folder(model)
        if pinned is None:
            return check_local_model(s, model)
        hub, repo, commit = pinned
        return _check_prefetched(s, env, repo, commit, hub)
    return _check_prefetched(s, env, model, s.cmd.role("revision") or "main",
                             engine_hub_dir(env, s.cmd.get("--download-dir")))


def _check_prefetched(s: Served, env: dict[str, str], model: str, revision: str, hub: str) -> list[Finding]:
    """The engine loads `model` at `revision` from the Hub cache `hub`: something in the input must write that
    snapshot there, on a volume the engine mounts, before it starts (offline)."""
    where = _on_volume(s.pod["spec"], s.container, hub)
    offline = _offline(env)
    writers = _writers(s)
    if not writers:
        if offline:
            return [s.finding(WARNING, CACHE, "spec.predictor.model.env",
                              f"HF_HUB_OFFLINE is set and nothing in this input writes {model} to {hub}: it must "
                              "be there before the pod starts (aimgen cache prefetch)")]
        return []
    matching = _writing(writers, model, where)
    if not matching:
        w = writers[0]
        via = f"HF_HUB_CACHE={env['HF_HUB_CACHE']}" if env.get("HF_HUB_CACHE") else (
            f"HF_HOME={env['HF_HOME']}" if env.get("HF_HOME") else "the default ~/.cache/huggingface")
        volume = f"volume {where[0][1] if where else '(none: the container filesystem)'}"
        return [s.finding(ERROR, CACHE, "spec.predictor.model.env",
                          f"{s.engine} looks for {model} in {hub} ({via}; {volume}), but {w.where} writes {w.model} to "
                          f"{w.hub} on volume {w.location[0][1] if w.location else '(none)'}: the engine would not "
                          f"find it offline; point HF_HUB_CACHE at {w.hub} on the same volume, or mount it there")]
    if not any(w.revision == revision for w in matching):
        w = matching[0]
        return [s.finding(ERROR, CACHE, MODEL_ARGS,
                          f"{s.engine} loads {model} at revision {revision}, but {w.where} caches revision "
                          f"{w.revision} (only that snapshot is on the volume); {_revision_hint(s, model, w, hub)}")]
    if not offline:
        return [s.finding(WARNING, CACHE, "spec.predictor.model.env",
                          "HF_HUB_OFFLINE is not 1: the engine will still ask the Hub at start-up (set it to 1 to "
                          "load only what the prefetch wrote)")]
    return []


def _revision_hint(s: Served, model: str, w: Writer, hub: str) -> str:
    """How to load the snapshot the prefetch writes: the revision flag, or (an engine without one, ATOM) the model
    given as that commit's folder, or as its id where the prefetch writes a branch."""
    from aimgen.cache.plan import snapshot_folder

    flag = s.cmd.runtime.flag("revision")
    if flag:
        return f"pass {flag}={w.revision}"
    folder = snapshot_folder(hub, model, w.revision)
    if folder:
        return f"{s.cmd.runtime.name} has no revision flag: give it the folder {folder} as the model"
    return f"{s.cmd.runtime.name} has no revision flag: give it the model id {model}, which resolves {w.revision}"


def check_compile_caches(s: Served) -> list[Finding]:
    return [s.finding(level, COMPILE, path, message) for level, path, message in compile_cache_problems(
        s.engine, s.cmd.runtime.compile_caches, s.pod["spec"], s.container, "spec.predictor.model.env")]


def compile_cache_problems(engine: str, caches, pod_spec: dict, container: dict,
                           env_path: str) -> list[tuple[str, str, str]]:
    """(level, path, message) for an engine container whose compile/JIT caches are not where they belong: on the
    writable cache claim, in a folder of this image and GPU architecture (aimgen.cache.plan.compile_cache_env). A
    read-only folder fails the first compile, a pod-local one recompiles at every start, a shared one hands one
    build's kernels to another. Serves InferenceService pods (SERVE012) and LLMInferenceService pods (LLM007)."""
    from aimgen.cache.plan import compile_cache_key

    env = _env(container)
    volumes = {v.get("name"): v for v in pod_spec.get("volumes") or ()}
    claims = [m for m in container.get("volumeMounts") or ()
              if "persistentVolumeClaim" in volumes.get(m.get("name"), {}) and not m.get("readOnly")]
    read_only_root = (container.get("securityContext") or {}).get("readOnlyRootFilesystem") is True
    gfx = {g.gfx for g in pinned_gpus(pod_spec)}
    key = compile_cache_key(str(container.get("image") or ""))
    out = []
    for name in sorted(caches):
        path = env.get(name)
        where = f"{env_path}[{name}]"
        if path is None:
            if claims:
                out.append((WARNING, env_path,
                            f"{name} is not set: {engine} compiles into its default under HOME, lost with "
                            f"the pod, so every start recompiles; point it at the cache claim (mounted at "
                            f"{claims[0].get('mountPath')}) as `aimgen render` does"))
            continue
        mount = _mount_of(container, path)
        if (mount is None and read_only_root) or (mount is not None and mount.get("readOnly")):
            what = f"volume {mount.get('name')} is mounted read-only" if mount else "the root filesystem is read-only"
            out.append((ERROR, where, f"{name}={path}, but {what}: {engine}'s first compile would fail to write; "
                        "point it at a writable folder of the cache claim"))
        elif claims and (mount is None or mount not in claims):
            out.append((WARNING, where, f"{name}={path} is off the cache claim (mounted at "
                        f"{claims[0].get('mountPath')}): the compiled kernels are lost with the pod and every start "
                        "recompiles"))
        elif mount in claims and (key not in path or (len(gfx) == 1 and f"/{next(iter(gfx))}/" not in f"{path}/")):
            out.append((WARNING, where, f"{name}={path} is not keyed by the image ({key}) and GPU architecture "
                        f"({', '.join(sorted(gfx)) or 'unpinned'}): another build or GPU would load kernels "
                        "compiled for this one; use <cache>/compile/<image key>/<gfx>/ as `aimgen render` does"))
    return out


def required_shm(gpus: int) -> str:
    from aimgen.compose import shm_size

    return shm_size(gpus)


def check_shm(s: Served) -> list[Finding]:
    gpus = s.gpus_per_pod
    mount = next((m for m in s.container.get("volumeMounts") or () if m.get("mountPath") == SHM_MOUNT_PATH), None)
    volume = next((v for v in s.pod["spec"].get("volumes") or () if mount and v.get("name") == mount.get("name")), {})
    empty = volume.get("emptyDir") if isinstance(volume.get("emptyDir"), dict) else None
    want = required_shm(max(1, gpus))
    if empty is None or empty.get("medium") != "Memory":
        level = ERROR if gpus > 1 else WARNING
        return [s.finding(level, SHM, "spec.predictor.volumes",
                          f"{SHM_MOUNT_PATH} is not a memory-backed emptyDir: the container runtime's 64 MiB default "
                          f"is too small for RCCL between {gpus} GPUs; mount an emptyDir with medium: Memory and "
                          f"sizeLimit: {want} at {SHM_MOUNT_PATH}")]
    out = []
    size = quantity(empty.get("sizeLimit"))
    if size is None or size < quantity(want):
        out.append(s.finding(ERROR, SHM, "spec.predictor.volumes",
                             f"{SHM_MOUNT_PATH} sizeLimit {empty.get('sizeLimit', '(none)')} is below {want}, what "
                             f"{gpus} GPU(s) need; set sizeLimit: {want}"))
    memory = ((s.container.get("resources") or {}).get("limits") or {}).get("memory")
    limit = quantity(memory)
    if size is not None and limit is not None and limit <= size:  # no limit: nothing to be killed by
        out.append(s.finding(ERROR, SHM, "spec.predictor.model.resources.limits.memory",
                             f"memory limit {memory} does not cover {SHM_MOUNT_PATH} ({empty.get('sizeLimit')}): tmpfs pages count against "
                             "it, so the engine would be OOM-killed as RCCL fills it; raise the memory limit"))
    return out


def pinned_gpus(pod_spec: dict) -> list:
    """Catalog GPUs the pod can land on, from its node affinity and selector (device id, product, family)."""
    from aimgen.catalog.gpus import load_gpus

    terms = []
    for key, value in (pod_spec.get("nodeSelector") or {}).items():
        terms.append((key, {str(value)}))
    required = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    for term in required.get("nodeSelectorTerms") or ():
        for expr in term.get("matchExpressions") or ():
            if expr.get("operator") == "In":
                terms.append((expr.get("key"), {str(v) for v in expr.get("values") or ()}))
    gpus = list(load_gpus().values())
    for key, values in terms:
        if key == LABEL_GPU_DEVICE_ID:
            gpus = [g for g in gpus if values & set(g.device_ids)]
        elif key == LABEL_GPU_PRODUCT:
            gpus = [g for g in gpus if values & set(g.product_names)]
        elif key == LABEL_GPU_FAMILY:
            gpus = [g for g in gpus if g.family in values]
    return gpus if len(gpus) < len(load_gpus()) else []


def served_model(cmd) -> tuple[Any, str | None]:
    """(catalog model, precision) of what the engine loads; (None, None) for a model outside the catalog."""
    from aimgen.catalog.models import load_models

    checkpoint = cmd.model
    for model in load_models().values():
        by_checkpoint = [p for p, repo in model.checkpoints.items() if repo == checkpoint]
        if checkpoint != model.id and not by_checkpoint:
            continue
        quant = str(cmd.get("--quantization") or "")
        if "mxfp4" in quant:
            return model, "mxfp4"
        if "fp8" in quant:
            return model, "fp8"
        return model, by_checkpoint[0] if by_checkpoint and checkpoint != model.id else model.native_precision
    return None, None


def check_precision(s: Served) -> list[Finding]:
    from aimgen.catalog.compat import runnable

    gpus = pinned_gpus(s.pod["spec"])
    model, precision = served_model(s.cmd)
    if not gpus:
        return []
    out = []
    if model is not None:
        wrong = [g for g in gpus if not runnable(g, precision, model)]
        if wrong:
            ok = sorted({g.gfx for g in _all_gpus() if runnable(g, precision, model)})
            out.append(s.finding(ERROR, PRECISION, "spec.predictor.affinity",
                                 f"{s.cmd.model} serves {precision}, which {', '.join(g.product for g in wrong)} "
                                 f"({', '.join(sorted({g.gfx for g in wrong}))}) cannot run; pin the pod to "
                                 f"{', '.join(ok) or 'another GPU'} or serve bf16"))
    kv = str(s.cmd.get("--kv-cache-dtype") or "auto")
    if kv.startswith("fp8"):
        wrong = [g for g in gpus if not g.supports_fp8]
        if wrong:
            out.append(s.finding(ERROR, PRECISION, MODEL_ARGS,
                                 f"--kv-cache-dtype={kv} needs FP8 (gfx942/gfx950), which "
                                 f"{', '.join(g.product for g in wrong)} lacks; use --kv-cache-dtype=auto"))
    return out


def _all_gpus() -> list:
    from aimgen.catalog.gpus import load_gpus

    return list(load_gpus().values())


def check_context(s: Served) -> list[Finding]:
    from aimgen.catalog.compat import runnable
    from aimgen.errors import AimgenError
    from aimgen.planning.fit import fit_check

    model, precision = served_model(s.cmd)
    gpus = pinned_gpus(s.pod["spec"])
    if model is None:
        return []
    cmd = s.cmd
    flag = "--max-model-len" if cmd.snapshot.option("--max-model-len") else "--context-length"
    asked = cmd.get(flag)
    asked = asked if isinstance(asked, int) and asked > 0 else None
    limit = model.config.get("max_position_embeddings")
    if asked and limit and asked > limit:
        return [s.finding(ERROR, CONTEXT, MODEL_ARGS,
                          f"{flag}={asked} exceeds what {model.id} supports ({limit:,} tokens, max_position_embeddings); "
                          f"use at most {limit}")]
    if len({g.name for g in gpus}) != 1 or precision is None or not runnable(gpus[0], precision, model):
        return []  # the fit depends on the GPU: only a pod pinned to one GPU type that runs it (SERVE008)
    given = lambda *flags: next((cmd.get(f) for f in flags if cmd.dest(f) in cmd.given), None)  # noqa: E731
    tp, pp, dp = cmd.world_size
    kv = given("--kv-cache-dtype")
    try:
        # DP ranks share the routed experts (vLLM shards MoE layers over TP x DP), each with its own KV cache.
        fit = fit_check(model, gpus[0], precision, tp, pp, max_model_len=asked or limit,
                        max_num_seqs=given("--max-num-seqs", "--max-running-requests"),
                        gpu_memory_utilization=given("--gpu-memory-utilization", "--mem-fraction-static"),
                        kv_cache_dtype=kv if kv not in (None, "auto") else None, dp=dp)
    except AimgenError as exc:
        return [s.finding(ERROR, CONTEXT, MODEL_ARGS, f"the planner cannot size this shape: {exc.message}")]
    if fit.fits:
        return []
    return [s.finding(ERROR, CONTEXT, MODEL_ARGS,
                      f"{model.id} ({precision}) at {flag}={asked or limit} does not fit TP{tp} x PP{pp}"
                      f"{f' x DP{dp}' if dp > 1 else ''} "
                      f"{gpus[0].product}: {fit.reason}; lower {flag} or give it more GPUs (aimgen explain shows the "
                      "arithmetic)")]


def check_names(s: Served) -> list[Finding]:
    out = []
    names = s.cmd.served_names
    advertised = ((s.isvc.get("metadata") or {}).get("annotations") or {}).get(ANN_MODEL)
    if advertised and advertised not in names:
        out.append(s.finding(ERROR, NAME, MODEL_ARGS,
                             f"{s.engine} serves {', '.join(names) or '(no name)'}, but the release advertises "
                             f"{advertised} ({ANN_MODEL}: what `aimgen smoke --model`, NOTES and clients send); "
                             f"set {s.cmd.runtime.flag('served_model_name')}={advertised}"))
    exported = s.cmd.snapshot.metric_series
    scaling = ((s.isvc.get("spec") or {}).get("predictor") or {}).get("autoScaling") or {}
    for i, metric in enumerate(scaling.get("metrics") or ()):
        query = (((metric.get("external") or {}).get("metric") or {}).get("query")) or ""
        for name in sorted(set(_METRIC.findall(query))):
            if exported and name not in exported:
                out.append(s.finding(ERROR, NAME, f"spec.predictor.autoScaling.metrics[{i}]",
                                     f"scales on {name}, which {s.engine} does not export: the scaler would see no "
                                     "data; scale on a metric of this engine"))
    return out


CHECKS = (check_host, check_ports, check_world_size, check_cache, check_shm, check_precision, check_context,
          check_names, check_compile_caches)

