"""PNG charts of the indicators, drawn with Pillow: compliance per wijk (bars) and the monthly trend (controls
as bars, compliance as a line). Each bar is labelled with its numerator/denominator, like the figures.

The labels under the bars are laid out before anything is drawn (`axis_labels`), measured with the font that
draws them: a label wraps after spaces and hyphens and shrinks down to a floor size; a word that is still too
wide is cut and a label with too many lines ends in an ellipsis. When there are more bars than fit at a readable
size, the canvas widens instead. So no two labels overlap and none leaves the image, whatever the names."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from backend.reports.models import Group, MonthFigures

WIDTH, HEIGHT = 1000, 560
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 70, 70, 60, 120
BACKGROUND, INK, GRID, BAR, LINE, EMPTY = "white", "#222222", "#dddddd", "#00689d", "#e17000", "#bbbbbb"
MONTHS_NL = ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]

LABEL_SIZES = (12, 11, 10, 9)  # tried in turn; 9 px is the floor that still reads
LABEL_MAX_LINES = 3
LABEL_GAP = 6  # px of white between the labels of neighbouring bars
LABEL_TOP_GAP = 8  # px between the axis and the labels
LINE_SPACING = 2
MIN_SLOT = 56  # px per bar at the least (a word of about ten letters); more bars widen the canvas
MAX_COUNT_TICKS = 6
FontType = ImageFont.ImageFont | ImageFont.FreeTypeFont


def _font(size: int) -> FontType:
    return ImageFont.load_default(size=size)


_MEASURE = ImageDraw.Draw(Image.new("RGB", (1, 1)))


def _width(text: str, font: FontType) -> float:
    return _MEASURE.textlength(text, font=font)


# --- count axis ------------------------------------------------------------------------------------------------


def count_ticks(highest: int, most: int = MAX_COUNT_TICKS) -> list[int]:
    """Ticks for a count axis from 0 up to at least `highest`: whole numbers in steps of 1, 2 or 5 x 10^k,
    at most `most` of them, each once (0 and 1 when there is nothing to count)."""
    top = max(highest, 1)
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * magnitude
            if math.ceil(top / step) + 1 <= most:
                return list(range(0, step * math.ceil(top / step) + 1, step))
        magnitude *= 10


def count_text(value: int) -> str:
    """12345 as "12.345" (the Dutch thousands separator)."""
    return f"{value:,}".replace(",", ".")


# --- labels under the bars -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Label:
    """One bar's label: its lines (the name, wrapped, then the figure) and the box they cover in the image."""

    lines: list[str]
    size: int
    x: float  # centre
    top: float
    box: tuple[float, float, float, float]  # left, top, right, bottom, as measured with textbbox


@dataclass(frozen=True)
class Layout:
    width: int
    slot: float  # px per bar
    labels: list[Label]


def _pieces(text: str) -> list[str]:
    """Where a name may break: after a space or a hyphen ("Vleuten-", "De ", "Meern")."""
    return [piece for piece in re.split(r"(?<=[ -])", text) if piece]


def _wrap(text: str, font: FontType, room: float) -> list[str] | None:
    """Lines of at most `room` px, broken only after spaces and hyphens; None when a piece alone is wider."""
    lines: list[str] = []
    for piece in _pieces(text):
        if lines and _width((lines[-1] + piece).rstrip(), font) <= room:
            lines[-1] += piece
        elif _width(piece.rstrip(), font) <= room:
            lines.append(piece)
        else:
            return None
    return [line.rstrip() for line in lines] or [""]


def _cut(text: str, font: FontType, room: float) -> list[str]:
    """At most LABEL_MAX_LINES lines of at most `room` px: wrapped where that fits, else broken anywhere; the last
    line ends in an ellipsis when the text does not fit."""
    lines = _wrap(text, font, room)
    if lines is None:
        lines, rest = [], text
        while rest:
            end = len(rest)
            while end > 1 and _width(rest[:end], font) > room:
                end -= 1
            lines.append(rest[:end].strip())
            rest = rest[end:].lstrip()
    if len(lines) > LABEL_MAX_LINES:
        last = lines[LABEL_MAX_LINES - 1]
        while last and _width(last + "…", font) > room:
            last = last[:-1]
        lines = [*lines[: LABEL_MAX_LINES - 1], last + "…"]
    return lines


def _fit(names: Sequence[str], room: float) -> tuple[int, list[list[str]]]:
    """The largest size at which every name wraps into at most LABEL_MAX_LINES lines; else cut at the floor."""
    for size in LABEL_SIZES:
        font = _font(size)
        wrapped = [_wrap(name, font, room) for name in names]
        if all(lines is not None and len(lines) <= LABEL_MAX_LINES for lines in wrapped):
            return size, [lines for lines in wrapped if lines is not None]
    floor = _font(LABEL_SIZES[-1])
    return LABEL_SIZES[-1], [_cut(name, floor, room) for name in names]


def axis_labels(
    names: Sequence[str], figures: Sequence[str], *, base_width: int = WIDTH, axis_y: int = HEIGHT - MARGIN_BOTTOM
) -> Layout:
    """Where each bar's name and figure go under the axis: centred in the bar's slot, never wider than the slot
    less LABEL_GAP. The slot is at least MIN_SLOT and wide enough for the widest figure; the canvas grows when
    the bars need more room than `base_width` gives."""
    count = max(len(names), 1)
    figure_font = _font(LABEL_SIZES[1])
    widest_figure = max((_width(text, figure_font) for text in figures), default=0)
    plot = base_width - MARGIN_LEFT - MARGIN_RIGHT
    slot = max(plot / count, MIN_SLOT, widest_figure + LABEL_GAP)
    width = max(base_width, math.ceil(MARGIN_LEFT + MARGIN_RIGHT + slot * count))
    size, wrapped = _fit(names, slot - LABEL_GAP)
    labels = []
    for index, (lines, figure) in enumerate(zip(wrapped, figures, strict=True)):
        x = MARGIN_LEFT + slot * (index + 0.5)
        labels.append(_place([*lines, figure], size, x, axis_y + LABEL_TOP_GAP))
    return Layout(width=width, slot=slot, labels=labels)


