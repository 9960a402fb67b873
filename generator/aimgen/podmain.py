"""Entry point of the aimgen bundle: the zipapp (aimgen.podbundle) that pods run with the engine image's own Python.

The engine image is public and pulled by every GPU node anyway, and carries Python and huggingface_hub; with this
bundle mounted from a ConfigMap the cache init container, the prefetch Job and the `helm test` Pod need no aimgen
image. Only the commands pods run are here, with the options the renderer emits (same names as the Typer CLI, so
one argv works with both: `python3 aimgen.pyz cache prefetch ...` == `aimgen cache prefetch ...`). Standard library
only: the bundle has no Typer.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aimgen.console import console
from aimgen.errors import EXIT_INVALID, EXIT_USAGE, AimgenError, EnvironmentProblem, InvalidInput


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line and exit 2, like the CLI
        console.error(f"{self.prog}: {message}", event="usage")
        raise SystemExit(EXIT_USAGE)


def _parser() -> argparse.ArgumentParser:
    root = _Parser(prog="aimgen.pyz")
    sub = root.add_subparsers(dest="command", required=True, parser_class=_Parser)
    cache = sub.add_parser("cache").add_subparsers(dest="action", required=True, parser_class=_Parser)
    p = cache.add_parser("prefetch")
    p.add_argument("model")
    p.add_argument("--revision", default="main")
    p.add_argument("--cache-dir", type=Path, required=True)
    p.add_argument("--source", default="hf")
    p.add_argument("--local-dir", type=Path)
    p.add_argument("--allow-pattern", action="append", default=[])
    p.add_argument("--exclude-pattern", action="append", default=[])
    p.add_argument("--allow-pickle", action="store_true")
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--retries", type=int, default=5)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--lease-ttl", type=float, default=60.0)
    p.add_argument("--token-file", type=Path)
    p.add_argument("--endpoint")
    p.add_argument("--no-digest-check", action="store_true")
    w = sub.add_parser("wait")
    w.add_argument("url")
    w.add_argument("--timeout", type=float, default=600.0)
    s = sub.add_parser("smoke")
    s.add_argument("url")
    s.add_argument("--model")
    return root


def _prefetch(a: argparse.Namespace) -> None:
    from aimgen.cache.prefetch import PrefetchOptions
    from aimgen.cache.run import run_prefetch

    options = PrefetchOptions(
        model_id=a.model, cache_dir=a.cache_dir, revision=a.revision, source=a.source, local_dir=a.local_dir,
        allow_patterns=tuple(a.allow_pattern), exclude_patterns=tuple(a.exclude_pattern),
        allow_pickle=a.allow_pickle, timeout=a.timeout, retries=a.retries, workers=a.workers,
        lease_ttl=a.lease_ttl, token_file=a.token_file, endpoint=a.endpoint, check_digest=not a.no_digest_check)
    print(run_prefetch(options).snapshot)


def _wait(a: argparse.Namespace) -> None:
    from aimgen.launch.endpoint import wait

    outcome = wait(a.url, a.timeout)
    if not outcome.ok:
        raise EnvironmentProblem(outcome.message)
    console.info(outcome.message, event="ready", url=a.url)


def _smoke(a: argparse.Namespace) -> None:
    from aimgen.launch.endpoint import smoke

    outcome = smoke(a.url, a.model)
    if not outcome.ok:
        raise InvalidInput(outcome.message)
    console.info(outcome.message, event="smoke_passed", url=a.url)


def run(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    command = {"cache": _prefetch, "wait": _wait, "smoke": _smoke}[args.command]
    try:
        command(args)
    except AimgenError as exc:
        console.error(exc.line(), event="failed", exit_code=exc.exit_code)
        return exc.exit_code
    except KeyboardInterrupt:
        console.error("interrupted", event="interrupted")
        return 130
    except Exception as exc:  # the one place an unexpected error becomes one line
        console.error(f"internal error: {type(exc).__name__}: {exc} (please report this)", event="internal_error")
        return EXIT_INVALID
    return 0


def main() -> None:
    sys.exit(run())
