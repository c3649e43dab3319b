"""Server-rendered SVG trend charts (no chart library, no CDN, no inline script or style).

Magnesium, potassium and ionised calcium come from lab results; UF rate, IDWG and cramp severity from the
patient's workups. Reference lines are drawn at the thresholds the rules use, read from the knowledge base."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from clinic.engine import load_knowledge
from clinic.engine.knowledge_types import fmt_number
from clinic.patients.models import LabResult, Patient

WIDTH, HEIGHT, PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 340, 130, 44, 10, 14, 26
TREND_DAYS = 180
LAB_SERIES = (
    ("magnesium", ("mg_low",)),
    ("potassium", ("k_low", "k_high_urgent")),
    ("calcium_ionised", ("ica_critical",)),
)


@dataclass(frozen=True)
class Chart:
    title: str
    unit: str
    points: tuple[tuple[dt.datetime, float], ...]
    svg: SafeString


def _svg(
    title: str, unit: str, points: Sequence[tuple[dt.datetime, float]], lines: Iterable[tuple[str, float]]
) -> SafeString:
    lines = list(lines)
    values = [v for _, v in points] + [v for _, v in lines]
    low, high = min(values), max(values)
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    span = high - low
    low, high = low - span * 0.1, high + span * 0.1
    times = [t.timestamp() for t, _ in points]
    t0, t1 = min(times), max(times)
    if t1 - t0 < 1:
        t0, t1 = t0 - 86400, t1 + 86400
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM

    def x(t: float) -> float:
        return PAD_LEFT + (t - t0) / (t1 - t0) * plot_w

    def y(v: float) -> float:
        return PAD_TOP + (high - v) / (high - low) * plot_h

    parts = [
        f'<svg class="trend" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)} trend" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)} ({escape(unit)})</title>',
        f'<rect x="{PAD_LEFT}" y="{PAD_TOP}" width="{plot_w}" height="{plot_h}" fill="#f8f9fa" stroke="#dee2e6"/>',
    ]
    for label, value in lines:
        if low <= value <= high:
            parts.append(
                f'<line x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                f'stroke="#b02a37" stroke-dasharray="4 3"/><text x="{WIDTH - PAD_RIGHT - 2}" y="{y(value) - 3:.1f}" '
                f'text-anchor="end" font-size="9" fill="#b02a37">{escape(label)}</text>'
            )
    coords = " ".join(f"{x(t.timestamp()):.1f},{y(v):.1f}" for t, v in points)
    parts.append(f'<polyline points="{coords}" fill="none" stroke="#0b4f6c" stroke-width="2"/>')
    for t, v in points:
        parts.append(
            f'<circle cx="{x(t.timestamp()):.1f}" cy="{y(v):.1f}" r="3" fill="#0b4f6c">'
            f"<title>{t:%d %b %Y}: {v:g} {escape(unit)}</title></circle>"
        )
    # Axis labels name results, never the padded ends of the axes: the lowest and the highest result at their own
    # height, and the first and the last date under their own points (one of each when they are the same).
    lowest, highest = min(v for _, v in points), max(v for _, v in points)
    top, bottom = y(highest), y(lowest)
    if 0 < bottom - top < 10:  # two labels this close would overlap: set them apart, the ticks stay exact
        top, bottom = (top + bottom) / 2 - 5, (top + bottom) / 2 + 5
    labels = [(highest, top), (lowest, bottom)] if highest != lowest else [(lowest, top)]
    for value, text_y in labels:
        parts.append(
            f'<text class="axis-value" x="{PAD_LEFT - 4}" y="{text_y + 3:.1f}" text-anchor="end" font-size="9">'
            f"{fmt_number(round(value, 2))}</text>"
            f'<line x1="{PAD_LEFT - 3}" x2="{PAD_LEFT}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#495057"/>'
        )
    first, last = points[0][0], points[-1][0]
    dates = [(first, "start"), (last, "end")] if first.date() != last.date() else [(first, "middle")]
    for when, anchor in dates:
        parts.append(
            f'<text class="axis-date" x="{x(when.timestamp()):.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}" '
            f'font-size="9">{when:%d %b %Y}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every interpolated text is escaped above


def _chart(
    title: str, unit: str, points: list[tuple[dt.datetime, float]], lines: Iterable[tuple[str, float]]
) -> Chart | None:
    if not points:
        return None
    points.sort(key=lambda p: p[0])
    return Chart(title, unit, tuple(points), _svg(title, unit, points, lines))


def trend_charts(patient: Patient, workups: Sequence[object]) -> list[Chart]:
    k = load_knowledge()
    since = timezone.now() - dt.timedelta(days=TREND_DAYS)
    rows = LabResult.objects.filter(
        patient=patient, analyte__in=[code for code, _ in LAB_SERIES], taken_at__gte=since, retracted_at=None
    ).values_list("analyte", "taken_at", "value_si")
    by_analyte: dict[str, list[tuple[dt.datetime, float]]] = {code: [] for code, _ in LAB_SERIES}
    for analyte, taken_at, value in rows:
        by_analyte[analyte].append((taken_at, value))
    charts: list[Chart | None] = []
    for code, threshold_ids in LAB_SERIES:
        analyte = k.analytes[code]
        lines = [(f"{k.t(tid).op} {k.t(tid).value:g}", k.t(tid).value) for tid in threshold_ids]
        charts.append(_chart(analyte.name, analyte.si_unit, by_analyte[code], lines))
    series = (
        ("UF rate", "mL/kg/h", "uf_rate_ml_kg_h", ("ufr_high",)),
        ("IDWG", "% of dry weight", "idwg_percent", ("idwg_counsel",)),
        ("Cramp severity", "0–10", "severity", ()),
    )
    for title, unit, attr, threshold_ids in series:
        points = [
            (w.created_at, float(getattr(w, attr)))  # type: ignore[attr-defined]
            for w in workups
            if getattr(w, attr, None) is not None
        ]
        lines = [(f"{k.t(tid).op} {k.t(tid).value:g}", k.t(tid).value) for tid in threshold_ids]
        charts.append(_chart(title, unit, points, lines))
    return [chart for chart in charts if chart is not None]
