"""`aimgen wait` and `aimgen smoke` against a local OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import pytest

from aimgen.cli.main import run
from aimgen.launch.endpoint import smoke, wait
from fakeopenai import FakeOpenAI


def test_wait_ready_immediately(capsys):
    with FakeOpenAI() as server:
        assert run(["wait", server.url, "--timeout", "5"]) == 0
    assert "ready" in capsys.readouterr().err


@pytest.mark.parametrize("mode", ["slow_start", "loading"])
def test_wait_backs_off_until_ready(mode):
    sleeps = []
    with FakeOpenAI(mode, ready_after=3) as server:
        outcome = wait(server.url, 30, initial_delay=0.01, sleep=sleeps.append)
    assert outcome.ok, outcome.message
    assert sleeps == [0.01, 0.02, 0.04]  # doubling between attempts


def test_wait_times_out_with_exit_4(capsys):
    with FakeOpenAI("slow_start", ready_after=10**6) as server:
        assert run(["wait", server.url, "--timeout", "0.3"]) == 4
    assert "not ready after 0.3s" in capsys.readouterr().err


def test_wait_unreachable_is_exit_4(capsys):
    with FakeOpenAI() as server:
        url = server.url  # the port is free again once the server is gone
    assert run(["wait", url, "--timeout", "0.2"]) == 4
    assert "unreachable" in capsys.readouterr().err


def test_smoke_passes(capsys):
    with FakeOpenAI() as server:
        assert run(["smoke", server.url, "--model", "Qwen/Qwen3-8B"]) == 0
        assert ("POST", "/v1/completions") in server.requests
    assert "streamed completion" in capsys.readouterr().err


@pytest.mark.parametrize("mode,step", [
    ("error500", "POST /v1/completions: HTTP 500"),
    ("bad_stream", "(stream): stream event is not JSON"),
    ("no_done", "without data: [DONE]"),
    ("not_sse", "not text/event-stream"),
])
def test_smoke_names_the_failing_step(mode, step, capsys):
    with FakeOpenAI(mode) as server:
        assert run(["smoke", server.url]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and step in err[0]


def test_smoke_wrong_model():
    with FakeOpenAI() as server:
        outcome = smoke(server.url, model="meta-llama/Llama-3.1-8B-Instruct")
    assert not outcome.ok and "not served (serving Qwen/Qwen3-8B)" in outcome.message
