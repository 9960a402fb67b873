"""`aimgen cache ...`: prefetch a model into the shared cache, and manage what is there."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import typer

from aimgen.cli.main import app, command_group
from aimgen.console import console
from aimgen.errors import InvalidInput, UsageError

cache_app = command_group(
    name="cache",
    help="Model cache on a (shared) volume: prefetch once, start every pod after the first from local disk.",
)
app.add_typer(cache_app, name="cache")

CACHE_DIR_HELP = "Cache root (HF_HOME layout: models under <dir>/hub). Default: $AIMGEN_CACHE_DIR, $HF_HOME, ~/.cache/huggingface."
FORMATS = ("text", "json")


def _layout(cache_dir: Path | None):
    from aimgen.cache.layout import CacheLayout, default_cache_dir

    return CacheLayout(cache_dir or default_cache_dir())


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise UsageError(f"--output-format {fmt!r}: expected text or json")


@contextmanager
def _cache_io(cache_dir: Path | None):
    from aimgen.cache.run import cache_io

    with cache_io(_layout(cache_dir).root):
        yield


def _emit_json(value) -> None:
    typer.echo(json.dumps(value, indent=2, sort_keys=True))


@cache_app.command("prefetch")
def prefetch_cmd(
    model: str = typer.Argument(..., help="Hub model id, e.g. Qwen/Qwen3-8B."),
    revision: str = typer.Option("main", "--revision", help="Branch, tag or 40-hex commit (pin a commit for an offline warm path)."),
    cache_dir: Path = typer.Option(None, "--cache-dir", help=CACHE_DIR_HELP),
    source: str = typer.Option("hf", "--source", help="hf (the Hub or HF_ENDPOINT mirror) or local (--local-dir)."),
    local_dir: Path = typer.Option(None, "--local-dir", help="With --source local: a model folder or an HF cache (PVC)."),
    allow_pattern: list[str] = typer.Option([], "--allow-pattern", help="Only files matching (repeatable, fnmatch; 'dir/' = below dir)."),
    exclude_pattern: list[str] = typer.Option([], "--exclude-pattern", help="Skip files matching (repeatable)."),
    allow_pickle: bool = typer.Option(False, "--allow-pickle", help="Accept pickle weights (.bin/.pt/.pth/.pkl): they can run code."),
    timeout: float = typer.Option(30.0, "--timeout", help="Per-request timeout in seconds (connect, and between bytes)."),
    retries: int = typer.Option(5, "--retries", help="Retries per request while no byte arrives (backoff with jitter)."),
    workers: int = typer.Option(4, "--workers", help="Parallel file downloads in this process."),
    lease_ttl: float = typer.Option(60.0, "--lease-ttl", help="Seconds without heartbeat after which another pod takes over a file."),
    token_file: Path = typer.Option(None, "--token-file", help="File holding the Hub token (a mounted Secret); else $HF_TOKEN."),
    endpoint: str = typer.Option(None, "--endpoint", help="Hub endpoint or mirror; default $HF_ENDPOINT or huggingface.co."),
    no_digest: bool = typer.Option(False, "--no-digest-check", help="Skip hashing while downloading (size check only; 'verify' can hash later)."),
) -> None:
    """Make MODEL complete in the cache (download once, shared safely by concurrent pods); print its snapshot path."""
    from aimgen.cache.layout import default_cache_dir
    from aimgen.cache.prefetch import PrefetchOptions
    from aimgen.cache.run import run_prefetch

    options = PrefetchOptions(
        model_id=model, cache_dir=cache_dir or default_cache_dir(), revision=revision, source=source,
        local_dir=local_dir, allow_patterns=tuple(allow_pattern), exclude_patterns=tuple(exclude_pattern),
        allow_pickle=allow_pickle, timeout=timeout, retries=retries, workers=workers, lease_ttl=lease_ttl,
        token_file=token_file, endpoint=endpoint, check_digest=not no_digest)
    typer.echo(str(run_prefetch(options).snapshot))


@cache_app.command("list")
def list_cmd(
    cache_dir: Path = typer.Option(None, "--cache-dir", help=CACHE_DIR_HELP),
    fmt: str = typer.Option("text", "--output-format", "--format", help="text or json."),
) -> None:
    """List cached models: revision, commit, size, last use, hits; incomplete entries are marked."""
    from aimgen.cache.fsutil import human_bytes
    from aimgen.cache.manage import entries

    _check_format(fmt)
    with _cache_io(cache_dir):
        found = entries(_layout(cache_dir))
    if fmt == "json":
        _emit_json([e.as_dict() for e in found])
        return
    rows = [("MODEL", "REVISIONS", "COMMIT", "SIZE", "FILES", "LAST USE", "HITS", "STATUS")]
    for e in found:
        rows.append((e.model_id, ",".join(e.revisions) or "-", e.commit[:12], human_bytes(e.size_bytes), str(e.files),
                     e.last_use or "-", str(e.hits), "complete" if e.complete else "incomplete"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())


@cache_app.command("stats")
def stats_cmd(
    cache_dir: Path = typer.Option(None, "--cache-dir", help=CACHE_DIR_HELP),
    fmt: str = typer.Option("text", "--output-format", "--format", help="text or json."),
) -> None:
    """Totals: models, revisions, bytes in blobs and partial downloads, active leases, free space, hits."""
    from aimgen.cache.fsutil import human_bytes
    from aimgen.cache.manage import stats

    _check_format(fmt)
    with _cache_io(cache_dir):
        values = stats(_layout(cache_dir))
    if fmt == "json":
        _emit_json(values)
        return
    for key, value in values.items():
        shown = human_bytes(value) if key.endswith("_bytes") else value
        typer.echo(f"{key:<14} {shown}")


@cache_app.command("verify")
def verify_cmd(
    model: str = typer.Argument(None, help="Only this model (default: everything in the cache)."),
    revision: str = typer.Option(None, "--revision", help="Only this revision of MODEL."),
    cache_dir: Path = typer.Option(None, "--cache-dir", help=CACHE_DIR_HELP),
    repair: bool = typer.Option(False, "--repair", help="Delete corrupted blobs and their records so the next prefetch refetches them."),
    fmt: str = typer.Option("text", "--output-format", "--format", help="text or json (findings on stdout)."),
) -> None:
    """Hash every cached file and compare it with its recorded sha256 (LFS) or git blob id; exit 1 on a mismatch."""
    from aimgen.cache.fsutil import human_bytes
    from aimgen.cache.verify import verify
    from aimgen.findings import has_errors

    _check_format(fmt)
    if revision is not None and model is None:
        raise UsageError("--revision needs a MODEL")
    with _cache_io(cache_dir):
        report = verify(_layout(cache_dir), model, revision, repair=repair)
    if fmt == "json":
        _emit_json({"records": report.records, "files": report.files, "bytes": report.bytes,
                    "findings": [f.as_dict() for f in report.findings], "repaired": list(report.repaired)})
    else:
        for f in report.findings:
            (console.error if f.level == "error" else console.warning)(f.line(), event="cache.verify_finding",
                                                                        code=f.code)
    for item in report.repaired:
        console.info(f"repaired {item}: corrupted files removed; the next prefetch fetches them again",
                     event="cache.repaired")
    errors = [f for f in report.findings if f.level == "error"]
    if has_errors(report.findings):
        raise InvalidInput(f"{len(errors)} cached file(s) failed verification")
    console.info(f"verified {report.files} file(s), {human_bytes(report.bytes)}, in {report.records} revision(s)",
                 event="cache.verified", files=report.files, bytes=report.bytes)


@cache_app.command("prune")
def prune_cmd(
    older_than: str = typer.Option(None, "--older-than", help="Remove revisions not used for this long (e.g. 30d, 12h)."),
    keep_last: int = typer.Option(None, "--keep-last", help="Keep only the N most recently used revisions."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be removed."),
    cache_dir: Path = typer.Option(None, "--cache-dir", help=CACHE_DIR_HELP),
    fmt: str = typer.Option("text", "--output-format", "--format", help="text or json."),
) -> None:
    """Remove unused revisions; always clears debris (unlinked blobs, abandoned partial downloads)."""
    from aimgen.cache.fsutil import human_bytes
    from aimgen.cache.manage import parse_duration, prune

    _check_format(fmt)
    age = parse_duration(older_than) if older_than is not None else None
    with _cache_io(cache_dir):
        result = prune(_layout(cache_dir), older_than=age, keep_last=keep_last, dry_run=dry_run)
    if fmt == "json":
        _emit_json({"removed": list(result.removed), "freed_bytes": result.freed_bytes, "partials": result.partials,
                    "orphans": result.orphans, "dry_run": dry_run})
        return
    verb = "would remove" if dry_run else "removed"
    for item in result.removed:
        typer.echo(f"{verb} {item}")
    console.info(f"{verb} {len(result.removed)} revision(s), {result.partials} abandoned partial file(s), "
                 f"{result.orphans} unlinked blob(s): {human_bytes(result.freed_bytes)}", event="cache.pruned",
                 removed=len(result.removed), freed_bytes=result.freed_bytes)


@cache_app.command("evict")
def evict_cmd(
    model: str = typer.Argument(..., help="Model id to remove."),
    revision: str = typer.Option(None, "--revision", help="Only this revision (default: all of MODEL)."),
    cache_dir: Path = typer.Option(None, "--cache-dir", help=CACHE_DIR_HELP),
) -> None:
    """Remove MODEL (or one revision of it) from the cache."""
    from aimgen.cache.fsutil import human_bytes
    from aimgen.cache.manage import evict

    with _cache_io(cache_dir):
        result = evict(_layout(cache_dir), model, revision)
    for item in result.removed:
        typer.echo(f"removed {item}")
    console.info(f"evicted {len(result.removed)} revision(s) of {model}: {human_bytes(result.freed_bytes)} freed",
                 event="cache.evicted", freed_bytes=result.freed_bytes)
