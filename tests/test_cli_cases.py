"""Golden cases as folders: tests/cases/valid/<case>/{args,expected.yaml} and tests/cases/invalid/<case>/{args,exit}.

`args` holds one CLI argument per line; `{case}` stands for the case folder (for input files kept beside it).
Regenerate expected output after an intended change with AIMGEN_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

CASES = Path(__file__).parent / "cases"


@pytest.fixture(autouse=True)
def _no_hub(tmp_path, monkeypatch):
    """A model id outside the catalog would be fetched from the Hub: the cases run offline, with no metadata cache."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


def _cases(kind: str) -> list[Path]:
    return sorted(p for p in (CASES / kind).iterdir() if (p / "args").exists())


def _args(case: Path) -> list[str]:
    return [line.replace("{case}", str(case)) for line in (case / "args").read_text().splitlines() if line.strip()]


BUNDLE = re.compile(r"^(\s*aimgen\.pyz: ).*$", re.M)


def _golden(text: str) -> str:
    """The aimgen bundle's bytes change with every edit of the cache code; tests/test_podbundle.py checks them (and
    that render ships exactly podbundle.build()), so the golden cases keep a placeholder."""
    return BUNDLE.sub(r"\1<aimgen.podbundle.build_b64()>", text)


@pytest.mark.parametrize("case", _cases("valid"), ids=lambda p: p.name)
def test_valid_case_renders_golden_output(case, cli):
    code, out, err = cli(*_args(case))
    assert code == 0, err
    expected = case / "expected.yaml"
    out = _golden(out)
    if os.environ.get("AIMGEN_UPDATE_GOLDEN"):
        expected.write_text(out)
    assert list(yaml.safe_load_all(out)) == list(yaml.safe_load_all(expected.read_text()))


@pytest.mark.parametrize("case", _cases("invalid"), ids=lambda p: p.name)
def test_invalid_case_fails_with_one_clear_line(case, cli, tmp_path):
    args = [a.replace("{tmp}", str(tmp_path)) for a in _args(case)]
    code, out, err = cli(*args)
    assert code == int((case / "exit").read_text()), err
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    want = case / "message"
    if want.exists():
        for fragment in want.read_text().splitlines():
            assert fragment in lines[0], lines[0]
    # Nothing half-written: an -o target must not exist after a failure.
    if "-o" in args:
        target = Path(args[args.index("-o") + 1])
        if tmp_path in target.parents:
            assert not target.exists()
        assert not list(target.parent.glob(f".{target.name}.*.tmp"))
