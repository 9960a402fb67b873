"""Replay a rendered pod, taken literally (PYTEST_DONT_REWRITE): the helpers of tests/test_serve_replay.py.

For an InferenceService and its runtime, the pod KServe would create (aimgen.validate.kserve_pod) is run here:
- every volume becomes a directory: a PersistentVolumeClaim one per claim (shared by every pod and Job that mounts
  it, as the cache is), anything else one per pod; a container's paths under a mount (in its env and args) are
  rewritten to that directory, with subPath. Nothing else of the container changes.
- the init containers and prefetch Jobs run their command (`aimgen cache prefetch ...`) with their env, against
  the local fake Hub (HF_ENDPOINT: the one thing added, where a cluster would reach huggingface.co);
- the serving container's command runs with its args and env, PATH and PYTHONPATH leading to the stand-in engine
  (tests/standin), which gets the pod's GPU count, a pod IP on loopback (127.0.0.2) and an ephemeral port;
- the rendered probes run (path, port, scheme) against the pod IP, then `aimgen smoke` and the metrics scrape.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from aimgen.runtimes.cmdline import image_engine_version
from aimgen.validate.kserve_pod import find_runtime, gpus_of, predictor_pod

ROOT = Path(__file__).resolve().parents[1]
STANDIN = Path(__file__).resolve().parent / "standin"
POD_IP = "127.0.0.2"  # a loopback address that is not 127.0.0.1: what the kubelet and Services dial
ENGINE_START_S = 60
FILES = {
    "config.json": json.dumps({"architectures": ["LlamaForCausalLM"], "model_type": "llama"}),
    "generation_config.json": "{}",
    "tokenizer.json": "{}",
    "tokenizer_config.json": "{}",
    "model.safetensors": b"\0" * 4096,
}


@dataclass
class Volumes:
    """Directories standing for volumes: claims shared across pods, the rest per pod."""

    root: Path
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def directory(self, pod_key: str, volume: dict) -> Path:
        if "persistentVolumeClaim" in volume:
            path = self.root / "pvc" / volume["persistentVolumeClaim"]["claimName"]
        else:
            path = self.root / "pods" / pod_key / volume["name"]
        path.mkdir(parents=True, exist_ok=True)
        for item in (volume.get("secret") or {}).get("items") or ():  # a Secret's keys, as the kubelet projects them
            (path / item["path"]).write_text(f"hf_standin_{item['key']}")
        if (volume.get("configMap") or {}).get("name", "").endswith("-aimgen"):
            # the aimgen bundle ConfigMap (render/kserve.py bundle_configmap), as the kubelet projects it
            from aimgen import podbundle

            (path / podbundle.CONFIGMAP_KEY).write_bytes(podbundle.build())
        return path


def _mount_map(pod_key: str, pod_spec: dict, container: dict, volumes: Volumes) -> list[tuple[str, Path]]:
    by_name = {v["name"]: v for v in pod_spec.get("volumes") or ()}
    out = []
    for mount in container.get("volumeMounts") or ():
        volume = by_name.get(mount["name"])
        if volume is None:
            raise AssertionError(f"{container['name']} mounts {mount['name']}, which the pod does not define")
        target = volumes.directory(pod_key, volume) / mount.get("subPath", "")
        target.mkdir(parents=True, exist_ok=True)
        out.append((mount["mountPath"].rstrip("/") or "/", target))
    return sorted(out, key=lambda m: -len(m[0]))


def _rewrite(value: str, mounts: list[tuple[str, Path]]) -> str:
    for mount_path, target in mounts:
        if value == mount_path or value.startswith(mount_path + "/"):
            return str(target) + value[len(mount_path):]
        if "=" in value:  # --flag=/path
            flag, _, rest = value.partition("=")
            if rest == mount_path or rest.startswith(mount_path + "/"):
                return f"{flag}={target}{rest[len(mount_path):]}"
    return value


def container_process(pod_key: str, pod_spec: dict, container: dict, volumes: Volumes) -> tuple[list[str], dict]:
    """(argv, env) of a container with its mounts rewritten to the directories standing for its volumes."""
    mounts = _mount_map(pod_key, pod_spec, container, volumes)
    env = {}
    for item in container.get("env") or ():
        if "value" in item:
            env[item["name"]] = _rewrite(str(item["value"]), mounts)
    argv = [*(container.get("command") or ()), *(container.get("args") or ())]
    return [_rewrite(str(a), mounts) for a in argv], env


def base_env(**extra: str) -> dict:
    """What any process here needs to start (PATH to the venv, the package), nothing of the host's HF settings."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR")}
    keep["PYTHONPATH"] = str(ROOT / "generator")
    keep["AIMGEN_LOG_FORMAT"] = "json"
    keep.update(extra)
    return keep


