"""PNG charts of the indicators, drawn with Pillow: compliance per wijk (bars) and the monthly trend (controls
as bars, compliance as a line). Each bar is labelled with its numerator/denominator, like the figures."""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

from backend.reports.models import Group, MonthFigures

WIDTH, HEIGHT = 1000, 560
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 70, 70, 60, 120
BACKGROUND, INK, GRID, BAR, LINE, EMPTY = "white", "#222222", "#dddddd", "#00689d", "#e17000", "#bbbbbb"
MONTHS_NL = ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _canvas(title: str, subtitle: str) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.text((MARGIN_LEFT, 14), title, fill=INK, font=_font(20))
    draw.text((MARGIN_LEFT, 38), subtitle, fill=INK, font=_font(13))
    return image, draw


def _plot_box() -> tuple[int, int, int, int]:
    return MARGIN_LEFT, MARGIN_TOP + 10, WIDTH - MARGIN_RIGHT, HEIGHT - MARGIN_BOTTOM


def _percent_axis(draw: ImageDraw.ImageDraw, *, right: bool = False) -> None:
    left, top, right_x, bottom = _plot_box()
    for step in range(0, 101, 20):
        y = bottom - (bottom - top) * step / 100
        if not right:
            draw.line((left, y, right_x, y), fill=GRID)
        x = right_x + 6 if right else 8
        draw.text((x, y - 7), f"{step}%", fill=INK, font=_font(12))


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def compliance_per_wijk(groups: Sequence[Group], subtitle: str) -> bytes:
    """One bar per wijk: the share of controls without a violation; grey when the wijk had no controls."""
    image, draw = _canvas("Naleving per wijk", subtitle)
    left, top, right, bottom = _plot_box()
    _percent_axis(draw)
    slot = (right - left) / max(len(groups), 1)
    for index, item in enumerate(groups):
        x0 = left + index * slot + slot * 0.15
        x1 = left + (index + 1) * slot - slot * 0.15
        if item.share is None:
            draw.rectangle((x0, bottom - 2, x1, bottom), fill=EMPTY)
        else:
            draw.rectangle((x0, bottom - (bottom - top) * item.share, x1, bottom), fill=BAR)
            draw.text((x0, bottom - (bottom - top) * item.share - 18), f"{round(item.share * 100)}%", fill=INK,
                      font=_font(12))
        draw.text((x0, bottom + 8), item.label, fill=INK, font=_font(11))
        draw.text((x0, bottom + 24), f"{item.numerator}/{item.denominator}", fill=INK, font=_font(11))
    draw.text((left, HEIGHT - 40), "Naleving = beoordeelde controles zonder overtreding / beoordeelde controles",
              fill=INK, font=_font(12))
    return _png(image)


def trend(months: Sequence[MonthFigures], subtitle: str) -> bytes:
    """Controls done per month (bars, left scale) and compliance (line, right scale in percent)."""
    image, draw = _canvas("Controles en naleving per maand", subtitle)
    left, top, right, bottom = _plot_box()
    _percent_axis(draw, right=True)
    highest = max((m.controls.done.numerator for m in months), default=0) or 1
    for step in range(5):
        value = round(highest * step / 4)
        y = bottom - (bottom - top) * step / 4
        draw.line((left, y, right, y), fill=GRID)
        draw.text((8, y - 7), str(value), fill=INK, font=_font(12))
    slot = (right - left) / max(len(months), 1)
    points = []
    for index, month in enumerate(months):
        x0, x1 = left + index * slot + slot * 0.2, left + (index + 1) * slot - slot * 0.2
        done = month.controls.done.numerator
        draw.rectangle((x0, bottom - (bottom - top) * done / highest, x1, bottom), fill=BAR)
        year, number = month.month.split("-")
        draw.text((x0, bottom + 8), f"{MONTHS_NL[int(number) - 1]} {year[2:]}", fill=INK, font=_font(11))
        draw.text((x0, bottom + 24), str(done), fill=INK, font=_font(11))
        if month.compliance.share is not None:
            points.append(((x0 + x1) / 2, bottom - (bottom - top) * month.compliance.share))
    if len(points) > 1:
        draw.line(points, fill=LINE, width=3)
    for x, y in points:
        draw.ellipse((x - 4, y - 4, x + 4, y + 4), fill=LINE)
    draw.rectangle((left, HEIGHT - 42, left + 14, HEIGHT - 28), fill=BAR)
    draw.text((left + 20, HEIGHT - 42), "Beoordeelde controles (links)", fill=INK, font=_font(12))
    draw.ellipse((left + 260, HEIGHT - 40, left + 270, HEIGHT - 30), fill=LINE)
    draw.text((left + 278, HEIGHT - 42), "Naleving (rechts)", fill=INK, font=_font(12))
    return _png(image)
