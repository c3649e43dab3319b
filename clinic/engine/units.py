"""Unit conversion, plausibility and low/normal/high classification for lab analytes.

All factors come from ``analytes.toml`` (facts.md §3a). Every rule decides on the SI value.
"""

from __future__ import annotations

import math

from .knowledge import Analyte, Knowledge, fmt_number, load_knowledge, normalise_unit
from .readings import LabValue


class UnitError(ValueError):
    """A value/unit that cannot be used; the message is written for a nurse."""


def _analyte(analyte: str, knowledge: Knowledge | None) -> Analyte:
    k = knowledge or load_knowledge()
    a = k.analytes.get(analyte)
    if a is None:
        raise UnitError(f"'{analyte}' is not a laboratory test Chairside knows")
    return a


def _unit_list(a: Analyte) -> str:
    names: list[str] = []
    for u in a.units:
        if u.unit not in names:
            names.append(u.unit)
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]


def _clean(x: float) -> float:
    """Remove binary float noise (0.7000000000000001 -> 0.7) without clinical rounding."""
    return round(x, 9)


def to_si(analyte: str, value: float, unit: str, knowledge: Knowledge | None = None) -> float:
    """Convert ``value`` in ``unit`` to the analyte's SI unit. Raises UnitError with a nurse-readable message."""
    a = _analyte(analyte, knowledge)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UnitError(f"the {a.short} value must be a number")
    u = a.unit_lookup.get(normalise_unit(unit)) if isinstance(unit, str) else None
    if u is None:
        shown = unit if isinstance(unit, str) and unit.strip() else "an empty unit"
        raise UnitError(f"{shown} is not a unit for {a.short}; use {_unit_list(a)}")
    return _clean(value * u.to_si)


def from_si(analyte: str, si_value: float, unit: str, knowledge: Knowledge | None = None) -> float:
    a = _analyte(analyte, knowledge)
    u = a.unit_lookup.get(normalise_unit(unit))
    if u is None:
        raise UnitError(f"{unit} is not a unit for {a.short}; use {_unit_list(a)}")
    return _clean(si_value * u.from_si)


def convert(analyte: str, value: float, from_unit: str, to_unit: str, knowledge: Knowledge | None = None) -> float:
    """Convert between any two accepted units of an analyte (via SI, using the exact facts.md factors)."""
    if normalise_unit(from_unit) == normalise_unit(to_unit):
        _analyte(analyte, knowledge)  # still validates the analyte and unit
        to_si(analyte, value, from_unit, knowledge)
        return float(value)
    si = to_si(analyte, value, from_unit, knowledge)
    a = _analyte(analyte, knowledge)
    if normalise_unit(to_unit) == normalise_unit(a.si_unit):
        return si
    return from_si(analyte, si, to_unit, knowledge)


def check_plausible(
    analyte: str,
    si_value: float,
    knowledge: Knowledge | None = None,
    *,
    entered_value: float | None = None,
    entered_unit: str | None = None,
) -> str | None:
    """Return a nurse-readable problem if the SI value is impossible in a living patient, else None.

    With the value and unit as entered, the message also suggests the unit the number probably was in.
    """
    a = _analyte(analyte, knowledge)
    if si_value < 0:
        return f"{a.short} cannot be negative; check the value"
    if not (a.plausible_min <= si_value <= a.plausible_max):
        hint = ""
        if entered_value is not None and entered_unit is not None:
            hint = unit_hint(a, entered_value, entered_unit)
        return (
            f"{a.short} {fmt_number(si_value)} {a.si_unit} is not possible in a living patient; "
            f"check the value and the unit (accepted range {fmt_number(a.plausible_min)}–"
            f"{fmt_number(a.plausible_max)} {a.si_unit}){hint}"
        )
    return None


def unit_hint(a: Analyte, value: float, unit: str) -> str:
    """'; did you mean mg/dL (= 0.80 mmol/L)?' when the number is impossible in ``unit`` but possible in another
    accepted unit of the analyte (ionised calcium 3.2 "mmol/L" is a mg/dL value). Empty when no unit fits."""
    entered = normalise_unit(unit)
    seen: set[str] = {entered}
    options: list[str] = []
    for u in a.units:
        key = normalise_unit(u.unit)
        if key in seen or u.to_si == a.unit_lookup.get(entered, u).to_si:
            continue
        seen.add(key)
        si = _clean(value * u.to_si)
        if a.plausible_min <= si <= a.plausible_max:
            options.append(f"{u.unit} (= {round_si(a, si):.{a.decimals}f} {a.si_unit})")
    return f"; did you mean {' or '.join(options)}?" if options else ""


def classify(
    analyte: str,
    si_value: float | None,
    knowledge: Knowledge | None = None,
    *,
    entered_value: float | None = None,
    entered_unit: str | None = None,
) -> str | None:
    """Badge for display: "low" | "normal" | "high", or None (no value / no reference range).

    low if value < reference_low; high if value > reference_high (>= when high_inclusive). A value entered in
    another unit is compared on that unit's reference range as facts.md states it (``reference_in``), exactly as
    the decision thresholds are (readings.py), so a badge never contradicts a decision: Mg 1.7 mg/dL is "normal"
    and not "< 0.70 mmol/L". Pass a ``LabValue`` or the value and unit as entered. Information only; decisions
    use thresholds.toml / policy.toml (integrity.py checks that the two agree).
    """
    if si_value is None:
        return None
    a = _analyte(analyte, knowledge)
    low, high, x = a.reference_low, a.reference_high, float(si_value)
    unit_key = None
    if isinstance(si_value, LabValue):
        unit_key, value = si_value.primary.unit_key, si_value.primary.value
    elif entered_value is not None and entered_unit is not None:
        unit_key, value = normalise_unit(entered_unit), float(entered_value)
    if unit_key is not None and unit_key in a.reference_in:
        (low, high), x = a.reference_in[unit_key], value
    if low is None and high is None:
        return None
    if low is not None and x < low:
        return "low"
    if high is not None and (x >= high if a.high_inclusive else x > high):
        return "high"
    return "normal"


def format_si(analyte: str, si_value: float, knowledge: Knowledge | None = None) -> str:
    """'0.49 mmol/L' with the analyte's display precision."""
    a = _analyte(analyte, knowledge)
    return f"{round_si(a, si_value):.{a.decimals}f} {a.si_unit}"


def round_si(a: Analyte, si_value: float) -> float:
    return round(si_value, a.decimals)
