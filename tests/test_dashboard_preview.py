"""`aimgen dashboard preview|check`: a PNG of the layout, and the query check as a command."""

from __future__ import annotations

import json

from aimgen.observability import dashboard
from aimgen.observability.preview import render_png

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_preview_draws_a_png_as_tall_as_the_grid():
    from PIL import Image
    import io

    png = render_png(json.loads(dashboard.render_text()))
    assert png.startswith(PNG_MAGIC)
    width, height = Image.open(io.BytesIO(png)).size
    bottom = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in dashboard.build()["panels"])
    assert width > 1000 and height > bottom * 20


def test_preview_command_writes_the_file(cli, tmp_path):
    out = tmp_path / "d.png"
    code, stdout, err = cli("dashboard", "preview", "-o", out, "--release", "demo")
    assert code == 0 and stdout == "" and "wrote" in err
    assert out.read_bytes().startswith(PNG_MAGIC)
    assert [p.name for p in tmp_path.iterdir()] == ["d.png"]  # no temp file left behind


def test_preview_into_a_missing_folder_is_one_line(cli, tmp_path):
    code, _, err = cli("dashboard", "preview", "-o", tmp_path / "nope" / "d.png")
    assert code == 1 and len(err.strip().splitlines()) == 1


def test_check_command_passes_on_the_shipped_queries(cli):
    code, stdout, err = cli("dashboard", "check", "--json")
    report = json.loads(stdout)
    assert code == 0, err
    assert report["problems"] == [] and report["queries"] > 25
