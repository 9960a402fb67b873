"""A PNG of a dashboard's layout, drawn from its JSON: rows, panels on Grafana's 24-column grid, each with its
title, kind, unit and the metrics its queries select. For reviewers without a Grafana; needs Pillow
(`pip install 'aimgen[preview]'`), imported only here.
"""

from __future__ import annotations

import io
import re

from aimgen.errors import EnvironmentProblem

COLUMN_PX = 64  # one of Grafana's 24 grid columns
ROW_PX = 30  # one grid row
MARGIN = 24
HEADER_PX = 86
PAD = 10
_SELECTOR = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)\{")
COLOURS = {
    "background": (17, 18, 23), "panel": (24, 27, 31), "border": (52, 57, 62), "title": (235, 236, 240),
    "muted": (142, 146, 156), "row": (204, 204, 220), "accent": (255, 120, 40),
    "vllm": (115, 191, 105), "gpu": (242, 73, 92), "other": (87, 148, 242),
}


def _pil():
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError as e:
        raise EnvironmentProblem("drawing the preview needs Pillow: pip install 'aimgen[preview]'") from e
    return Image, ImageDraw, ImageFont


def _metrics_of(panel: dict) -> list[str]:
    """Metric names of the panel's queries, in order (every selector of ours has a {...} matcher)."""
    names: list[str] = []
    for target in panel.get("targets", []):
        names += [n for n in _SELECTOR.findall(target["expr"]) if n not in names]
    return names


def _fit(draw, text: str, font, width: float) -> str:
    """The text cut (with an ellipsis) to fit `width` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def _wrap(draw, text: str, font, width: float) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _colour(metric: str) -> tuple[int, int, int]:
    if metric.startswith("vllm:"):
        return COLOURS["vllm"]
    if metric.startswith("gpu_"):
        return COLOURS["gpu"]
    return COLOURS["other"]


def render_png(model: dict) -> bytes:
    Image, ImageDraw, ImageFont = _pil()
    fonts = {size: ImageFont.load_default(size=size) for size in (12, 13, 15, 17, 24)}
    bottom = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in model["panels"])
    width, height = 2 * MARGIN + 24 * COLUMN_PX, HEADER_PX + bottom * ROW_PX + 2 * MARGIN
    img = Image.new("RGB", (width, height), COLOURS["background"])
    draw = ImageDraw.Draw(img)

    draw.text((MARGIN, MARGIN - 4), model.get("title", "dashboard"), font=fonts[24], fill=COLOURS["title"])
    variables = model.get("templating", {}).get("list", [])
    x = MARGIN
    for v in variables:
        chip = f"{v.get('label') or v['name']}: ${v['name']}"
        w = draw.textlength(chip, font=fonts[13]) + 16
        draw.rounded_rectangle((x, MARGIN + 34, x + w, MARGIN + 58), radius=4, outline=COLOURS["border"],
                               fill=COLOURS["panel"])
        draw.text((x + 8, MARGIN + 39), chip, font=fonts[13], fill=COLOURS["muted"])
        x += w + 8
    legend = [("vLLM", COLOURS["vllm"]), ("AMD GPU exporter", COLOURS["gpu"]), ("Prometheus", COLOURS["other"])]
    x = width - MARGIN
    for label, colour in reversed(legend):
        x -= draw.textlength(label, font=fonts[13]) + 30
        draw.rectangle((x, MARGIN + 41, x + 10, MARGIN + 51), fill=colour)
        draw.text((x + 16, MARGIN + 38), label, font=fonts[13], fill=COLOURS["muted"])

    for panel in model["panels"]:
        g = panel["gridPos"]
        x0 = MARGIN + g["x"] * COLUMN_PX
        y0 = HEADER_PX + MARGIN + g["y"] * ROW_PX
        x1, y1 = x0 + g["w"] * COLUMN_PX - 6, y0 + g["h"] * ROW_PX - 6
        if panel["type"] == "row":
            draw.text((x0, y0 + 4), panel["title"], font=fonts[17], fill=COLOURS["row"])
            draw.line((x0, y1 + 2, x1, y1 + 2), fill=COLOURS["border"])
            continue
        draw.rounded_rectangle((x0, y0, x1, y1), radius=6, fill=COLOURS["panel"], outline=COLOURS["border"])
        inner = x1 - x0 - 2 * PAD
        unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "")
        tag = f"{panel['type']} · {unit}" if unit else panel["type"]
        title_w = draw.textlength(panel["title"], font=fonts[15])
        draw.text((x0 + PAD, y0 + PAD), _fit(draw, panel["title"], fonts[15], inner), font=fonts[15],
                  fill=COLOURS["title"])
        y = y0 + PAD + 24
        if title_w + draw.textlength(tag, font=fonts[12]) + 12 <= inner:
            draw.text((x1 - PAD - draw.textlength(tag, font=fonts[12]), y0 + PAD + 2), tag, font=fonts[12],
                      fill=COLOURS["accent"])
        else:  # narrow panel: the tag goes under the title
            draw.text((x0 + PAD, y - 2), tag, font=fonts[12], fill=COLOURS["accent"])
            y += 16
        for metric in _metrics_of(panel):
            if y > y1 - 18:
                break
            draw.rectangle((x0 + PAD, y + 4, x0 + PAD + 6, y + 10), fill=_colour(metric))
            draw.text((x0 + PAD + 12, y), _fit(draw, metric, fonts[13], inner - 12), font=fonts[13],
                      fill=_colour(metric))
            y += 17
        if panel["type"] == "stat":
            continue
        for line in _wrap(draw, panel.get("description", ""), fonts[12], inner)[:3]:
            draw.text((x0 + PAD, y + 4), line, font=fonts[12], fill=COLOURS["muted"])
            y += 15
        # Faint grid lines where the graph would be: this is a layout, not data.
        top = y + 16
        for i in range(1, 4):
            gy = top + (y1 - PAD - top) * i // 4
            draw.line((x0 + PAD, gy, x1 - PAD, gy), fill=COLOURS["border"])
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()
