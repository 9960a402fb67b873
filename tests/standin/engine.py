"""A stand-in for vLLM / SGLang, started exactly as the serving container starts the engine (PYTEST_DONT_REWRITE).

`tests/standin/bin/vllm` and `tests/standin/python/sglang/launch_server.py` put it where the container's command
(`vllm serve ...`, `python3 -m sglang.launch_server ...`) finds the engine. It does what the engine does before it
serves, from the container's own args and env:
- parses the args with the engine's real parser when that engine is importable (e.g. run from one of the venvs
  `make test-engines` builds), otherwise with the engine snapshot's option table, which `make test-engines` proves
  equal to the real parser's; it exits 2 on a bad argument, as argparse does;
- refuses a world size (TP x PP x DP) larger than the GPUs the pod was given (STANDIN_GPUS, what the device
  plugin would expose);
- resolves the model with the real huggingface_hub from the container's env (HF_HOME, HF_HUB_CACHE,
  HF_HUB_OFFLINE, --download-dir, --revision), as the engine's weight loader does;
- binds the host and port its args say. The test stands in for the pod: STANDIN_POD_IP is the pod's IP (a loopback
  address other than 127.0.0.1), so "all interfaces" binds there while 127.0.0.1 stays unreachable from it, as in a
  pod; STANDIN_EPHEMERAL_PORT=1 binds port 0 instead and reports the port the engine would have used.
Then it writes STANDIN_READY_FILE (JSON) and serves /health, /v1/models, /v1/completions (also streamed) and
/metrics with the engine's metric names, until SIGTERM.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the answers fakeopenai shapes
from fakeopenai import send  # noqa: E402


class Refused(Exception):
    """The engine would exit before serving: the message it prints, the exit code."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def _die(message: str, code: int = 1) -> None:
    raise Refused(message, code)


def hub_settings(env: dict) -> tuple[str, bool, str]:
    """(HF_HUB_CACHE, HF_HUB_OFFLINE, HF_ENDPOINT) as huggingface_hub computes them at import from `env`: its own
    constants module, run with that environment (for an engine booted in this process, not started with it)."""
    import runpy

    import huggingface_hub.constants as constants

    with _ENV_LOCK:
        saved = dict(os.environ)
        try:
            os.environ.clear()
            os.environ.update(env)
            ns = runpy.run_path(constants.__file__)
        finally:
            os.environ.clear()
            os.environ.update(saved)
    return ns["HF_HUB_CACHE"], ns["HF_HUB_OFFLINE"], ns["ENDPOINT"]


_ENV_LOCK = threading.Lock()


def _real_parser(snapshot_file: Path):
    """The engine's own parser when the engine is installed, else None (the snapshot's table is used)."""
    recorded = json.loads(snapshot_file.read_text()).get("parser", "")
    module_name, _, attr = recorded.rpartition(".")
    top = module_name.split(".")[0]
    try:
        if importlib.util.find_spec(top) is None or importlib.util.find_spec(module_name.rpartition(".")[0]) is None:
            return None
    except (ImportError, ValueError):
        return None
    if recorded.endswith("ServerArgs.add_cli_args"):  # SGLang: a classmethod filling a plain ArgumentParser
        from sglang.srt.server_args import ServerArgs  # type: ignore

        parser = argparse.ArgumentParser()
        ServerArgs.add_cli_args(parser)
        return parser
    from vllm.utils.argparse_utils import FlexibleArgumentParser  # type: ignore

    return getattr(importlib.import_module(module_name), attr)(FlexibleArgumentParser())


def _command(command: tuple[str, ...], words: list[str], image: str | None):
    from aimgen.runtimes.cmdline import EngineCommand, parse_command, runtime_for_command, snapshot_of_version

    runtime = runtime_for_command(command, image)  # the image picks among runtimes sharing a command
    if runtime is None:
        _die(f"no runtime starts with {' '.join(command)}")
    version = os.environ.get("STANDIN_ENGINE_VERSION") or runtime.engine_version
    path = runtime.snapshots().get(version)
    snapshot = snapshot_of_version(runtime, version)
    if snapshot is None:
        _die(f"this image carries {runtime.engine} {version}, which has no snapshot")
    parsed = parse_command(runtime, snapshot, words)
    real = _real_parser(path)
    if real is not None:
        try:
            namespace = real.parse_args(words)  # prints the engine's own message on a bad argument
        except SystemExit as exc:
            _die("the engine's parser refused the args (its message is above)", int(exc.code or 2))
        values = vars(namespace)
        return EngineCommand(runtime, snapshot, values, parsed.given, parsed.positionals)
    if parsed.problems:
        _die(f"error: {'; '.join(parsed.problems)}", 2)
    return parsed


