"""The `aimgen` console: mounts one module per command and owns the single top-level error handler."""

from __future__ import annotations

import sys

import typer

from aimgen import __version__
from aimgen.console import console
from aimgen.errors import EXIT_ENVIRONMENT, EXIT_INVALID, EXIT_USAGE, AimgenError



def command_group(**settings) -> typer.Typer:
    """A Typer app for aimgen or one of its command groups. Help is plain text, never Rich markup: our help
    strings spell usage as CLI docs do (NAME[/NAMESPACE], [FILE|DIR|-]), which Rich would read as tags and
    either drop or fail on ("closing tag '[/NAMESPACE]' doesn't match any open tag")."""
    return typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                       rich_markup_mode=None, **settings)


app = command_group(
    name="aimgen",
    help="Compile LLM serving recipes into validated KServe manifests and Helm values for AMD Instinct GPUs.",
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


def _mount(argv: list[str] | None) -> None:
    # Each command module registers itself on `app`; heavy libraries load inside the commands themselves.
    from aimgen.cli.commands import mount

    mount(argv)


def _click_exceptions() -> tuple[type, type, type, type]:
    """(Exit, Abort, UsageError, ClickException) of whichever click this Typer runs on: Typer ≥ 0.29 vendors its
    own copy (typer._click), older Typers use click itself."""
    try:
        from typer._click import exceptions as ce

        return typer.Exit, typer.Abort, ce.UsageError, ce.ClickException
    except ImportError:
        import click

        return click.exceptions.Exit, click.exceptions.Abort, click.UsageError, click.ClickException


def run(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    _mount(argv)
    exit_exc, abort_exc, usage_exc, click_exc = _click_exceptions()
    try:
        rc = app(args=argv, standalone_mode=False, prog_name="aimgen")
        return rc if isinstance(rc, int) else 0
    except AimgenError as exc:
        # JSON readers get the location as fields too; the text line already names it.
        fields = {"exit_code": exc.exit_code, "file": exc.file, "field": exc.path} if console.format() == "json" else {}
        console.error(exc.line(), event="failed", **{k: v for k, v in fields.items() if v is not None})
        return exc.exit_code
    except exit_exc as exc:
        return int(getattr(exc, "exit_code", 0) or 0)
    except abort_exc:
        console.error("aborted", event="aborted")
        return 130
    except usage_exc as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            sys.stderr.write(exc.format_message().rstrip() + "\n")  # the help is the message (click's show())
            return EXIT_USAGE
        ctx = getattr(exc, "ctx", None)
        where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        console.error(f"{message}{where}", event="usage")
        return EXIT_USAGE
    except click_exc as exc:
        console.error(exc.format_message(), event="failed")
        return getattr(exc, "exit_code", EXIT_INVALID)
    except KeyboardInterrupt:
        console.error("interrupted", event="interrupted")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the one place an unexpected error becomes one line
        # Nothing the user sent is wrong as far as aimgen can tell: not "invalid input" (1) but the environment's
        # code (4), the README's contract for a failure of aimgen itself.
        console.error(f"internal error: {type(exc).__name__}: {exc} (please report this)", event="internal_error")
        return EXIT_ENVIRONMENT


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
