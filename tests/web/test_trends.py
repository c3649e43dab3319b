"""The patient page's trend charts: the axes are labelled with results, never with the padded ends of the axes
(a lowest value of 3.9 is labelled 3.9, not 3.6), and a single result has one date under it, not one at each end."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.utils import timezone

from clinic.accounts.models import Unit
from clinic.patients.models import LabResult, Patient
from clinic.patients.trends import HEIGHT, trend_charts

pytestmark = pytest.mark.django_db


def _value_labels(svg: str) -> list[tuple[float, str]]:
    """(y, text) of each label of the value axis."""
    found = re.findall(r'<text class="axis-value" x="[\d.]+" y="([\d.]+)"[^>]*>([^<]+)</text>', svg)
    return [(float(y), text) for y, text in found]


def _date_labels(svg: str) -> list[tuple[float, str]]:
    """(x, text) of each label of the time axis."""
    return [
        (float(x), text) for x, text in re.findall(r'<text class="axis-date" x="([\d.]+)"[^>]*>([^<]+)</text>', svg)
    ]


def _lab(patient: Patient, analyte: str, value: str, days: int) -> None:
    LabResult.objects.create(
        patient=patient,
        analyte=analyte,
        value=Decimal(value),
        unit="mmol/L",
        value_si=float(value),
        taken_at=timezone.now() - dt.timedelta(days=days),
    )


def _circles(svg: str) -> list[tuple[float, float]]:
    return [(float(cx), float(cy)) for cx, cy in re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)"', svg)]


def test_value_axis_names_the_lowest_and_highest_result_at_their_height(
    unit_a: Unit, make_patient: Callable[..., Patient]
) -> None:
    patient = make_patient(unit_a)
    for value, days in (("3.9", 90), ("5.6", 40), ("4.8", 3)):
        _lab(patient, "potassium", value, days)
    chart = next(c for c in trend_charts(patient, []) if c.title == "Potassium")
    labels = _value_labels(chart.svg)
    assert [text for _, text in labels] == ["5.6", "3.9"]
    heights = {v: cy for (_, cy), (_, v) in zip(_circles(chart.svg), chart.points, strict=True)}
    for label_y, text in labels:  # the label sits beside its own result (text baseline 3 px below the point)
        assert abs(label_y - 3 - heights[float(text)]) < 0.2, (text, label_y, heights)
    dates = _date_labels(chart.svg)
    assert len(dates) == 2
    assert dates[0][0] == pytest.approx(_circles(chart.svg)[0][0], abs=0.1)
    assert dates[1][0] == pytest.approx(_circles(chart.svg)[-1][0], abs=0.1)


def test_a_single_result_has_one_value_and_one_date_under_its_point(
    unit_a: Unit, make_patient: Callable[..., Patient]
) -> None:
    patient = make_patient(unit_a)
    _lab(patient, "magnesium", "0.62", 5)
    chart = next(c for c in trend_charts(patient, []) if c.title == "Magnesium")
    assert [text for _, text in _value_labels(chart.svg)] == ["0.62"]
    ((date_x, date_text),) = _date_labels(chart.svg)
    ((cx, _cy),) = _circles(chart.svg)
    assert date_x == pytest.approx(cx, abs=0.1) and date_text.endswith(
        str((timezone.now() - dt.timedelta(days=5)).year)
    )
    assert 'text-anchor="middle"' in chart.svg and f'y="{HEIGHT - 8}"' in chart.svg
