"""The indicators as CSV for spreadsheets: one row per figure, Dutch column headers, semicolon-separated with a
decimal comma (what Excel expects in a Dutch locale)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from backend.reports.models import (
    Complaints,
    Figure,
    IndicatorReport,
    Money,
    Sanctions,
    TrendReport,
    ViolationFigure,
)
from backend.reports.service import ViolationText

HEADER = (
    "Indicator",
    "Onderverdeling",
    "Teller",
    "Noemer",
    "Percentage",
    "Waarde",
    "Bedrag (euro)",
    "Van",
    "Tot en met",
)
SANCTION_LABELS = {
    "warnings": "Waarschuwingen",
    "fines": "Bestuurlijke boetes",
    "lasten_onder_dwangsom": "Lasten onder dwangsom",
    "lasten_onder_bestuursdwang": "Lasten onder bestuursdwang",
    "forfeited_dwangsommen": "Verbeurde dwangsommen",
    "suspensions": "Schorsingen",
    "withdrawals": "Intrekkingen",
    "bans_19a": "Ontzeggingen art. 19a Alcoholwet",
    "closures_13b": "Sluitingen art. 13b Opiumwet",
}
# (indicator, breakdown, figure, value): the value is the number of violations of a code, or a median.
Row = tuple[str, str, Figure, str | None]


def _number(value: float | None, decimals: int) -> str:
    return "" if value is None else f"{value:.{decimals}f}".replace(".", ",")


def _line(row: Row, start: str, end: str) -> list[str]:
    indicator, part, fig, count = row
    amount = _number(fig.amount_cents / 100, 2) if isinstance(fig, Money) else ""
    percent = None if fig.share is None else fig.share * 100
    return [
        indicator,
        part,
        str(fig.numerator),
        str(fig.denominator),
        _number(percent, 1),
        count or "",
        amount,
        start,
        end,
    ]


def _sanctions(s: Sanctions) -> Iterator[Row]:
    for field, label in SANCTION_LABELS.items():
        yield label, "Totaal", getattr(s, field), None


def _complaints(c: Complaints) -> Iterator[Row]:
    yield "Klachten ontvangen", "Totaal", c.received, None
    yield "Klachten gevolgd door een controle", "Totaal", c.followed_by_inspection, None
    yield "Klachten binnen de termijn afgehandeld", "Totaal", c.resolved_within_deadline, None
    median = c.median_handling_working_days
    # Teller and Noemer: the resolved complaints the median is taken over.
    yield (
        "Mediane afhandeltijd klachten (werkdagen)",
        "Totaal",
        Figure(numerator=median.count, denominator=median.count, share=None),
        _number(median.value, 1),
    )


def _violation(v: ViolationFigure, texts: dict[str, ViolationText]) -> str:
    """ "Alcohol verstrekt zonder vaststelling van de leeftijd (Alcoholwet art. 20 lid 1; AW-20-1-...)": the
    checklist's Dutch description and current article; the stored article for a code no checklist has now."""
    text = texts.get(v.code)
    if text is None:
        return f"{v.code} ({v.article})"
    return f"{text.description} ({text.article or v.article}; {v.code})"


def _report_rows(r: IndicatorReport, texts: dict[str, ViolationText]) -> Iterator[Row]:
    yield "Controles uitgevoerd (beoordeeld)", "Totaal", r.controls.done, None
    yield "Vergunningcontroles", "Totaal", r.controls.vergunningcontroles, None
    yield "Controles naar aanleiding van een klacht", "Totaal", r.controls.following_complaint, None
    yield "Hercontroles", "Totaal", r.controls.hercontroles, None
    yield "Naleving", "Totaal", r.compliance.overall, None
    for prefix, groups in (
        ("Regime", r.compliance.per_regime),
        ("Soort object", r.compliance.per_object_kind),
        ("Wijk", r.compliance.per_wijk),
    ):
        for g in groups:
            yield "Naleving", f"{prefix}: {g.label}", g, None
    if r.nix18 is not None:
        yield "NIX18-nalevingscijfer", "Totaal", r.nix18.overall, None
        for g in r.nix18.per_channel:
            yield "NIX18-nalevingscijfer", f"Verkoopkanaal: {g.label}", g, None
    for v in r.violations:
        yield "Overtredingen per code", _violation(v, texts), v, str(v.violations)
    if r.sanctions is not None:
        yield from _sanctions(r.sanctions)
    if r.complaints is not None:
        yield from _complaints(r.complaints)
    if r.objects is not None:
        yield "Objecten onder verscherpt toezicht", f"Peildatum {r.objects.reference_date}", r.objects.verscherpt, None
        yield "Objecten achter op hun controlecyclus", "Totaal", r.objects.overdue, None
        for g in r.objects.overdue_per_rule:
            yield "Objecten achter op hun controlecyclus", g.label, g, None


def indicators_csv(report: IndicatorReport, texts: dict[str, ViolationText]) -> str:
    """The report's rows; `texts` (service.violation_texts) describe the violation codes in Dutch."""
    start, end = report.period.from_.isoformat(), report.period.to.isoformat()
    return _write(_line(row, start, end) for row in _report_rows(report, texts))


def trend_csv(report: TrendReport) -> str:
    def rows() -> Iterator[list[str]]:
        for month in report.months:
            part = f"Maand {month.month}"
            figures: list[tuple[str, Any]] = [
                ("Controles uitgevoerd (beoordeeld)", month.controls.done),
                ("Vergunningcontroles", month.controls.vergunningcontroles),
                ("Controles naar aanleiding van een klacht", month.controls.following_complaint),
                ("Hercontroles", month.controls.hercontroles),
                ("Naleving", month.compliance),
                ("Controles met een overtreding", month.violations),
            ]
            if month.nix18 is not None:
                figures.append(("NIX18-nalevingscijfer", month.nix18))
            start, end = report.period.from_.isoformat(), report.period.to.isoformat()
            for label, fig in figures:
                yield _line((label, part, fig, None), start, end)
            if month.sanctions is not None:
                for label, _, fig, count in _sanctions(month.sanctions):
                    yield _line((label, part, fig, count), start, end)
            if month.complaints is not None:
                for label, _, fig, count in _complaints(month.complaints):
                    yield _line((label, part, fig, count), start, end)

    return _write(rows())


def _write(lines: Any) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(lines)
    return out.getvalue()
