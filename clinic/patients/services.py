"""Read-side helpers for patient pages: lab rows ready to show, without extra queries."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone

from clinic.core import codes
from clinic.engine.units import classify, format_si
from clinic.patients.models import LabResult


@dataclass(frozen=True)
class LabRow:
    lab: LabResult
    name: str
    as_entered: str
    si_text: str
    badge: str | None  # "low" | "normal" | "high" | None (no reference range)
    taken_text: str  # "3 Nov 2026 14:05" in the server's time zone (Django's "j M Y H:i", without its cost)


def short_datetime(moment: datetime.datetime) -> str:
    local = timezone.localtime(moment) if timezone.is_aware(moment) else moment
    return f"{local.day} {local:%b %Y %H:%M}"  # %b as in clinic/printing/context.py (the server's C locale)


def lab_row(lab: LabResult) -> LabRow:
    return LabRow(
        lab=lab,
        name=codes.analyte_name(lab.analyte),
        as_entered=f"{lab.value.normalize():f} {lab.unit}",
        si_text=format_si(lab.analyte, lab.value_si),
        # on the number as entered (Mg 1.7 mg/dL is at the 1.7 mg/dL limit, not below 0.70 mmol/L), as the rules
        badge=classify(lab.analyte, lab.value_si, entered_value=float(lab.value), entered_unit=lab.unit),
        taken_text=short_datetime(lab.taken_at),
    )


def lab_rows(labs: Iterable[LabResult]) -> list[LabRow]:
    return [lab_row(lab) for lab in labs]


def latest_labs(labs: Iterable[LabResult]) -> list[LabRow]:
    """The most recent result per analyte, from results already ordered newest first. A retracted result (entered
    in error at its source) stays in the history but is never the current one."""
    seen: dict[str, LabResult] = {}
    for lab in labs:
        if lab.retracted_at is None:
            seen.setdefault(lab.analyte, lab)
    return sorted(lab_rows(seen.values()), key=lambda row: row.name)
