#!/usr/bin/env python3
"""Make sure the shared folder (../shared: CRDs, chart-testing config) holds the pinned upstream files.

    fetch_shared.py --shared DIR               verify DIR; fetch what is missing from upstream
    fetch_shared.py --shared DIR --write-pins  regenerate scripts/shared-pins.json from DIR's SOURCES files

Every file is identified by its git blob hash (what `git hash-object` prints), so a copy is checked
byte for byte against the commit it came from. The expected hashes come from the SOURCES files in DIR
when DIR has them, else from scripts/shared-pins.json (committed, generated from ../shared with
--write-pins), which also records where upstream each file lives for a machine without ../shared.
DIR's amd/*.yaml are hand-written facts with no upstream; they cannot be fetched.

Exit codes: 0 verified (or fetched and verified), 1 a file's content differs from its pin,
2 usage, 4 environment (upstream unreachable, DIR not writable). Stdlib only: this runs before .venv exists.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

PINS_FILE = Path(__file__).resolve().parent / "shared-pins.json"
DEFAULT_BASE_URL = "https://raw.githubusercontent.com"
BASE_URL_ENV = "AIMGEN_SHARED_BASE_URL"
TIMEOUT_S = 30
HANDWRITTEN_GLOB = "amd/*.yaml"

EXIT_OK, EXIT_MISMATCH, EXIT_USAGE, EXIT_ENV = 0, 1, 2, 4


@dataclass(frozen=True)
class Pin:
    local: str  # path inside the shared folder
    repo: str  # owner/name on GitHub
    ref: str  # commit (preferred) or tag
    path: str  # path inside the repository
    sha: str  # git blob sha1
    tag: str = ""
    note: str = ""


class Failure(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


def git_blob_sha(data: bytes) -> str:
    """The id git gives these bytes as a blob: sha1 over 'blob <size>\\0' + content."""
    h = hashlib.sha1()
    h.update(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


# --- SOURCES files (written by whoever filled ../shared; two layouts) -------------------------------------


def _resolve_local(shared: Path, listed: str) -> str:
    """crds-extra-SOURCES.txt names files without their crds/ folder; find where the file really is."""
    if (shared / listed).exists():
        return listed
    parent, _, name = listed.rpartition("/")
    alt = f"{parent}/crds/{name}" if parent else f"crds/{name}"
    return alt if (shared / alt).exists() else listed


def parse_kserve_sources(text: str, base: str, shared: Path) -> list[Pin]:
    """kserve/<tag>/SOURCES.txt: a header naming repo, tag and commit; then 'sha local path_in_repo'."""
    repo = re.search(r"github\.com/([\w.-]+/[\w.-]+)", text)
    commit = re.search(r"commit ([0-9a-f]{40})", text)
    tag = re.search(r"\btag (v[\w.+-]+)", text)
    pins = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and not line.startswith("#") and re.fullmatch(r"[0-9a-f]{40}", parts[0]):
            pins.append(
                Pin(
                    local=_resolve_local(shared, f"{base}/{parts[1]}"),
                    repo=repo.group(1) if repo else "",
                    ref=commit.group(1) if commit else (tag.group(1) if tag else ""),
                    path=parts[2],
                    sha=parts[0],
                    tag=tag.group(1) if tag else "",
                )
            )
    return pins


def parse_extra_sources(text: str, shared: Path) -> list[Pin]:
    """crds-extra-SOURCES.txt: 'local | repo | tag | tag_commit | path_in_repo | sha | blob sha (match) | bytes'."""
    pins = []
    for line in text.splitlines():
        if line.startswith("#") or line.count("|") < 5:
            continue
        cols = [c.strip() for c in line.split("|")]
        local, repo, tag, commit, path, sha = cols[:6]
        pins.append(Pin(local=_resolve_local(shared, local), repo=repo, ref=commit or tag, path=path, sha=sha, tag=tag))
    return pins


def sources_pins(shared: Path) -> list[Pin]:
    pins: list[Pin] = []
    for sources in sorted(shared.glob("kserve/*/SOURCES.txt")):
        base = sources.parent.relative_to(shared).as_posix()
        pins += parse_kserve_sources(sources.read_text(encoding="utf-8"), base, shared)
    extra = shared / "crds-extra-SOURCES.txt"
    if extra.exists():
        pins += parse_extra_sources(extra.read_text(encoding="utf-8"), shared)
    # ct/SOURCES.txt only describes the files (no commit, no hashes): its pins live in shared-pins.json alone.
    return pins


# --- the committed manifest ---------------------------------------------------------------------------------


def load_pins(pins_file: Path = PINS_FILE) -> tuple[list[Pin], list[str]]:
    try:
        data = json.loads(pins_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise Failure(EXIT_ENV, f"cannot read {pins_file}: {exc}") from exc
    return [Pin(**entry) for entry in data["files"]], list(data.get("handwritten", []))


def write_pins(shared: Path, pins_file: Path = PINS_FILE) -> str:
    """Regenerate the manifest from DIR's SOURCES files; pins SOURCES does not cover (ct/) are kept and re-hashed."""
    fresh = sources_pins(shared)
    if not fresh:
        raise Failure(EXIT_USAGE, f"{shared}: no SOURCES files found; is this the shared folder?")
    old = load_pins(pins_file)[0] if pins_file.exists() else []
    covered = {(p.repo, p.path) for p in fresh}
    entries: list[Pin] = []
    for pin in fresh + [p for p in old if (p.repo, p.path) not in covered]:
        file = shared / pin.local
        if not file.exists():
            raise Failure(EXIT_MISMATCH, f"{file}: listed in SOURCES but missing")
        actual = git_blob_sha(file.read_bytes())
        if (pin.repo, pin.path) in covered and actual != pin.sha:
            raise Failure(EXIT_MISMATCH, f"{file}: git blob {actual} differs from SOURCES {pin.sha}; not pinning it")
        entries.append(Pin(**{**asdict(pin), "sha": actual}))
    handwritten = sorted(p.relative_to(shared).as_posix() for p in shared.glob(HANDWRITTEN_GLOB))
    doc = {
        "comment": "Pinned upstream files of the shared folder (../shared). Generated by "
        "`scripts/fetch_shared.py --shared ../shared --write-pins` from its SOURCES files; "
        "sha is the git blob sha1. 'handwritten' files have no upstream and cannot be fetched.",
        "files": [{k: v for k, v in asdict(p).items() if v} for p in sorted(entries, key=lambda p: p.local)],
        "handwritten": handwritten,
    }
    _atomic_write(pins_file, (json.dumps(doc, indent=2) + "\n").encode())
    return f"wrote {pins_file}: {len(entries)} pinned files, {len(handwritten)} hand-written"


