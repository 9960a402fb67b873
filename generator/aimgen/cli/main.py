"""The `aimgen` console: mounts one module per command and owns the single top-level error handler."""

from __future__ import annotations

import sys

import click
import typer

from aimgen import __version__
from aimgen.console import console
from aimgen.errors import EXIT_INVALID, EXIT_USAGE, AimgenError

app = typer.Typer(
    name="aimgen",
    help="Compile LLM serving recipes into validated KServe manifests and Helm values for AMD Instinct GPUs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"aimgen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """aimgen: recipes in, validated manifests out."""


def _mount() -> None:
    # Each command module registers itself on `app`; imports stay light (heavy libraries load inside commands).
    from aimgen.cli import commands  # noqa: F401


def run(argv: list[str] | None = None) -> int:
    _mount()
    try:
        rc = app(args=argv, standalone_mode=False, prog_name="aimgen")
        return rc if isinstance(rc, int) else 0
    except AimgenError as exc:
        console.error(exc.line(), event="failed")
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        console.error("aborted", event="aborted")
        return 130
    except click.UsageError as exc:
        hint = f" (see 'aimgen {exc.ctx.command_path.split(' ', 1)[1] if exc.ctx and ' ' in exc.ctx.command_path else ''} --help')"
        console.error(f"{exc.format_message()}{hint}", event="usage")
        return EXIT_USAGE
    except click.ClickException as exc:
        console.error(exc.format_message(), event="failed")
        return exc.exit_code
    except KeyboardInterrupt:
        console.error("interrupted", event="interrupted")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the one place an unexpected error becomes one line
        console.error(f"internal error: {type(exc).__name__}: {exc} (please report this)", event="internal_error")
        return EXIT_INVALID


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