@dataclass
class Prefetches:
    """Runs each distinct prefetch container once: identical command, env and volume is the same run."""

    hub: object  # fakehub.FakeHub
    volumes: Volumes
    in_process: bool = False  # run `aimgen` in this process (argv as given; HF_ENDPOINT from this process's env)
    done: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def ensure_repo(self, model: str, revision: str) -> None:
        """The fake Hub holds every repo a pod asks for (at a pinned commit when the revision is one)."""
        with self._lock:
            if model not in self.hub.repos:
                self.hub.add_repo(model, FILES, commit=revision if len(revision) == 40 else None)

    def run(self, pod_key: str, pod_spec: dict, container: dict) -> None:
        argv, env = container_process(pod_key, pod_spec, container, self.volumes)
        words = [*(container.get("args") or ())]
        model = words[words.index("prefetch") + 1]
        revision = words[words.index("--revision") + 1] if "--revision" in words else "main"
        key = json.dumps([argv, sorted(env.items())])
        self.ensure_repo(model, revision)
        with self._lock:
            entry = self.done.setdefault(key, {"lock": threading.Lock(), "result": None})
        with entry["lock"]:
            if entry["result"] is None:
                entry["result"] = self._execute(argv, env)
        returncode, stderr = entry["result"]
        assert returncode == 0, f"{container['name']} failed: {stderr[-2000:]}"

    def _execute(self, argv: list[str], env: dict) -> tuple[int, str]:
        # `aimgen ...` in the aimgen image, or `python3 .../aimgen.pyz ...` (the bundle) in the engine image: the
        # engine image's Python is this venv's here; the bundle's argv is the CLI's.
        bundle = argv[0] == "python3" and argv[1].endswith("/aimgen.pyz")
        assert argv[0] == "aimgen" or bundle, argv
        words = argv[2:] if bundle else argv[1:]
        if self.in_process:
            from aimgen.cli.main import run

            with _IN_PROCESS:
                return run(words), ""
        command = [sys.executable, argv[1]] if bundle else [_executable(argv[0])]
        result = subprocess.run([*command, *words],
                                env={**base_env(), **env, "HF_ENDPOINT": self.hub.url},
                                capture_output=True, text=True, timeout=300)
        return result.returncode, result.stderr


_IN_PROCESS = threading.Lock()  # one CLI run at a time in this process


def served_model(pod: dict) -> tuple[str, str]:
    """(model, revision) the serving container's engine loads, read with the engine's option table."""
    from aimgen.runtimes.cmdline import parse_command, runtime_for_command
    from aimgen.runtimes.flags import snapshot_for

    container = pod["spec"]["containers"][0]
    runtime = runtime_for_command(container.get("command"), container.get("image"))
    cmd = parse_command(runtime, snapshot_for(runtime), container.get("args") or [])
    return cmd.model, cmd.role("revision") or "main"


def _executable(name: str) -> str:
    found = Path(sys.executable).parent / name
    return str(found) if found.exists() else name


@dataclass
class Engine:
    process: subprocess.Popen
    ready: dict | None
    stderr: str = ""

    def port_for(self, port) -> int:
        """The port a probe or client dials, as the ephemeral port the stand-in bound when it is the engine's."""
        if self.ready and port == self.ready["port"]:
            return self.ready["bound"][1]
        return closed_port()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((POD_IP, 0))
        return s.getsockname()[1]


