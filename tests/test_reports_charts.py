"""The charts' readability: whole-number count ticks at any scale, and labels under the bars that never overlap
and never leave the image, whatever the number of bars and the length of their names. Every chart drawn here is
also written to tests/output/ to be looked at."""

from __future__ import annotations

import io
import itertools
import math
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

from backend.reports import charts, routes, service
from backend.reports.models import Controls, Filters, Group, MonthFigures
from backend.reports.service import figure

OUTPUT = Path(__file__).parent / "output"
UTRECHT_WIJKEN = [
    "Binnenstad",
    "Oost",
    "Leidsche Rijn",
    "West",
    "Overvecht",
    "Zuid",
    "Noordoost",
    "Zuidwest",
    "Noordwest",
    "Vleuten-De Meern",
]
LONG_NAMES = [
    "Vleuten-De Meern",
    "Een heel lange wijknaam met veel woorden erin",
    "Zuilen-Ondiep-Pijlsweerd-Noord",
    "Supercalifragilisticexpialidocious" * 3,
    "X",
    "Kanaleneiland",
    "Lunetten-Hoograven-Tolsteeg",
]


def _save(name: str, png: bytes) -> Image.Image:
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / name).write_bytes(png)
    return Image.open(io.BytesIO(png))


def _groups(names: list[str]) -> list[Group]:
    return [
        Group(
            key=f"w{i}",
            label=name,
            numerator=i % 4,
            denominator=(i % 4) + i % 3,
            share=(i % 4) / ((i % 4) + i % 3) if (i % 4) + i % 3 else None,
        )
        for i, name in enumerate(names)
    ]


def _months(done: list[int]) -> list[MonthFigures]:
    def controls(n: int) -> Controls:
        return Controls(
            done=figure(n, n),
            vergunningcontroles=figure(0, n),
            following_complaint=figure(0, n),
            hercontroles=figure(0, n),
        )

    return [
        MonthFigures(
            month=f"{2025 + i // 12}-{i % 12 + 1:02d}",
            controls=controls(n),
            compliance=figure(n // 2, n),
            nix18=None,
            violations=figure(n - n // 2, n),
            sanctions=None,
            complaints=None,
        )
        for i, n in enumerate(done)
    ]


@pytest.mark.parametrize("highest", [0, 1, 3, 7, 12, 999, 123456])
def test_count_ticks_are_whole_nice_numbers_each_once(highest):
    ticks = charts.count_ticks(highest)
    assert all(isinstance(t, int) for t in ticks)
    assert ticks[0] == 0 and ticks[-1] >= max(highest, 1)
    steps = {b - a for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1, ticks  # evenly spaced, so no count repeats or is skipped
    step = steps.pop()
    magnitude = 10 ** int(math.log10(step))
    assert step // magnitude in (1, 2, 5) and step % magnitude == 0, step
    assert len(ticks) <= charts.MAX_COUNT_TICKS
    assert ticks[-1] - step < max(highest, 1)  # the axis stops at the first tick that holds the highest count


def test_small_counts_get_a_tick_for_each_count():
    assert charts.count_ticks(5) == [0, 1, 2, 3, 4, 5]
    assert charts.count_ticks(123456) == [0, 50_000, 100_000, 150_000]
    assert charts.count_text(150_000) == "150.000"


def _assert_readable(layout: charts.Layout, count: int) -> None:
    assert len(layout.labels) == count
    for label in layout.labels:
        left, top, right, bottom = label.box
        assert left >= 0 and right <= layout.width, label
        assert top > charts.HEIGHT - charts.MARGIN_BOTTOM and bottom < charts.HEIGHT - 42, label  # above the legend
        assert label.size >= charts.LABEL_SIZES[-1]
    for a, b in itertools.combinations(layout.labels, 2):
        apart = a.box[2] <= b.box[0] or b.box[2] <= a.box[0] or a.box[3] <= b.box[1] or b.box[3] <= a.box[1]
        assert apart, (a, b)


def test_the_ten_utrecht_wijken_get_whole_labels_that_do_not_overlap():
    groups = _groups(UTRECHT_WIJKEN)
    layout = charts.wijk_layout(groups)
    _assert_readable(layout, 10)
    assert layout.width == charts.WIDTH
    for group, label in zip(groups, layout.labels, strict=True):
        assert " ".join(label.lines[:-1]).replace("- ", "-") == group.label  # wrapped, nothing cut
        assert label.lines[-1] == f"{group.numerator}/{group.denominator}"
    image = _save("wijken-utrecht.png", charts.compliance_per_wijk(groups, "2025-01-01 t/m 2025-06-30"))
    assert image.size == (charts.WIDTH, charts.HEIGHT)


@pytest.mark.parametrize("count", [1, 7, 25, 60])
def test_long_and_many_labels_never_overlap_or_leave_the_image(count):
    names = [LONG_NAMES[i % len(LONG_NAMES)] for i in range(count)]
    groups = _groups(names)
    layout = charts.wijk_layout(groups)
    _assert_readable(layout, count)
    image = _save(f"wijken-lang-{count}.png", charts.compliance_per_wijk(groups, "lange namen"))
    assert image.size == (layout.width, charts.HEIGHT)


@pytest.mark.parametrize(
    "done", [[1, 0, 2, 5, 3, 1, 0, 0, 4, 2, 1, 0], [0] * 12, [(i * 3457) % 123_456 for i in range(36)]]
)
def test_trend_month_labels_do_not_overlap(done):
    months = _months(done)
    layout = charts.trend_layout(months)
    _assert_readable(layout, len(done))
    assert [label.lines[-1] for label in layout.labels] == [charts.count_text(n) for n in done]
    image = _save(f"trend-{len(done)}-max-{max(done)}.png", charts.trend(months, "trend"))
    assert image.size == (layout.width, charts.HEIGHT)


def test_a_chart_without_bars_is_still_drawn():
    layout = charts.wijk_layout([])
    assert layout.labels == [] and layout.width == charts.WIDTH
    _save("wijken-leeg.png", charts.compliance_per_wijk([], "geen wijken"))
    _save("trend-leeg.png", charts.trend([], "geen maanden"))


def test_a_charts_subtitle_names_the_period_and_regime_as_a_dutch_reader_writes_them():
    period = service.period_of(date(2026, 1, 1), date(2026, 12, 5))
    plain = service.Request(period, Filters())
    assert routes._subtitle(plain) == "1 januari 2026 t/m 5 december 2026"
    filtered = service.Request(period, Filters(regime="alcohol", wijk="west", team="team-west"))
    assert routes._subtitle(filtered) == "1 januari 2026 t/m 5 december 2026, Alcoholwet, wijk west, team team-west"
