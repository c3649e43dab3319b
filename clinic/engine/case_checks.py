"""Checks of a case beyond one field: fields that contradict each other, and lab entries (unit conversion to SI
and physiological plausibility)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .case_fields import LAB_KEYS
from .contract import LAB_WHEN
from .field_checks import (
    NOT_FINITE,
    ErrorCollector,
    comma_list,
    did_you_mean,
    is_finite,
    is_number,
    short_text,
    typename,
    unknown_keys,
)
from .knowledge import Knowledge, fmt_number, normalise_unit
from .types import Lab
from .units import UnitError, check_plausible, to_si, unit_hint

_TIMING_LABELS = {
    "during_dialysis": "during dialysis",
    "after_dialysis": "after dialysis",
    "between_sessions": "between sessions",
}


def cross_checks(p: dict[str, Any], e: dict[str, Any], d: dict[str, Any], k: Knowledge, c: ErrorCollector) -> None:
    """Fields that are each possible but contradict each other: refused, naming the field to correct.

    A contradiction would otherwise silently drop part of the plan (the acute step needs "during dialysis").
    """
    timing: str | None = e.get("timing")
    said = f"the timing '{_TIMING_LABELS.get(timing or '', timing)}'"
    if e.get("ongoing") is True and timing == "between_sessions":
        c.add(
            "episode.ongoing",
            f"'ongoing in the chair' contradicts {said}; if the patient is on dialysis now, set timing to "
            "during dialysis, otherwise answer no",
        )
    minutes = e.get("minutes_into_session")
    if minutes is not None and timing in ("after_dialysis", "between_sessions"):
        c.add(
            "episode.minutes_into_session",
            f"{fmt_number(minutes)} minutes into the session contradicts {said}; clear it or set timing to "
            "during dialysis",
        )
    if e.get("hours_after_dialysis") is not None and timing == "during_dialysis":
        c.add(
            "episode.hours_after_dialysis",
            f"hours after dialysis contradicts {said}; clear it or set timing to after dialysis",
        )
    session = d.get("session_minutes")
    if minutes is not None and session is not None and timing == "during_dialysis" and minutes > session:
        c.add(
            "episode.minutes_into_session",
            f"{fmt_number(minutes)} minutes into the session is longer than the {fmt_number(session)}-minute "
            "session; check both",
        )

    vintage, sessions = p.get("dialysis_vintage_months"), p.get("sessions_completed")
    if vintage is not None and sessions is not None:
        fewest = math.floor(max(0.0, vintage - 1) * k.value("sessions_per_month_min"))
        most = math.ceil((vintage + 1) * k.value("sessions_per_month_max"))
        if sessions < fewest or sessions > most:
            c.add(
                "patient.sessions_completed",
                f"{sessions} sessions completed does not fit {fmt_number(vintage)} months on dialysis (expected "
                f"{fewest}–{most}); check the sessions completed and the time on dialysis",
            )

    gap = k.t("weight_gap_typo_kg")
    target = d.get("target_weight_kg")
    reference = ("target weight", target) if target is not None else ("dry weight", p.get("dry_weight_kg"))
    pairs = [
        ("dialysis.pre_weight_kg", "pre-dialysis weight", d.get("pre_weight_kg"), *reference),
        (
            "dialysis.previous_post_weight_kg",
            "previous post-dialysis weight",
            d.get("previous_post_weight_kg"),
            *reference,
        ),
        (
            "dialysis.pre_weight_kg",
            "pre-dialysis weight",
            d.get("pre_weight_kg"),
            "previous post-dialysis weight",
            d.get("previous_post_weight_kg"),
        ),
        ("dialysis.target_weight_kg", "target weight", target, "dry weight", p.get("dry_weight_kg")),
    ]
    flagged: set[str] = set()
    for field_name, label, value, other_label, other in pairs:
        if value is None or other is None or field_name in flagged or not gap.hit(round(abs(value - other), 9)):
            continue  # round(.., 9): 64.6612 - 57.6612 is 7.000000000000001 in binary floating point
        flagged.add(field_name)
        c.add(
            field_name,
            f"{label} {fmt_number(value)} kg is {fmt_number(round(abs(value - other), 1))} kg from the "
            f"{other_label} {fmt_number(other)} kg (more than {fmt_number(gap.value)} kg): probably a typo; check "
            "both weights",
        )


def check_lab(entry: object, i: int, k: Knowledge, c: ErrorCollector) -> Lab | None:
    path = f"labs[{i}]"
    if not isinstance(entry, Mapping):
        c.add(path, f"each lab must be an object with analyte, value and unit, not {typename(entry)}")
        return None
    before = len(c.errors)
    unknown_keys(entry, LAB_KEYS, path, c, "lab field")
    analyte = entry.get("analyte")
    a = k.analytes.get(analyte) if isinstance(analyte, str) else None
    if analyte is None:
        c.add(f"{path}.analyte", "analyte is required")
    elif a is None:
        c.add(
            f"{path}.analyte",
            f"'{short_text(analyte)}' is not a lab test Chairside knows"
            + (did_you_mean(analyte, list(k.analytes)) if isinstance(analyte, str) else ""),
        )
    when = entry.get("when")
    if when is not None and when not in LAB_WHEN:
        c.add(f"{path}.when", f"'{short_text(when)}' is not valid; use one of: {comma_list(LAB_WHEN)}")
    value = entry.get("value")
    if value is None:
        c.add(f"{path}.value", "value is required")
    elif not is_number(value):
        c.add(f"{path}.value", f"value must be a number, not {typename(value)}")
        value = None
    elif not is_finite(value):
        c.add(f"{path}.value", f"value {NOT_FINITE}")
        value = None
    unit = entry.get("unit")
    if a is not None and unit is None:
        if len({normalise_unit(u.unit) for u in a.units}) == 1:
            unit = a.si_unit  # only one possible unit (e.g. QTc in ms)
        else:
            c.add(f"{path}.unit", f"unit is required for {a.short}; use {_units(a)}")
    elif unit is not None and not isinstance(unit, str):
        c.add(f"{path}.unit", f"unit must be text, not {typename(unit)}")
        unit = None
    if a is None or value is None or unit is None or len(c.errors) > before:
        return None
    try:
        si = to_si(a.code, float(value), unit, k)
    except UnitError as exc:
        c.add(f"{path}.unit", str(exc))
        return None
    if value < 0:
        c.add(f"{path}.value", f"{a.short} cannot be negative; check the value")
        return None
    problem = check_plausible(a.code, si, k)
    if problem is not None:
        entered = f"{fmt_number(float(value))} {unit.strip()}"
        c.add(
            f"{path}.value",
            f"{a.short} {entered} is not possible in a living patient; check the value and the unit "
            f"(possible range {fmt_number(a.plausible_min)}–{fmt_number(a.plausible_max)} {a.si_unit})"
            + unit_hint(a, float(value), unit),
        )
        return None
    canonical = a.unit_lookup[normalise_unit(unit)].unit
    return Lab(analyte=a.code, value=float(value), unit=canonical, si_value=si, when=when)


def _units(a: Any) -> str:
    names: list[str] = []
    for u in a.units:
        if u.unit not in names:
            names.append(u.unit)
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
