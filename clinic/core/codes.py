"""Contract codes with readable names, for forms and pages. The names live in clinic/knowledge (one place)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Literal

from clinic.engine import load_knowledge
from clinic.engine.knowledge import normalise_unit
from clinic.engine.units import UnitError, check_plausible, to_si

Group = Literal["findings", "conditions", "medications"]


@dataclass(frozen=True)
class LabProblem:
    kind: Literal["unit", "value"]
    message: str


def _table(group: Group) -> dict[str, str]:
    knowledge = load_knowledge()
    if group == "findings":
        return {code: finding.name for code, finding in knowledge.findings.items()}
    return dict(getattr(knowledge, group))


@cache
def condition_choices() -> list[tuple[str, str]]:
    return sorted(_table("conditions").items(), key=lambda item: item[1].lower())


@cache
def medication_choices() -> list[tuple[str, str]]:
    return sorted(_table("medications").items(), key=lambda item: item[1].lower())


def names(group: Group, codes: Iterable[str]) -> list[str]:
    """Readable names for stored codes; a code the knowledge base no longer knows is shown as it is."""
    table = _table(group)
    return [table.get(code, code) for code in codes]


@cache
def analyte_choices() -> list[tuple[str, str]]:
    return [(code, analyte.name) for code, analyte in load_knowledge().analytes.items()]


def analyte_name(code: str) -> str:
    analyte = load_knowledge().analytes.get(code)
    return analyte.name if analyte else code


@cache
def unit_aliases() -> dict[str, str]:
    """Other spellings of one unit that the knowledge lists ("ug/L" for "µg/L", "× ULN" for "x ULN"), mapped to
    the spelling it lists first: accepted, read as that unit, never offered as a second choice."""
    first: dict[str, str] = {}
    aliases: dict[str, str] = {}
    for analyte in load_knowledge().analytes.values():
        for unit in analyte.units:
            shown = first.setdefault(normalise_unit(unit.unit), unit.unit)
            if shown != unit.unit:
                aliases[unit.unit] = shown
    return aliases


def all_unit_choices() -> list[tuple[str, str]]:
    aliases = unit_aliases()
    seen: dict[str, str] = {}
    for analyte in load_knowledge().analytes.values():
        for unit in analyte.units:
            if unit.unit not in aliases:
                seen.setdefault(unit.unit, unit.unit)
    return list(seen.items())


def lab_problem(analyte: str, value: float, unit: str) -> LabProblem | None:
    """Why a lab value cannot be stored, in words a nurse understands, or None when it is fine."""
    known = load_knowledge().analytes.get(analyte)
    if known is None:
        return LabProblem("value", f"{analyte} is not a test Chairside knows.")
    if normalise_unit(unit) not in known.unit_lookup:
        accepted = ", ".join(dict.fromkeys(u.unit for u in known.units))
        return LabProblem("unit", f"{unit} is not a unit for {known.short}; use {accepted}.")
    try:
        si_value = to_si(analyte, value, unit)
    except UnitError as exc:
        return LabProblem("value", _sentence(str(exc)))
    problem = check_plausible(analyte, si_value, entered_value=value, entered_unit=unit)
    return LabProblem("value", _sentence(problem)) if problem else None


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


# US conventional units per analyte (the first accepted unit is used where an analyte has no US form).
US_UNITS = {
    "magnesium": "mg/dL",
    "calcium_ionised": "mg/dL",
    "calcium_total": "mg/dL",
    "albumin": "g/dL",
    "potassium": "mEq/L",
    "sodium": "mEq/L",
    "phosphate": "mg/dL",
    "bicarbonate": "mEq/L",
    "glucose": "mg/dL",
    "urea": "mg/dL BUN",
    "aluminium": "µg/L",
    "beta2_microglobulin": "mg/L",
}


def preferred_unit(analyte: str, system: str) -> str:
    """The unit to offer first: the SI unit, or the US conventional unit when the patient/unit prefers US."""
    known = load_knowledge().analytes[analyte]
    accepted = [u.unit for u in known.units]
    if system == "US" and US_UNITS.get(analyte) in accepted:
        return US_UNITS[analyte]
    return known.si_unit if known.si_unit in accepted else accepted[0]
