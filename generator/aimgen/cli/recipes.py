"""`aimgen recipes import|check`: bring seed recipes in, and check every recipe file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from aimgen.cli import options as o
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
    file: Annotated[str, typer.Argument(help="Seed recipe YAML (recipe_id, huggingface_id, precision, hardware, vllm_serve), an AMD AIM profile or a folder of them (--from aim); - for stdin.")],
    out: Annotated[Optional[str], typer.Option("-o", "--output", help="Write the recipe here (atomically); - or omitted: stdout. A folder when several models are imported.")] = None,
    gpu: Annotated[Optional[str], typer.Option("--gpu", help="GPU type to use instead of the seed's hardware field, e.g. mi300x.")] = None,
    from_: Annotated[str, typer.Option("--from", help="Input format: seed (the original project's recipes) or aim (AMD AIM profiles).")] = "seed",
) -> None:
    """Convert seed recipes or AMD AIM profiles into recipe files (one model per file)."""
    from aimgen.errors import UsageError

    if from_ not in ("seed", "aim"):
        raise UsageError(f"--from {from_!r}: choose seed or aim")
    if from_ == "aim":
        if gpu:
            raise UsageError("--gpu applies to seed recipes; AIM profiles name their GPU")
        _import_aim(file, out)
        return
    from aimgen.catalog.gpus import load_gpus
    from aimgen.catalog.models import load_models
    from aimgen.loading import read_stream, read_text
    from aimgen.recipes.seed_import import convert_seed
    from aimgen.yamlio import load_with_lines

    source = "<stdin>" if file == "-" else file
    text = read_stream(sys.stdin, source) if file == "-" else read_text(Path(file), "seed recipe")
    data, _ = load_with_lines(text, source)
    result = _converted(lambda: convert_seed(data, gpus=load_gpus(), models=load_models(), source=source, gpu=gpu), source)
    _emit([result.recipe], result.findings, out, source)


def _converted(convert, source: str):
    """Run an importer; several errors are listed one per line, then one summary line (exit 1)."""
    from aimgen.errors import InvalidInput
    from aimgen.loading import InvalidDocument

    try:
        return convert()
    except InvalidDocument as exc:
        if len(exc.findings) == 1:
            raise  # one problem: the top-level handler prints it as the one line
        _report(exc.findings)
        # Raised, not typer.Exit(1): the top-level handler turns it into the summary line and exit code 1.
        raise InvalidInput(f"not imported: {len(exc.findings)} error(s) above", file=source) from None


def _emit(recipes: list[dict], findings, out: Optional[str], source: str) -> None:
    """Check each recipe against our schema, report the importer's warnings, write file(s) atomically."""
    from aimgen.errors import UsageError
    from aimgen.loading import InvalidDocument
    from aimgen.output import write_artifact
    from aimgen.recipes.load import recipe_path, secret_findings
    from aimgen.schema_check import check
    from aimgen.yamlio import dump

    for recipe in recipes:
        # Credentials are never copied, whichever importer read them (the seed importer names the seed's field).
        leaked = secret_findings(recipe, source, {})
        if leaked:
            raise InvalidDocument(leaked)
        problems = check(recipe, "recipe", "<imported recipe>")
        if problems:  # our bug, not the user's: say so rather than emit an invalid file
            raise InvalidDocument(problems)
    _report(findings)
    header = HEADER.format(source=Path(source).name)
    if len(recipes) > 1 and (out in (None, "-") or not Path(out).is_dir()):
        raise UsageError(f"{source} holds profiles of {len(recipes)} models; pass -o DIR (an existing folder) to write one file each")
    for recipe in recipes:
        target = out if len(recipes) == 1 or out in (None, "-") else str(Path(out) / recipe_path(recipe["model"]).name)
        if len(recipes) == 1 and out not in (None, "-") and Path(out).is_dir():
            target = str(Path(out) / recipe_path(recipe["model"]).name)
        write_artifact(header + dump(recipe), target)
        if target not in (None, "-"):
            console.info(f"wrote {len(recipe['profiles'])} profile(s) for {recipe['model']} to {target}", event="imported")