# --- verify and fetch ------------------------------------------------------------------------------------


def expected_pins(shared: Path, pins: list[Pin]) -> tuple[list[Pin], list[str]]:
    """The committed pins, with SOURCES in DIR taking precedence (DIR is the reference when it exists)."""
    warnings = []
    by_origin = {(p.repo, p.path): p for p in pins}
    merged = dict(by_origin)
    for src in sources_pins(shared) if shared.exists() else []:
        pinned = by_origin.get((src.repo, src.path))
        if pinned is None:
            warnings.append(f"{src.local}: in SOURCES but not in {PINS_FILE.name}; run with --write-pins")
            merged[(src.repo, src.path)] = src
        elif pinned.sha != src.sha or pinned.local != src.local:
            warnings.append(
                f"{src.local}: {PINS_FILE.name} is stale (pins {pinned.sha[:12]}, SOURCES {src.sha[:12]}); "
                "run with --write-pins"
            )
            merged[(src.repo, src.path)] = src
    return sorted(merged.values(), key=lambda p: p.local), warnings


def fetch(pin: Pin, base_url: str) -> bytes:
    url = f"{base_url.rstrip('/')}/{pin.repo}/{pin.ref}/{pin.path}"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp:  # noqa: S310 (fixed https base or test override)
            return resp.read()
    except urllib.error.HTTPError as exc:
        raise Failure(EXIT_ENV, f"cannot fetch {pin.local}: {url} answered HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Failure(
            EXIT_ENV,
            f"cannot fetch {pin.local} from {url}: {reason}; "
            "without network, point AIM_SHARED_DIR at an existing shared folder",
        ) from exc


def _atomic_write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def ensure_shared(shared: Path, pins: list[Pin], handwritten: list[str], base_url: str) -> tuple[list[str], str]:
    """Verify what is there, fetch what is missing. Returns (warnings, summary); raises Failure."""
    existed = shared.exists()
    expected, warnings = expected_pins(shared, pins)
    mismatched, missing = [], []
    for pin in expected:
        file = shared / pin.local
        if not file.exists():
            missing.append(pin)
            continue
        actual = git_blob_sha(file.read_bytes())
        if actual != pin.sha:
            origin = f"{pin.repo}@{pin.tag or pin.ref[:12]}:{pin.path}"
            mismatched.append(f"{file}: git blob {actual} but {origin} is {pin.sha}")
    if mismatched:
        summary = f" ({len(mismatched)} of {len(expected)} files differ from their pins)"
        raise Failure(EXIT_MISMATCH, "; ".join(mismatched) + summary)

    for pin in missing:
        data = fetch(pin, base_url)
        actual = git_blob_sha(data)
        if actual != pin.sha:
            raise Failure(
                EXIT_MISMATCH,
                f"{pin.repo}@{pin.ref[:12]}:{pin.path}: fetched git blob {actual}, pinned {pin.sha}; "
                f"not writing {pin.local}",
            )
        try:
            _atomic_write(shared / pin.local, data)
        except OSError as exc:
            raise Failure(EXIT_ENV, f"cannot write {shared / pin.local}: {exc.strerror or exc}") from exc

    absent_handwritten = [h for h in handwritten if not (shared / h).exists()]
    if absent_handwritten:
        warnings.append(
            f"{', '.join(absent_handwritten)}: hand-written facts with no upstream, cannot be fetched; "
            "only tests that compare the catalog against them need these (use a real shared folder)"
        )
    verb = "verified" if existed and not missing else f"verified ({len(missing)} fetched from {base_url})"
    return warnings, f"shared: {len(expected)} pinned files {verb} in {shared} (git blob sha1)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", required=True, type=Path, help="the shared folder (usually ../shared)")
    parser.add_argument("--pins", type=Path, default=PINS_FILE, help=argparse.SUPPRESS)
    parser.add_argument("--write-pins", action="store_true", help="regenerate scripts/shared-pins.json from DIR")
    args = parser.parse_args(argv)
    try:
        if args.write_pins:
            print(write_pins(args.shared, args.pins))
            return EXIT_OK
        pins, handwritten = load_pins(args.pins)
        base_url = os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
        warnings, summary = ensure_shared(args.shared, pins, handwritten, base_url)
    except Failure as exc:
        print(f"fetch_shared: error: {exc}", file=sys.stderr)
        return exc.code
    for line in warnings:
        print(f"fetch_shared: warning: {line}", file=sys.stderr)
    print(summary)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
