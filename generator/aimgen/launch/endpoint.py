"""Endpoint manager: wait for an OpenAI-compatible server to be ready, and smoke-test it. Stdlib urllib only.

  wait(url, timeout)  GET /health until 200, then GET /v1/models until it lists a model; exponential backoff
  smoke(url, model)   GET /v1/models; POST /v1/completions (max_tokens 1); the same streamed (SSE)
Both return a result instead of raising for endpoint failures; the CLI maps them to exit codes.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable

from aimgen.secrets import redact_url

REQUEST_TIMEOUT_S = 10.0
USER_AGENT = "aimgen-endpoint"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str  # one line: what passed, or what failed and how


class _HttpFailure(Exception):
    pass


def _request(url: str, *, body: dict | None = None, timeout: float = REQUEST_TIMEOUT_S):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET",
                                 headers={"User-Agent": USER_AGENT, "Content-Type": "application/json",
                                          "Accept": "application/json, text/event-stream"})
    try:
        return urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 - the URL is the operator's endpoint
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode("utf-8", "replace").strip().replace("\n", " ")
        raise _HttpFailure(f"HTTP {exc.code} from {redact_url(url)}" + (f": {detail}" if detail else "")) from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _HttpFailure(f"{redact_url(url)} unreachable: {reason}") from None


def _get_json(url: str, timeout: float = REQUEST_TIMEOUT_S) -> Any:
    with _request(url, timeout=timeout) as resp:
        raw = resp.read()
    try:
        return json.loads(raw)
    except ValueError:
        raise _HttpFailure(f"{redact_url(url)} did not return JSON: {raw[:80]!r}") from None


def _models(base: str, timeout: float = REQUEST_TIMEOUT_S) -> list[str]:
    doc = _get_json(f"{base}/v1/models", timeout)
    data = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(data, list):
        raise _HttpFailure(f"{redact_url(base)}/v1/models has no 'data' list")
    return [str(m.get("id")) for m in data if isinstance(m, dict) and m.get("id")]


def wait(url: str, timeout: float = 600.0, *, health_path: str = "/health", initial_delay: float = 0.5,
         max_delay: float = 15.0, clock: Callable[[], float] = time.monotonic,
         sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """Ready = health answers 200 and /v1/models lists at least one model (the weights are loaded)."""
    base = url.rstrip("/")
    deadline = clock() + timeout
    delay, attempts, last = initial_delay, 0, "no attempt made"
    while True:
        attempts += 1
        try:
            with _request(f"{base}{health_path}", timeout=min(REQUEST_TIMEOUT_S, max(deadline - clock(), 0.1))):
                pass
            models = _models(base, timeout=min(REQUEST_TIMEOUT_S, max(deadline - clock(), 0.1)))
            if models:
                return Outcome(True, f"ready after {attempts} attempt(s): serving {', '.join(models)}")
            last = f"{redact_url(base)}/v1/models lists no model yet"
        except _HttpFailure as exc:
            last = str(exc)
        remaining = deadline - clock()
        if remaining <= 0:
            return Outcome(False, f"not ready after {timeout:g}s ({attempts} attempts); last: {last}")
        sleep(min(delay, remaining))
        delay = min(delay * 2, max_delay)


def _stream(url: str, body: dict) -> tuple[int, bool]:
    """POST a streamed completion; returns (data events carrying choices, saw [DONE])."""
    events, done = 0, False
    with _request(url, body=body, timeout=REQUEST_TIMEOUT_S * 3) as resp:
        ctype = resp.headers.get("Content-Type", "")
        if "text/event-stream" not in ctype:
            raise _HttpFailure(f"stream answered with Content-Type {ctype or 'none'}, not text/event-stream")
        for raw in resp:
            line = raw.decode("utf-8", "replace").strip()
            if not line or line.startswith(":"):
                continue
            if not line.startswith("data:"):
                raise _HttpFailure(f"stream line is not an SSE data line: {line[:60]!r}")
            payload = line[5:].strip()
            if payload == "[DONE]":
                done = True
                break
            try:
                chunk = json.loads(payload)
            except ValueError:
                raise _HttpFailure(f"stream event is not JSON: {payload[:60]!r}") from None
            if isinstance(chunk, dict) and chunk.get("error"):
                raise _HttpFailure(f"stream reported an error: {chunk['error']}")
            if isinstance(chunk, dict) and isinstance(chunk.get("choices"), list):
                events += 1
    return events, done


def smoke(url: str, model: str | None = None, prompt: str = "Hello") -> Outcome:
    base = url.rstrip("/")
    step = "GET /v1/models"
    try:
        models = _models(base)
        if not models:
            return Outcome(False, f"{step}: the server lists no model")
        if model and model not in models:
            return Outcome(False, f"{step}: {model} is not served (serving {', '.join(models)})")
        name = model or models[0]
        step = "POST /v1/completions"
        with _request(f"{base}/v1/completions",
                      body={"model": name, "prompt": prompt, "max_tokens": 1, "temperature": 0}) as resp:
            try:
                doc = json.loads(resp.read())
            except ValueError:
                return Outcome(False, f"{step}: the answer is not JSON")
        choices = doc.get("choices") if isinstance(doc, dict) else None
        if not isinstance(choices, list) or not choices or "text" not in choices[0]:
            return Outcome(False, f"{step}: the answer has no choices[0].text")
        step = "POST /v1/completions (stream)"
        events, done = _stream(f"{base}/v1/completions",
                               {"model": name, "prompt": prompt, "max_tokens": 1, "temperature": 0, "stream": True})
        if not events:
            return Outcome(False, f"{step}: no completion chunk before the stream ended")
        if not done:
            return Outcome(False, f"{step}: the stream ended without data: [DONE]")
    except _HttpFailure as exc:
        return Outcome(False, f"{step}: {exc}")
    return Outcome(True, f"{name}: models, completion and streamed completion all answered")
