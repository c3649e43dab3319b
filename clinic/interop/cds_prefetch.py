"""What a CDS Hooks request brings: the prefetched FHIR resources (patient, conditions, active medication orders,
recent lab observations) read into an engine case, plus the orders each medicine came from and the medicines
that could not be mapped. Units are never guessed and nothing is fetched from the EHR's FHIR server. Wrongly typed
prefetch values are a 400 with the reason; wrongly typed elements inside a resource read as absent (never a 500).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from clinic.engine.knowledge import normalise_unit
from clinic.engine.units import UnitError, check_plausible, to_si
from clinic.interop import conf
from clinic.interop.codes import LOINC, UCUM, code_tables
from clinic.interop.fhir_labs import FUTURE_TOLERANCE
from clinic.interop.fhir_parse import (
    CURRENT_CLINICAL,
    codings,
    concept_label,
    medication_code,
    medication_concept,
    parse_fhir_datetime,
)
from clinic.patients.models import birth_date_problem


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


def _dict(value: Any) -> dict[str, Any]:
    """An element that must be a JSON object; anything else reads as absent (never a 500)."""
    return value if isinstance(value, dict) else {}


def medicines(*values: Any) -> dict[str, dict[str, Any]]:
    """Medication resources sent beside the orders (prefetch, draftOrders), by the references that may name them."""
    found: dict[str, dict[str, Any]] = {}
    for value in values:
        if isinstance(value, dict) and value.get("resourceType") == "Bundle":
            for entry in value.get("entry") or []:
                resource = _dict(entry).get("resource")
                if isinstance(resource, dict) and resource.get("resourceType") == "Medication":
                    if resource.get("id"):
                        found[f"Medication/{resource['id']}"] = resource
                    if isinstance(entry.get("fullUrl"), str):
                        found[entry["fullUrl"]] = resource
        elif isinstance(value, dict) and value.get("resourceType") == "Medication" and value.get("id"):
            found[f"Medication/{value['id']}"] = value
    return found


@dataclass
class PatientData:
    case: dict[str, Any]
    orders: dict[str, list[str]] = field(default_factory=dict)  # medication code -> MedicationRequest ids
    unmapped: list[str] = field(default_factory=list)
    sent: bool = True


def _age(birth: Any) -> int | None:
    """Age in years, or None (not assessed) for a missing or impossible birth date (the patient form's rule)."""
    if not isinstance(birth, str) or len(birth) != 10:
        return None
    try:
        born = dt.date.fromisoformat(birth)
    except ValueError:
        return None
    today = timezone.localdate()
    if birth_date_problem(born, today):
        return None
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
            status = {c for _, c in codings(cond.get("clinicalStatus"))}
            if status and not status & CURRENT_CLINICAL:
                continue
            coded = codings(cond.get("code"))
            if any(tables.diabetes.matches(s, c) for s, c in coded):
                case["patient"]["diabetes"] = True
            onset = parse_fhir_datetime(cond.get("onsetDateTime"))
            found |= tables.condition_codes(coded, onset.date() if onset else None)
        case["patient"]["conditions"] = sorted(found)
    data = PatientData(case)
    meds: set[str] = set()
    media = medicines(*prefetch.values())
    for order in resources(prefetch.get("medications"), "MedicationRequest"):
        if order.get("status") not in ("active", "on-hold"):
            continue
        codes = order_medications(order, media)
        if not codes:
            data.unmapped.append(order_label(order, media))
            continue
        for med in codes:
            meds.add(med)
            if isinstance(order.get("id"), str) and order["id"]:
                data.orders.setdefault(med, []).append(f"MedicationRequest/{order['id']}")
    if meds:
        case["medications"] = sorted(meds)
    labs = latest_labs(resources(prefetch.get("observations"), "Observation"))
    if labs:
        case["labs"] = labs
    return data


def order_medications(order: dict[str, Any], media: dict[str, dict[str, Any]]) -> tuple[str, ...]:
    """The Chairside medication codes of an order, by medicationCodeableConcept or medicationReference (a contained
    or sent Medication), through the same RxNorm table and medicine-name synonyms as the FHIR import."""
    codes, _ = medication_code(medication_concept(order, media), code_tables())
    return codes


def order_label(order: dict[str, Any], media: dict[str, dict[str, Any]]) -> str:
    label = concept_label(medication_concept(order, media))
    return "a medicine without a code" if label == "(no code)" else label


def latest_labs(observations: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The newest usable result per analyte, no older than CDS_HOOKS_LAB_MAX_AGE_DAYS; units never guessed."""
    loinc = code_tables().loinc_to_analyte
    oldest = timezone.now() - dt.timedelta(days=conf.cds_lab_max_age_days())
    best: dict[str, tuple[dt.datetime, dict[str, Any]]] = {}
    for obs in observations:
        if obs.get("status") not in ("final", "amended", "corrected"):
            continue
        analyte = next((loinc[c] for s, c in codings(obs.get("code")) if s == LOINC and c in loinc), None)
        quantity = _dict(obs.get("valueQuantity"))
        if quantity.get("comparator"):
            continue  # "<0.3" is a bound, not a value: never read as 0.3
        when = parse_fhir_datetime(obs.get("effectiveDateTime") or _dict(obs.get("effectivePeriod")).get("start"))
        if when is not None and when > timezone.now() + FUTURE_TOLERANCE:
            continue
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


def prefetch_of(body: dict[str, Any]) -> dict[str, Any]:
    prefetch = body.get("prefetch", {})
    if prefetch is None:
        return {}
    if not isinstance(prefetch, dict):
        raise CdsRequestError("prefetch must be a JSON object of prefetch keys to FHIR resources or Bundles.")
    for key, value in prefetch.items():
        if value is not None and not (isinstance(value, dict) and isinstance(value.get("resourceType"), str)):
            raise CdsRequestError(f"prefetch.{key} must be a FHIR resource or Bundle (or null).")
        if (
            isinstance(value, dict)
            and value.get("resourceType") == "Bundle"
            and not isinstance(value.get("entry", []), list)
        ):
            raise CdsRequestError(f"prefetch.{key}.entry must be a list.")
    return prefetch
