"""FHIR import: one lab Observation -> one LabResult (added, updated, retracted, or refused with the reason).

Never stored: a value with a comparator ("<0.3" is not 0.3), a result dated in the future, a unit that is not a
unit for the analyte, an implausible value. A result the source later marks entered-in-error stays in the
history, marked retracted, and is never the current result again.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from clinic.engine import load_knowledge
from clinic.engine.knowledge import normalise_unit
from clinic.engine.units import UnitError, check_plausible, to_si
from clinic.interop.codes import LOINC, UCUM, canonical_system
from clinic.interop.fhir_parse import LAB_STATUSES, Item, codings, concept_label, parse_fhir_datetime
from clinic.interop.fhir_report import PatientReport
from clinic.patients.models import LabResult, LabSource, Patient

FUTURE_TOLERANCE = dt.timedelta(hours=1)  # clocks drift; a result dated later than this is not a real result


def source_ref(item: Item) -> str:
    """How a re-import recognises the same result: Observation/id, else its identifier, else the fullUrl."""
    if item.id:
        return f"Observation/{item.id}"[:200]
    for identifier in item.data.get("identifier", []) or []:
        if isinstance(identifier, dict) and identifier.get("value"):
            return f"{identifier.get('system', '')}|{identifier['value']}"[:200]
    return item.full_url[:200]


def observation(
    item: Item, patient: Patient, loinc: dict[str, str], user: Any, report: PatientReport, now: dt.datetime
) -> None:
    data = item.data
    analyte = next((loinc[c] for s, c in codings(data.get("code")) if s == LOINC and c in loinc), None)
    label = concept_label(data.get("code"))
    ref = source_ref(item)
    if analyte is None:
        report.skip(label, ref or item.where, "no LOINC code that Chairside reads")
        return
    name = load_knowledge().analytes[analyte].name
    existing = LabResult.objects.filter(patient=patient, source=LabSource.FHIR, source_ref=ref).first() if ref else None
    if data.get("status") == "entered-in-error":
        _retract(existing, name, ref or item.where, report, now)
        return
    quantity = data.get("valueQuantity") or {}
    when = parse_fhir_datetime(
        data.get("effectiveDateTime")
        or data.get("effectiveInstant")
        or (data.get("effectivePeriod") or {}).get("start")
        or data.get("issued")
    )
    unit, value, problem = _value(analyte, quantity)
    if data.get("status") not in LAB_STATUSES:
        problem = f"status is '{data.get('status')}', not final"
    elif not ref:
        problem = "it has no id, identifier or fullUrl, so a re-import could not recognise it"
    elif when is None:
        problem = "no date (effectiveDateTime)"
    elif when > now + FUTURE_TOLERANCE:
        problem = f"it is dated in the future ({when:%Y-%m-%d %H:%M} UTC)"
    if problem is not None:
        comparator = quantity.get("comparator", "")
        shown = f"{comparator}{quantity.get('value', '')} {quantity.get('unit') or quantity.get('code') or ''}"
        report.labs_refused.append(f"{name} {shown.strip()} ({ref or item.where}): {problem}.")
        return
    assert when is not None and value is not None
    if existing is None:
        LabResult(
            patient=patient,
            analyte=analyte,
            value=value,
            unit=unit,
            taken_at=when,
            source=LabSource.FHIR,
            source_ref=ref,
            entered_by=user if getattr(user, "pk", None) else None,
        ).save()
        report.labs_added += 1
    elif (existing.analyte, existing.value, existing.unit, existing.taken_at, existing.retracted_at) != (
        analyte,
        value,
        unit,
        when,
        None,
    ):
        existing.analyte, existing.value, existing.unit, existing.taken_at = analyte, value, unit, when
        existing.retracted_at = None
        existing.save()
        report.labs_updated += 1
    else:
        report.labs_unchanged += 1


def _retract(existing: LabResult | None, name: str, ref: str, report: PatientReport, now: dt.datetime) -> None:
    if existing is None:
        report.skip(name, ref, "entered in error at the source, and never imported")
    elif existing.retracted_at is None:
        existing.retracted_at = now
        existing.save(update_fields=["retracted_at"])
        shown = f"{existing.value.normalize():f} {existing.unit}"
        report.changes.append(
            f"Result retracted: {name} {shown} of {existing.taken_at:%Y-%m-%d} ({ref}) was entered in error at the "
            "source; kept in the history, marked, and no longer the current result."
        )
    else:
        report.labs_unchanged += 1


def _value(analyte: str, quantity: dict[str, Any]) -> tuple[str, Decimal | None, str | None]:
    """(unit, value, problem) of a valueQuantity, with the unit as Chairside stores it."""
    if "value" not in quantity:
        return "", None, "no numeric result (valueQuantity)"
    if quantity.get("comparator"):
        return "", None, f"'{quantity['comparator']}{quantity['value']}' is a bound, not an exact value"
    system = canonical_system(quantity.get("system"))
    unit = str(quantity.get("code") if system == UCUM and quantity.get("code") else quantity.get("unit") or "")
    if system and system != UCUM:
        return unit, None, f"unit system {system} is not UCUM"
    if analyte == "urea" and normalise_unit(unit) == "mg/dl":
        unit = "mg/dL BUN"  # every urea LOINC code Chairside accepts is urea nitrogen (BUN)
    try:
        value = Decimal(str(quantity["value"])).quantize(Decimal("0.001"))
    except InvalidOperation:
        return unit, None, "the value is too large"
    try:
        si = to_si(analyte, float(value), unit)
    except UnitError as exc:
        return unit, None, str(exc)
    problem = check_plausible(analyte, si)
    if problem is None and (len(unit) > 16 or abs(value) >= Decimal(10**7)):
        problem = "value or unit too long to store"
    return unit, value, problem
