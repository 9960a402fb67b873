"""`aimgen recipes import|check`: bring seed recipes in, and check every recipe file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from aimgen.cli.main import app, command_group
from aimgen.console import console

recipes_app = command_group(help="Import seed recipes and check recipe files.")
app.add_typer(recipes_app, name="recipes")

HEADER = "# Imported by `aimgen recipes import` from {source}. Review the args, then cite real sources (docs/recipes.md).\n"


def _report(findings) -> None:
    for f in findings:
        where = f"{f.file}: {f.path}" if f.path else f.file
        (console.error if f.level == "error" else console.warning)(f"{where}: {f.message}", event="finding", code=f.code)


@recipes_app.command("import")
def import_cmd(
    file: Annotated[str, typer.Argument(help="Seed recipe YAML (recipe_id, huggingface_id, precision, hardware, vllm_serve); - for stdin.")],
    out: Annotated[Optional[str], typer.Option("-o", "--output", help="Write the recipe here (atomically); - or omitted: stdout.")] = None,
    gpu: Annotated[Optional[str], typer.Option("--gpu", help="GPU type to use instead of the seed's hardware field, e.g. mi300x.")] = None,
) -> None:
    """Convert one seed recipe into a recipe file (one model per file)."""
    from aimgen.catalog.gpus import load_gpus
    from aimgen.catalog.models import load_models
    from aimgen.errors import InvalidInput
    from aimgen.loading import InvalidDocument, read_text
    from aimgen.output import write_artifact
    from aimgen.recipes.seed_import import convert_seed
    from aimgen.schema_check import check
    from aimgen.yamlio import dump, load_with_lines

    source = "<stdin>" if file == "-" else file
    text = sys.stdin.read() if file == "-" else read_text(Path(file), "seed recipe")
    data, _ = load_with_lines(text, source)
    try:
        result = convert_seed(data, gpus=load_gpus(), models=load_models(), source=source, gpu=gpu)
    except InvalidDocument as exc:
        if len(exc.findings) == 1:
            raise  # one problem: the top-level handler prints it as the one line
        _report(exc.findings)
        # Raised, not typer.Exit(1): the top-level handler turns it into the summary line and exit code 1.
        raise InvalidInput(f"not imported: {len(exc.findings)} error(s) above", file=source) from None
    problems = check(result.recipe, "recipe", "<imported recipe>")
    if problems:  # our bug, not the user's: say so rather than emit an invalid file
        raise InvalidDocument(problems)
    _report(result.findings)
    write_artifact(HEADER.format(source=Path(source).name) + dump(result.recipe), out)
    if out not in (None, "-"):
        console.info(f"wrote {len(result.recipe['profiles'])} profile(s) for {result.recipe['model']} to {out}", event="imported")


@recipes_app.command("check")
def check_cmd(
    files: Annotated[Optional[List[Path]], typer.Argument(help="Recipe files; default: every file in recipes/models/.", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Findings as a JSON array on stdout.")] = False,
) -> None:
    """Check recipe files: schema, catalog cross-references, removed engine flags, quick-reduce, citations."""
    from aimgen.recipes.lint import check_recipes

    findings, profiles = check_recipes(files or None)
    if as_json:
        typer.echo(json.dumps([f.as_dict() for f in findings], indent=2))
    else:
        for f in findings:
            typer.echo(f.line())
    errors = sum(f.level == "error" for f in findings)
    summary = f"{profiles} profile(s) checked, {errors} error(s), {len(findings) - errors} warning(s)"
    if errors:
        from aimgen.errors import InvalidInput

        raise InvalidInput(summary)
    console.info(summary, event="checked")
