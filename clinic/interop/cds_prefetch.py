"""What a CDS Hooks request brings: the prefetched FHIR resources (patient, conditions, active medication orders,
recent lab observations) read into an engine case, plus the orders each medicine came from and the medicines
that could not be mapped. Units are never guessed and nothing is fetched from the EHR's FHIR server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from clinic.engine.knowledge import normalise_unit
from clinic.engine.units import UnitError, check_plausible, to_si
from clinic.interop import conf
from clinic.interop.codes import LOINC, RXNORM, UCUM, code_tables
from clinic.interop.fhir_import import CURRENT_CLINICAL, parse_fhir_datetime


class CdsRequestError(ValueError):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def resources(value: Any, rtype: str) -> list[dict[str, Any]]:
    """Resources of one type from a prefetch value (a searchset Bundle, one resource, or null)."""
    if value is None:
        return []
    if not isinstance(value, dict):
        raise CdsRequestError(f"prefetch value for {rtype} must be a FHIR resource or Bundle")
    if value.get("resourceType") == "Bundle":
        return [
            e["resource"]
            for e in value.get("entry", []) or []
            if isinstance(e, dict)
            and isinstance(e.get("resource"), dict)
            and e["resource"].get("resourceType") == rtype
        ]
    return [value] if value.get("resourceType") == rtype else []


def _codings(concept: Any) -> list[tuple[Any, Any]]:
    if not isinstance(concept, dict):
        return []
    return [(c.get("system"), c.get("code")) for c in concept.get("coding", []) if isinstance(c, dict)]


@dataclass
class PatientData:
    case: dict[str, Any]
    orders: dict[str, list[str]] = field(default_factory=dict)  # medication code -> MedicationRequest ids
    unmapped: list[str] = field(default_factory=list)
    sent: bool = True


def _age(birth: Any) -> int | None:
    if not isinstance(birth, str) or len(birth) < 10:
        return None
    try:
        born = dt.date.fromisoformat(birth[:10])
    except ValueError:
        return None
    today = timezone.now().date()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def patient_data(prefetch: dict[str, Any]) -> PatientData:
    tables = code_tables()
    case: dict[str, Any] = {"schema": "chairside.case/1", "patient": {}}
    patients = resources(prefetch.get("patient"), "Patient")
    if patients:
        age = _age(patients[0].get("birthDate"))
        if age is not None:
            case["patient"]["age_years"] = age
        if patients[0].get("gender") in ("female", "male", "other", "unknown"):
            case["patient"]["sex"] = patients[0]["gender"]
    if "conditions" in prefetch:
        found: set[str] = set()
        for cond in resources(prefetch.get("conditions"), "Condition"):
            status = {c for _, c in _codings(cond.get("clinicalStatus"))}
            if status and not status & CURRENT_CLINICAL:
                continue
            codings = _codings(cond.get("code"))
            if any(tables.diabetes.matches(s, c) for s, c in codings):
                case["patient"]["diabetes"] = True
            onset = parse_fhir_datetime(cond.get("onsetDateTime"))
            found |= tables.condition_codes(codings, onset.date() if onset else None)
        case["patient"]["conditions"] = sorted(found)
    data = PatientData(case)
    meds: set[str] = set()
    for order in resources(prefetch.get("medications"), "MedicationRequest"):
        if order.get("status") not in ("active", "on-hold"):
            continue
        med = medication_code(order)
        if med is None:
            data.unmapped.append(order_label(order))
            continue
        meds.add(med)
        if order.get("id"):
            data.orders.setdefault(med, []).append(f"MedicationRequest/{order['id']}")
    if meds:
        case["medications"] = sorted(meds)
    labs = latest_labs(resources(prefetch.get("observations"), "Observation"))
    if labs:
        case["labs"] = labs
    return data


def medication_code(order: dict[str, Any]) -> str | None:
    rxnorm = code_tables().rxnorm
    for system, code in _codings(order.get("medicationCodeableConcept")):
        if system == RXNORM and code in rxnorm:
            return rxnorm[code].med
    return None


def order_label(order: dict[str, Any]) -> str:
    concept = order.get("medicationCodeableConcept") or {}
    if concept.get("text"):
        return str(concept["text"])
    for coding in concept.get("coding", []):
        if coding.get("display") or coding.get("code"):
            return str(coding.get("display") or coding.get("code"))
    return "a medicine without a code"


def latest_labs(observations: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The newest usable result per analyte, no older than CDS_HOOKS_LAB_MAX_AGE_DAYS; units never guessed."""
    loinc = code_tables().loinc_to_analyte
    oldest = timezone.now() - dt.timedelta(days=conf.cds_lab_max_age_days())
    best: dict[str, tuple[dt.datetime, dict[str, Any]]] = {}
    for obs in observations:
        if obs.get("status") not in ("final", "amended", "corrected"):
            continue
        analyte = next((loinc[c] for s, c in _codings(obs.get("code")) if s == LOINC and c in loinc), None)
        quantity = obs.get("valueQuantity") or {}
        when = parse_fhir_datetime(obs.get("effectiveDateTime") or (obs.get("effectivePeriod") or {}).get("start"))
        if analyte is None or when is None or when < oldest or not isinstance(quantity.get("value"), int | float):
            continue
        unit = str(quantity.get("code") if quantity.get("system") == UCUM else quantity.get("unit") or "")
        if analyte == "urea" and normalise_unit(unit) == "mg/dl":
            unit = "mg/dL BUN"
        try:
            si = to_si(analyte, float(quantity["value"]), unit)
        except UnitError:
            continue
        if check_plausible(analyte, si) is not None:
            continue
        if analyte not in best or when > best[analyte][0]:
            best[analyte] = (when, {"analyte": analyte, "value": float(quantity["value"]), "unit": unit})
    return [lab for _, lab in sorted(best.values(), key=lambda pair: pair[1]["analyte"])]