def start_engine(pod_key: str, pod: dict, volumes: Volumes, workdir: Path, hub_url: str) -> Engine:
    spec = pod["spec"]
    container = spec["containers"][0]
    argv, env = container_process(pod_key, spec, container, volumes)
    ready_file = workdir / f"{pod_key}.ready.json"
    env = {
        **base_env(),
        **env,
        "PATH": f"{STANDIN / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": f"{STANDIN / 'python'}{os.pathsep}{ROOT / 'generator'}",
        "HF_ENDPOINT": hub_url,  # the cluster's Hub: an offline engine never asks it
        "STANDIN_GPUS": str(gpus_of(container)),
        "STANDIN_POD_IP": POD_IP,
        "STANDIN_EPHEMERAL_PORT": "1",
        "STANDIN_READY_FILE": str(ready_file),
        "STANDIN_ENGINE_VERSION": image_engine_version(container.get("image")) or "",
        "STANDIN_IMAGE": container.get("image") or "",
    }
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + ENGINE_START_S
    while time.monotonic() < deadline:
        if ready_file.exists():
            return Engine(process, json.loads(ready_file.read_text()))
        if process.poll() is not None:
            return Engine(process, None, process.stderr.read())
        time.sleep(0.02)
    process.kill()
    return Engine(process, None, "did not start in time")


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError as exc:
        return 0, str(exc).encode()


def run_probes(engine: Engine, container: dict) -> list[str]:
    """Failures of the rendered probes, run as the kubelet runs them against the pod IP."""
    import socket

    failures = []
    for name in ("startupProbe", "readinessProbe", "livenessProbe"):
        probe = container.get(name)
        if not probe:
            continue
        if "httpGet" in probe:
            get = probe["httpGet"]
            port = get["port"]
            if isinstance(port, str):
                port = next(p["containerPort"] for p in container.get("ports") or () if p.get("name") == port)
            scheme = get.get("scheme", "HTTP").lower()
            status, _ = http_get(f"{scheme}://{POD_IP}:{engine.port_for(port)}{get.get('path', '/')}")
            if not 200 <= status < 400:
                failures.append(f"{name} {get.get('path')} on {get['port']}: {status or 'no answer'}")
        elif "tcpSocket" in probe:
            try:
                socket.create_connection((POD_IP, engine.port_for(probe["tcpSocket"]["port"])), timeout=2).close()
            except OSError as exc:
                failures.append(f"{name} tcp {probe['tcpSocket']['port']}: {exc}")
    return failures


@dataclass
class Outcome:
    """What happened to one replayed InferenceService."""

    name: str
    started: bool
    engine_error: str = ""
    probe_failures: list = field(default_factory=list)
    smoke: str = ""
    smoke_ok: bool = False
    metrics_ok: bool = False
    ready: dict | None = None

    @property
    def serves(self) -> bool:
        return self.started and not self.probe_failures and self.smoke_ok and self.metrics_ok


def replay(docs: list[dict], prefetches: Prefetches, workdir: Path, tag: str) -> list[Outcome]:
    """Replay every InferenceService of `docs` (prefetch Jobs first, as `--prefetch-job` means)."""
    from aimgen.launch.endpoint import smoke

    docs = copy.deepcopy(docs)
    for doc in docs:
        if doc.get("kind") == "Job":
            template = doc["spec"]["template"]["spec"]
            for container in template["containers"]:
                prefetches.run(f"{tag}-job-{doc['metadata']['name']}", template, container)
    outcomes = []
    for doc in docs:
        if doc.get("kind") != "InferenceService":
            continue
        name = doc["metadata"]["name"]
        pod = predictor_pod(doc, find_runtime(doc, docs))
        key = f"{tag}-{name}"
        for init in pod["spec"].get("initContainers") or ():
            prefetches.run(key, pod["spec"], init)
        prefetches.ensure_repo(*served_model(pod))
        engine = start_engine(key, pod, prefetches.volumes, workdir, prefetches.hub.url)
        outcome = Outcome(name, engine.ready is not None, engine.stderr.strip(), ready=engine.ready)
        try:
            if engine.ready:
                container = pod["spec"]["containers"][0]
                outcome.probe_failures = run_probes(engine, container)
                base = f"http://{POD_IP}:{engine.port_for(engine.ready['port'])}"
                model = (doc["metadata"].get("annotations") or {}).get("aim-engine.amd.com/model")
                result = smoke(base, model)
                outcome.smoke, outcome.smoke_ok = result.message, result.ok
                annotations = pod["metadata"].get("annotations") or {}
                port = int(annotations.get("prometheus.io/port", engine.ready["port"]))
                status, body = http_get(f"http://{POD_IP}:{engine.port_for(port)}"
                                        f"{annotations.get('prometheus.io/path', '/metrics')}")
                outcome.metrics_ok = status == 200 and b"model_name=" in body
        finally:
            engine.stop()
        outcomes.append(outcome)
    return outcomes