def _line_sizes(lines: list[str], size: int) -> list[int]:
    """The name's lines in the label size, the figure (the last line) in the figure size."""
    return [size] * (len(lines) - 1) + [LABEL_SIZES[1]]


def _place(lines: list[str], size: int, x: float, top: float) -> Label:
    boxes, y = [], top
    for line, line_size in zip(lines, _line_sizes(lines, size), strict=True):
        boxes.append(_MEASURE.textbbox((x, y), line, font=_font(line_size), anchor="ma"))
        y += line_size + LINE_SPACING
    box = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
    return Label(lines=lines, size=size, x=x, top=top, box=box)


def _draw_labels(draw: ImageDraw.ImageDraw, layout: Layout) -> None:
    for label in layout.labels:
        y = label.top
        for line, line_size in zip(label.lines, _line_sizes(label.lines, label.size), strict=True):
            draw.text((label.x, y), line, fill=INK, font=_font(line_size), anchor="ma")
            y += line_size + LINE_SPACING


# --- drawing ---------------------------------------------------------------------------------------------------


def _canvas(title: str, subtitle: str, width: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", (width, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.text((MARGIN_LEFT, 14), title, fill=INK, font=_font(20))
    draw.text((MARGIN_LEFT, 38), subtitle, fill=INK, font=_font(13))
    return image, draw


def _plot_box(width: int) -> tuple[int, int, int, int]:
    return MARGIN_LEFT, MARGIN_TOP + 10, width - MARGIN_RIGHT, HEIGHT - MARGIN_BOTTOM


def _percent_axis(draw: ImageDraw.ImageDraw, width: int, *, right: bool = False) -> None:
    left, top, right_x, bottom = _plot_box(width)
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


def wijk_layout(groups: Sequence[Group]) -> Layout:
    return axis_labels([g.label for g in groups], [f"{g.numerator}/{g.denominator}" for g in groups])


def compliance_per_wijk(groups: Sequence[Group], subtitle: str) -> bytes:
    """One bar per wijk: the share of controls without a violation; grey when the wijk had no controls."""
    layout = wijk_layout(groups)
    image, draw = _canvas("Naleving per wijk", subtitle, layout.width)
    left, top, _, bottom = _plot_box(layout.width)
    _percent_axis(draw, layout.width)
    for item, label in zip(groups, layout.labels, strict=True):
        x0, x1 = label.x - layout.slot * 0.35, label.x + layout.slot * 0.35
        if item.share is None:
            draw.rectangle((x0, bottom - 2, x1, bottom), fill=EMPTY)
        else:
            bar_top = bottom - (bottom - top) * item.share
            draw.rectangle((x0, bar_top, x1, bottom), fill=BAR)
            draw.text((label.x, bar_top - 4), f"{round(item.share * 100)}%", fill=INK, font=_font(12), anchor="md")
    _draw_labels(draw, layout)
    draw.text(
        (left, HEIGHT - 40),
        "Naleving = beoordeelde controles zonder overtreding / beoordeelde controles",
        fill=INK,
        font=_font(12),
    )
    return _png(image)


def trend_layout(months: Sequence[MonthFigures]) -> Layout:
    names = [f"{MONTHS_NL[int(m.month[5:7]) - 1]} {m.month[2:4]}" for m in months]
    return axis_labels(names, [count_text(m.controls.done.numerator) for m in months])


def trend(months: Sequence[MonthFigures], subtitle: str) -> bytes:
    """Controls done per month (bars, left scale) and compliance (line, right scale in percent)."""
    layout = trend_layout(months)
    image, draw = _canvas("Controles en naleving per maand", subtitle, layout.width)
    left, top, right, bottom = _plot_box(layout.width)
    _percent_axis(draw, layout.width, right=True)
    ticks = count_ticks(max((m.controls.done.numerator for m in months), default=0))
    for value in ticks:
        y = bottom - (bottom - top) * value / ticks[-1]
        draw.line((left, y, right, y), fill=GRID)
        draw.text((left - 8, y), count_text(value), fill=INK, font=_font(12), anchor="rm")
    points = []
    for month, label in zip(months, layout.labels, strict=True):
        x0, x1 = label.x - layout.slot * 0.3, label.x + layout.slot * 0.3
        draw.rectangle((x0, bottom - (bottom - top) * month.controls.done.numerator / ticks[-1], x1, bottom), fill=BAR)
        if month.compliance.share is not None:
            points.append((label.x, bottom - (bottom - top) * month.compliance.share))
    _draw_labels(draw, layout)
    if len(points) > 1:
        draw.line(points, fill=LINE, width=3)
    for x, y in points:
        draw.ellipse((x - 4, y - 4, x + 4, y + 4), fill=LINE)
    draw.rectangle((left, HEIGHT - 42, left + 14, HEIGHT - 28), fill=BAR)
    draw.text((left + 20, HEIGHT - 42), "Beoordeelde controles (links)", fill=INK, font=_font(12))
    draw.ellipse((left + 260, HEIGHT - 40, left + 270, HEIGHT - 30), fill=LINE)
    draw.text((left + 278, HEIGHT - 42), "Naleving (rechts)", fill=INK, font=_font(12))
    return _png(image)