def _import_aim(file: str, out: Optional[str]) -> None:
    from aimgen.catalog.gpus import load_gpus
    from aimgen.catalog.models import load_models
    from aimgen.errors import InvalidInput
    from aimgen.loading import read_stream, read_text
    from aimgen.recipes.aim_import import convert_aim
    from aimgen.yamlio import load_with_lines

    root = Path(file)
    if file == "-":
        docs = [("<stdin>", load_with_lines(read_stream(sys.stdin, "<stdin>"), "<stdin>")[0])]
    elif root.is_dir():
        # model profiles only: general/ holds model-independent defaults, custom/ examples for users to copy
        files = sorted(p for p in root.rglob("*.yaml") if not {"general", "custom"} & set(p.relative_to(root).parts))
        if not files:
            raise InvalidInput("no AIM profile files (*.yaml) under this folder", file=file)
        docs = [(str(p), load_with_lines(read_text(p, "AIM profile"), str(p))[0]) for p in files]
    else:
        docs = [(file, load_with_lines(read_text(root, "AIM profile"), file)[0])]
    result = _converted(lambda: convert_aim(docs, gpus=load_gpus(), models=load_models(), source=file), file)
    _emit(list(result.recipes), result.findings, out, file)


@recipes_app.command("check")
def check_cmd(
    files: Annotated[Optional[List[Path]], typer.Argument(help="Recipe files; default: every file in recipes/models/.", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Findings as a JSON array on stdout.")] = False,
    output_format: o.OutputFormat = "text",
) -> None:
    """Check recipe files: schema, catalog cross-references, removed engine flags, quick-reduce, citations."""
    as_json = o.wants_json(output_format, as_json)
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


@recipes_app.command("audit")
def audit_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Every divergence as a JSON array on stdout (explained ones too).")] = False,
    output_format: o.OutputFormat = "text",
    show_all: Annotated[bool, typer.Option("--all", help="Also list the divergences the recipes explain, with their reason.")] = False,
) -> None:
    """Compare every recipe with InferenceX's AMD matrix, vLLM's recipes and AMD AIM's profiles (../shared/upstream-configs);
    fail on a divergence no recipe explains (audit: in the recipe file)."""
    as_json = o.wants_json(output_format, as_json)
    from aimgen import paths
    from aimgen.catalog.models import load_models
    from aimgen.errors import EnvironmentProblem, InvalidInput
    from aimgen.recipes.audit import audit
    from aimgen.recipes.load import load_all_profiles, recipe_files
    from aimgen.recipes.upstream import read_yaml

    upstream = paths.shared_dir() / "upstream-configs"
    if not (upstream / "inferencex" / "configs" / "amd-master.yaml").is_file():
        raise EnvironmentProblem(f"{upstream} does not hold the public AMD configs; run `make shared` or set AIM_SHARED_DIR")
    notes = {}
    for path in recipe_files():
        doc = read_yaml(path) or {}
        notes[doc.get("model")] = list(doc.get("audit") or [])
    found = audit(load_all_profiles(), load_models(), upstream, notes)
    open_ = [d for d in found if not d.explained]
    if as_json:
        typer.echo(json.dumps([d.as_dict() for d in found], indent=2))
    else:
        for d in found if show_all else open_:
            status = f"explained: {d.why}" if d.explained else "UNEXPLAINED"
            typer.echo(f"{d.model} {d.gpu} [{d.source} {d.code}] {d.message} ({d.upstream}) - {status}")
    summary = f"{len(found)} divergence(s) from the public AMD configs, {len(open_)} unexplained"
    if open_:
        raise InvalidInput(summary + "; explain each in its recipe's audit: list (docs/recipes.md) or align the recipe")
    console.info(summary, event="audited")