def _resolve_model(cmd, env: dict | None) -> str:
    """The weight loader's call: snapshot_download of the model at the revision, honouring HF_HUB_OFFLINE. With
    `env`, huggingface_hub's settings are computed from it (an engine booted in this process)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    model = cmd.model
    if model and model.startswith("/"):
        if not Path(model, "config.json").is_file():
            _die(f"no config.json under {model}")
        return model
    settings: dict = {}
    if env is not None:
        cache, offline, endpoint = hub_settings(env)
        settings = {"cache_dir": cache, "local_files_only": offline, "endpoint": endpoint}
    if cmd.get("--download-dir"):
        settings["cache_dir"] = cmd.get("--download-dir")
    try:
        path = snapshot_download(model, revision=cmd.role("revision"), **settings)
    except LocalEntryNotFoundError as exc:
        _die(f"cannot find {model} (revision {cmd.role('revision') or 'main'}) offline: {exc}")
    except Exception as exc:  # the Hub unreachable, the repo missing: the engine dies here too
        _die(f"cannot load {model}: {type(exc).__name__}: {exc}")
    if not Path(path, "config.json").is_file():
        _die(f"{model} at {path} has no config.json")
    return path


def _metrics_text(cmd, names: tuple[str, ...]) -> str:
    lines = []
    for series in sorted(cmd.snapshot.metric_series):
        lines.append(f'{series}{{model_name="{names[0]}",engine="{cmd.runtime.engine}"}} 0')
    return "\n".join(lines) + "\n"


def _handler(cmd, names: tuple[str, ...], model_path: str):
    switch = cmd.snapshot.option("--enable-metrics")
    metrics_on = switch is None or bool(cmd.values.get(switch.dest))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _send(self, code: int, body, ctype: str = "application/json") -> None:
            send(self, code, body, ctype)

        def do_GET(self):
            if self.path == cmd.runtime.health_path:
                return self._send(200, b"", "text/plain")
            if self.path == "/v1/models":
                return self._send(200, {"object": "list", "data": [
                    {"id": n, "object": "model", "created": 0, "owned_by": cmd.runtime.engine, "root": model_path}
                    for n in names]})
            if self.path == cmd.runtime.metrics_path and metrics_on:
                return self._send(200, _metrics_text(cmd, names).encode(), "text/plain; version=0.0.4")
            return self._send(404, {"detail": "Not Found"})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.path != "/v1/completions":
                return self._send(404, {"detail": "Not Found"})
            if body.get("model") not in names:
                return self._send(404, {"error": {"message": f"The model `{body.get('model')}` does not exist.",
                                                  "type": "NotFoundError", "code": 404}})
            chunk = {"id": "cmpl-standin", "object": "text_completion", "created": 0, "model": body["model"],
                     "choices": [{"index": 0, "text": " ok", "logprobs": None, "finish_reason": "length"}]}
            if not body.get("stream"):
                return self._send(200, {**chunk, "usage": {"prompt_tokens": 1, "completion_tokens": 1,
                                                           "total_tokens": 2}})
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode())
            self.wfile.flush()
            self.close_connection = True

    return Handler


def boot(command: tuple[str, ...], words: list[str], gpus: int, env: dict | None = None, image: str | None = None):
    """Everything the engine does before it binds: parse, check the world size, load the model. Raises Refused.
    Returns (the parsed command, the model's local path). `image` is the container's (which engine version)."""
    cmd = _command(command, words, image)
    tp, pp, dp = cmd.world_size
    if cmd.local_world_size > gpus:  # a multi-node group's pod runs only its share of the ranks
        _die(f"world size TP{tp} x PP{pp} x DP{dp} needs {cmd.local_world_size} GPU(s) on this node but only "
             f"{gpus} are visible")
    return cmd, _resolve_model(cmd, env)


def main(command: tuple[str, ...], words: list[str]) -> None:
    try:
        _serve(command, words)
    except Refused as exc:
        sys.stderr.write(f"standin: {exc}\n")
        sys.exit(exc.code)


def _serve(command: tuple[str, ...], words: list[str]) -> None:
    from aimgen.runtimes.cmdline import listens_everywhere

    cmd, model_path = boot(command, words, int(os.environ.get("STANDIN_GPUS", "0")),
                           image=os.environ.get("STANDIN_IMAGE"))
    tp, pp, dp = cmd.world_size
    names = cmd.served_names
    host, port = cmd.host, cmd.port
    address = os.environ.get("STANDIN_POD_IP", "127.0.0.1") if listens_everywhere(host) else str(host)
    bind_port = 0 if os.environ.get("STANDIN_EPHEMERAL_PORT") == "1" else int(port)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True

    try:
        server = Server((address, bind_port), _handler(cmd, names, model_path))
    except OSError as exc:
        _die(f"cannot bind {address}:{bind_port}: {exc.strerror}")
    ready = {"host": host, "port": port, "bound": [address, server.server_address[1]], "model_path": model_path,
             "served": list(names), "world": [tp, pp, dp]}
    ready_file = os.environ.get("STANDIN_READY_FILE")
    if ready_file:
        tmp = f"{ready_file}.tmp"
        Path(tmp).write_text(json.dumps(ready))
        os.replace(tmp, ready_file)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    server.serve_forever(poll_interval=0.05)
    server.server_close()

