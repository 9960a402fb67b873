"""Shared test set-up: the shared folder, the CLI runner, and a clean catalog cache per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AIM_SHARED_DIR", ROOT.parent / "shared"))
os.environ.setdefault("AIM_SHARED_DIR", str(SHARED))
# Tests read messages as text lines unless a test asks for JSON.
os.environ.setdefault("AIMGEN_LOG_FORMAT", "text")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    assert SHARED.is_dir(), f"../shared not found at {SHARED}: run `make shared` or set AIM_SHARED_DIR"
    return SHARED


@pytest.fixture
def cli(capsys):
    """Run the aimgen CLI in-process: returns (exit code, stdout, stderr)."""
    from aimgen.cli.main import run

    def _run(*args: str):
        code = run([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return _run
