from __future__ import annotations

from collections.abc import Iterable

from clinic.patients.models import LabResult


def latest_labs(labs: Iterable[LabResult]) -> list[LabResult]:
    """The most recent result per analyte, from results already ordered newest first."""
    seen: dict[str, LabResult] = {}
    for lab in labs:
        seen.setdefault(lab.analyte, lab)
    return sorted(seen.values(), key=lambda lab: lab.analyte)
