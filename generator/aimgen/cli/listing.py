"""`aimgen list models|gpus|profiles`."""

from __future__ import annotations

import json

import typer
from typing_extensions import Annotated

from aimgen.cli import options as o
from aimgen.cli.main import app
from aimgen.errors import UsageError

KINDS = ("models", "gpus", "profiles")


def _rows(kind: str) -> list[dict]:
    if kind == "gpus":
        from aimgen.catalog.gpus import load_gpus

        return [{"name": g.name, "product": g.product, "gfx": g.gfx, "vram_gib": g.vram_gib, "fp8": g.fp8,
                 "mxfp4": g.mxfp4, "gpus_per_node": g.gpus_per_node} for g in load_gpus().values()]
    if kind == "models":
        from aimgen.catalog.models import load_models
        from aimgen.recipes.load import profiles_for

        return [{"id": m.id, "native_precision": m.native_precision, "params": m.published.get("params"),
                 "profiles": len(profiles_for(m.id)), "planner": "recipe-only" if m.recipe_only else "sizes it"}
                for m in load_models().values()]
    from aimgen.recipes.load import load_all_profiles

    return [{"id": p.id, "model": p.model, "gpu": p.gpu, "gpus": p.gpus, "precision": p.precision,
             "backend": p.backend, "metric": p.metric, "runtime": p.serving_runtime().name,
             "source": p.source.get("title", "")} for p in load_all_profiles()]


@app.command("list")
def list_cmd(
    kind: Annotated[str, typer.Argument(help="models | gpus | profiles")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON array on stdout.")] = False,
    output_format: o.OutputFormat = "text",
) -> None:
    """List catalog models, GPUs or recipe profiles."""
    as_json = o.wants_json(output_format, as_json)
    if kind not in KINDS:
        raise UsageError(f"cannot list {kind!r}; choose one of: {', '.join(KINDS)}")
    rows = _rows(kind)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        return
    cols = list(rows[0])
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    typer.echo("  ".join(c.upper().ljust(widths[c]) for c in cols).rstrip())
    for r in rows:
        typer.echo("  ".join(str(r[c]).ljust(widths[c]) for c in cols).rstrip())
