"""A small OpenAI-compatible server on 127.0.0.1 for endpoint tests, shaped like vLLM's answers.

Behaviours (FakeOpenAI(mode=...)):
  ok          /health 200, /v1/models lists the model, completions and SSE streams answer
  slow_start  /health 503 and /v1/models refused-like 503 for the first `ready_after` health probes
  loading     /health 200 but /v1/models lists nothing until `ready_after` probes
  error500    POST /v1/completions answers 500 with an OpenAI error body
  bad_stream  the streamed completion sends a non-JSON data line
  no_done     the stream ends without `data: [DONE]`
  not_sse     the streamed completion answers application/json
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def send(handler: BaseHTTPRequestHandler, code: int, body, ctype: str = "application/json") -> None:
    """One complete HTTP answer: JSON (or bytes as given) with its length."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    handler.send_response(code)
    handler.send_header("Content-Type", ctype)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


class FakeOpenAI:
    def __init__(self, mode: str = "ok", model: str = "Qwen/Qwen3-8B", ready_after: int = 0):
        self.mode, self.model, self.ready_after = mode, model, ready_after
        self.health_probes = 0
        self.requests: list[tuple[str, str]] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FakeOpenAI":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _send(self, code: int, body, ctype: str = "application/json") -> None:
                send(self, code, body, ctype)

            def _ready(self) -> bool:
                return fake.health_probes > fake.ready_after

            def do_GET(self):
                fake.requests.append(("GET", self.path))
                if self.path == "/health":
                    fake.health_probes += 1
                    if fake.mode == "slow_start" and not self._ready():
                        return self._send(503, {"error": "starting"})
                    return self._send(200, b"", "text/plain")
                if self.path == "/v1/models":
                    if fake.mode == "slow_start" and not self._ready():
                        return self._send(503, {"error": "starting"})
                    listed = [] if fake.mode == "loading" and not self._ready() else [
                        {"id": fake.model, "object": "model", "created": 0, "owned_by": "vllm", "max_model_len": 32768}]
                    return self._send(200, {"object": "list", "data": listed})
                return self._send(404, {"error": {"message": "Not Found", "code": 404}})

            def do_POST(self):
                fake.requests.append(("POST", self.path))
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path != "/v1/completions":
                    return self._send(404, {"error": {"message": "Not Found", "code": 404}})
                if fake.mode == "error500":
                    return self._send(500, {"error": {"message": "EngineCore died", "type": "InternalServerError",
                                                      "code": 500}})
                if body.get("model") != fake.model:
                    return self._send(404, {"error": {"message": f"The model `{body.get('model')}` does not exist.",
                                                      "type": "NotFoundError", "code": 404}})
                chunk = {"id": "cmpl-1", "object": "text_completion", "created": 0, "model": fake.model,
                         "choices": [{"index": 0, "text": " world", "logprobs": None, "finish_reason": "length"}]}
                if not body.get("stream"):
                    return self._send(200, {**chunk, "usage": {"prompt_tokens": 1, "completion_tokens": 1,
                                                               "total_tokens": 2}})
                if fake.mode == "not_sse":
                    return self._send(200, chunk)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream; charset=utf-8")
                self.send_header("Connection", "close")
                self.end_headers()
                lines = [f"data: {json.dumps(chunk)}\n\n"]
                if fake.mode == "bad_stream":
                    lines = ["data: {not json\n\n"]
                if fake.mode != "no_done":
                    lines.append("data: [DONE]\n\n")
                for line in lines:
                    self.wfile.write(line.encode())
                    self.wfile.flush()
                self.close_connection = True

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
