"""`aimgen wait` and `aimgen smoke`: readiness and a smoke test of an OpenAI-compatible endpoint (helm test)."""

from __future__ import annotations

from typing import Optional

import typer
from typing_extensions import Annotated

from aimgen.cli.main import app

Url = Annotated[str, typer.Argument(help="Base URL of the server, e.g. http://qwen3-8b-predictor:8080")]


@app.command("wait")
def wait_cmd(
    url: Url,
    timeout: Annotated[float, typer.Option("--timeout", min=0, help="Give up after this many seconds.")] = 600.0,
) -> None:
    """Wait until URL answers /health and lists a model on /v1/models (exponential backoff). Exit 4 on timeout."""
    from aimgen.console import console
    from aimgen.errors import EnvironmentProblem
    from aimgen.launch.endpoint import wait

    outcome = wait(url, timeout)
    if not outcome.ok:
        raise EnvironmentProblem(outcome.message)
    console.info(outcome.message, event="ready", url=url)


@app.command("smoke")
def smoke_cmd(
    url: Url,
    model: Annotated[Optional[str], typer.Option("--model", help="Model name to expect; default: the first listed.")] = None,
) -> None:
    """GET /v1/models, a one-token completion and a streamed one. Exit 1 with the failing step on failure."""
    from aimgen.console import console
    from aimgen.errors import InvalidInput
    from aimgen.launch.endpoint import smoke

    outcome = smoke(url, model)
    if not outcome.ok:
        raise InvalidInput(outcome.message)
    console.info(outcome.message, event="smoke_passed", url=url)
