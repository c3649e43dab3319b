"""The low/normal/high badge on the patient page and in the wizard's lab preview is decided on the number as
entered, like the rules (issue 17 point 8): Mg 1.7 mg/dL and glucose 70 mg/dL sit exactly at their limits."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from clinic.engine.units import to_si
from clinic.patients.models import LabResult
from clinic.patients.services import lab_row
from clinic.workups.presenters import lab_preview

CASES = [
    ("magnesium", "1.7", "mg/dL", "normal"),
    ("magnesium", "1.69", "mg/dL", "low"),
    ("magnesium", "1.4", "mEq/L", "normal"),
    ("glucose", "70", "mg/dL", "normal"),
    ("glucose", "69.9", "mg/dL", "low"),
    ("phosphate", "2.5", "mg/dL", "normal"),
    ("calcium_ionised", "4.61", "mg/dL", "normal"),
    ("calcium_ionised", "4.6", "mg/dL", "low"),
]


@pytest.mark.parametrize(("analyte", "value", "unit", "badge"), CASES)
def test_patient_page_badge_uses_the_entered_unit(analyte: str, value: str, unit: str, badge: str) -> None:
    lab = LabResult(
        analyte=analyte,
        value=Decimal(value),
        unit=unit,
        value_si=to_si(analyte, float(value), unit),
        taken_at=dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC),
    )
    assert lab_row(lab).badge == badge


@pytest.mark.parametrize(("analyte", "value", "unit", "badge"), CASES)
def test_wizard_lab_preview_badge_uses_the_entered_unit(analyte: str, value: str, unit: str, badge: str) -> None:
    assert lab_preview(analyte, value, unit).badge == badge
