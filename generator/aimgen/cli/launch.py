"""`aimgen launch`: the runtime image's entrypoint. Detect GPUs, pick the profile, exec the engine."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from aimgen.cli.main import app


@app.command("launch")
def launch_cmd(
    model: Annotated[Optional[str], typer.Argument(help="Model id; default: $AIM_MODEL_ID.", show_default=False)] = None,
    gpus: Annotated[Optional[int], typer.Option("--gpus", help="GPUs to use; default: $AIM_GPU_COUNT, else all visible.")] = None,
    precision: Annotated[Optional[str], typer.Option("--precision", help="Default: $AIM_PRECISION, else the profile's.")] = None,
    metric: Annotated[Optional[str], typer.Option("--metric", help="latency | throughput; default: $AIM_METRIC.")] = None,
    backend: Annotated[Optional[str], typer.Option("--backend", help="vllm | sglang | atom | a custom runtime's backend.")] = None,
    profile_id: Annotated[Optional[str], typer.Option("--profile-id", help="Run this profile; default: $AIM_PROFILE_ID.")] = None,
    recipes: Annotated[Optional[Path], typer.Option("--recipes", help="Folder of recipe files; default: the bundled recipes/models.")] = None,
    port: Annotated[Optional[int], typer.Option("--port", help="Port to serve on; default: the runtime's (8080).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the exact command and the environment it adds, then exit 0.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="Dry-run output: shell | json.")] = "shell",
    no_check: Annotated[bool, typer.Option("--no-check", help="Launch even if args/env fail the engine snapshot check.")] = False,
) -> None:
    """Detect the AMD GPUs, choose the recipe profile (AIM_* environment contract), then exec the engine."""
    from aimgen.catalog.gpus import load_gpus
    from aimgen.console import console
    from aimgen.errors import InvalidInput, UsageError
    from aimgen.launch.detect import detect
    from aimgen.launch.plan import LaunchRequest, errors_of, execute, plan_launch
    from aimgen.launch.profiles import select_resolver
    from aimgen.runtimes.registry import get_runtime

    if fmt not in ("shell", "json"):
        raise UsageError(f"--format {fmt!r}: use shell or json")
    env = dict(os.environ)
    request = LaunchRequest.from_env(env, model=model, gpus=gpus, precision=precision, metric=metric, backend=backend,
                                     profile_id=profile_id, port=port)
    detection = detect(env)
    console.info(f"{detection.count} GPU(s) via {detection.source}", event="gpus_detected", **detection.as_dict())
    resolver = select_resolver(recipes)
    plan = plan_launch(request, detection, load_gpus().values(), resolver, get_runtime, base_env=env)
    for finding in plan.findings:
        (console.error if finding.level == "error" else console.warning)(finding.line(), event="engine_check")
    errors = errors_of(plan)
    if errors and not no_check:
        raise InvalidInput(f"{len(errors)} engine arg/env error(s) against {plan.runtime.engine} "
                           f"{plan.runtime.engine_version} (listed above); fix the profile or AIM_ENGINE_ARGS, "
                           "or pass --no-check")
    if dry_run:
        typer.echo(json.dumps(plan.as_dict(), indent=2) if fmt == "json" else plan.shell())
        return
    console.info("starting engine", event="launch", model=request.model, gpu=plan.gpu, runtime=plan.runtime.name,
                 argv=list(plan.argv))
    execute(plan, env)
