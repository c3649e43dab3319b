"""FHIR import, stage 3: apply one patient's validated resources to the database (called inside the import's
transaction). Every write is an idempotent upsert (a FhirLink per dialysis session,
LabResult.source_ref per Observation, set unions for codes), so a re-import adds nothing twice.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from clinic.accounts.models import Unit
from clinic.engine import load_knowledge
from clinic.engine.knowledge import normalise_unit
from clinic.engine.units import UnitError, check_plausible, to_si
from clinic.interop.codes import LOINC, RXNORM, UCUM, code_tables
from clinic.interop.fhir_group import PatientBundle
from clinic.interop.fhir_parse import (
    CURRENT_CLINICAL,
    CURRENT_MED_STATUS,
    LAB_STATUSES,
    Item,
    codings,
    concept_label,
    date_of,
    mrn_of,
    official_name,
    parse_fhir_datetime,
)
from clinic.interop.fhir_report import ImportRefused, MedicationLine, PatientReport
from clinic.interop.models import FhirLink, LinkRole
from clinic.patients.models import LabResult, LabSource, Patient, Sex


def apply(bundle: PatientBundle, unit: Unit, user: Any, media: dict[str, Item]) -> PatientReport:
    report = PatientReport()
    patient = _upsert_patient(bundle, unit, user, report)
    tables = code_tables()
    changed: set[str] = set()

    for item in bundle.items:
        if item.type == "Condition":
            _condition(item, patient, tables, report, changed)
    sessions = [i for i in bundle.items if i.type == "Procedure"]
    _dialysis(sessions, patient, tables, report, changed)
    meds = [i for i in bundle.items if i.type in ("MedicationRequest", "MedicationStatement")]
    _medications(meds, patient, tables, report, changed, media)
    if changed:
        patient.save(update_fields=[*sorted(changed), "updated_at"])
        report.fields_changed = sorted({*report.fields_changed, *changed})
    for item in bundle.items:
        if item.type == "Observation":
            _observation(item, patient, tables.loinc_to_analyte, user, report)

    report.public_id = str(patient.public_id)
    report.name = patient.display_name
    report.mrn = patient.mrn
    report.diabetes = patient.diabetes
    report.esrd_onset = patient.esrd_onset
    report.dialysis_started = patient.dialysis_started
    report.sessions_completed = patient.sessions_completed
    return report


def _upsert_patient(bundle: PatientBundle, unit: Unit, user: Any, report: PatientReport) -> Patient:
    patient = bundle.existing
    source = bundle.patient.data if bundle.patient else None
    mrn = mrn_of(source) if source else None
    if patient is None and source is not None:
        link = (
            FhirLink.objects.select_related("patient")
            .filter(
                patient__unit=unit,
                resource_type="Patient",
                resource_id=bundle.patient.id,  # type: ignore[union-attr]
            )
            .first()
        )
        patient = link.patient if link else None
        if patient is None and mrn is not None:
            patient = Patient.objects.filter(unit=unit, mrn=mrn[0]).first()
    if patient is None:
        assert source is not None and mrn is not None and bundle.patient is not None
        name = official_name(source)
        birth = source.get("birthDate")
        problems = []
        if name is None:
            problems.append("no family name")
        if not birth or len(birth) != 10:
            problems.append("no full birth date")
        if len(mrn[0]) > 40:
            problems.append("an MRN longer than 40 characters")
        if problems:
            raise ImportRefused([f"{bundle.patient.where}: cannot create the patient: {', '.join(problems)}."])
        assert name is not None
        patient = Patient.objects.create(
            unit=unit,
            mrn=mrn[0],
            mrn_system=mrn[1][:200],
            family_name=name[0][:100],
            given_name=name[1][:100],
            date_of_birth=dt.date.fromisoformat(birth),
            sex=source.get("gender") or Sex.UNKNOWN,
            created_by=user if getattr(user, "pk", None) else None,
        )
        report.created = True
    elif source is not None:
        changes: dict[str, Any] = {}
        name = official_name(source)
        if name is not None:
            changes["family_name"], changes["given_name"] = name[0][:100], name[1][:100]
        birth = source.get("birthDate")
        if birth and len(birth) == 10:
            changes["date_of_birth"] = dt.date.fromisoformat(birth)
        if source.get("gender"):
            changes["sex"] = source["gender"]
        if mrn is not None and not patient.mrn_system and mrn[1]:
            changes["mrn_system"] = mrn[1][:200]
        changed = [f for f, v in changes.items() if getattr(patient, f) != v]
        for f in changed:
            setattr(patient, f, changes[f])
        if changed:
            patient.save(update_fields=[*changed, "updated_at"])
            report.fields_changed.extend(changed)
    if bundle.patient is not None and bundle.patient.id:
        FhirLink.objects.get_or_create(
            patient=patient,
            resource_type="Patient",
            resource_id=bundle.patient.id,
            defaults={"role": LinkRole.PATIENT},
        )
    return patient


def _condition(item: Item, patient: Patient, tables: Any, report: PatientReport, changed: set[str]) -> None:
    data = item.data
    verification = {c.get("code") for c in (data.get("verificationStatus") or {}).get("coding", [])}
    if verification & {"refuted", "entered-in-error"}:
        return
    clinical = {c.get("code") for c in (data.get("clinicalStatus") or {}).get("coding", [])}
    current = not clinical or bool(clinical & CURRENT_CLINICAL)
    coded = codings(data.get("code"))
    onset_text = data.get("onsetDateTime") or (data.get("onsetPeriod") or {}).get("start") or data.get("recordedDate")
    onset = date_of(onset_text)

    if any(tables.esrd.matches(s, c) for s, c in coded):
        if onset is not None and (patient.esrd_onset is None or onset < patient.esrd_onset):
            patient.esrd_onset = onset
            changed.add("esrd_onset")
        return
    if any(tables.diabetes.matches(s, c) for s, c in coded):
        if current and patient.diabetes is not True:
            patient.diabetes = True
            changed.add("diabetes")
        return
    found = tables.condition_codes(coded, onset) if current else set()
    new = sorted(found - set(patient.conditions))
    if new:
        patient.conditions = [*patient.conditions, *new]
        changed.add("conditions")
        report.conditions_added.extend(new)
    elif not found and current:
        label = concept_label(data.get("code"))
        if label not in report.conditions_not_used:
            report.conditions_not_used.append(label)


def _dialysis(sessions: list[Item], patient: Patient, tables: Any, report: PatientReport, changed: set[str]) -> None:
    found: dict[str, dt.date | None] = {}
    for item in sessions:
        data = item.data
        if data.get("status") != "completed" or not item.id:
            continue
        if not any(tables.dialysis.matches(s, c) for s, c in codings(data.get("code"))):
            continue
        when = data.get("performedDateTime") or (data.get("performedPeriod") or {}).get("start")
        found[item.id] = date_of(when)
    if found:
        known = set(
            FhirLink.objects.filter(
                patient=patient, resource_type="Procedure", resource_id__in=list(found)
            ).values_list("resource_id", flat=True)
        )
        new = [
            FhirLink(
                patient=patient, resource_type="Procedure", resource_id=rid, role=LinkRole.DIALYSIS, performed_on=day
            )
            for rid, day in found.items()
            if rid not in known
        ]
        FhirLink.objects.bulk_create(new, batch_size=500)
        report.sessions_added = len(new)
    links = FhirLink.objects.filter(patient=patient, role=LinkRole.DIALYSIS)
    total = links.count()
    if total:
        if patient.sessions_completed is None or patient.sessions_completed < total:
            patient.sessions_completed = total
            changed.add("sessions_completed")
        first = links.exclude(performed_on=None).order_by("performed_on").values_list("performed_on", flat=True)
        earliest = first.first()
        if earliest is not None and (patient.dialysis_started is None or earliest < patient.dialysis_started):
            patient.dialysis_started = earliest
            changed.add("dialysis_started")


def _medication_concept(item: Item, media: dict[str, Item]) -> dict[str, Any] | None:
    data = item.data
    if data.get("medicationCodeableConcept"):
        return data["medicationCodeableConcept"]  # type: ignore[no-any-return]
    ref = (data.get("medicationReference") or {}).get("reference", "")
    if ref.startswith("#"):
        for contained in data.get("contained", []):
            if contained.get("resourceType") == "Medication" and contained.get("id") == ref[1:]:
                return contained.get("code")  # type: ignore[no-any-return]
    medication = media.get(ref)
    return medication.data.get("code") if medication else None


def _medications(
    items: list[Item],
    patient: Patient,
    tables: Any,
    report: PatientReport,
    changed: set[str],
    media: dict[str, Item],
) -> None:
    lines: dict[tuple[str, str, bool], MedicationLine] = {}
    current_codes: set[str] = set()
    for item in items:
        if item.data.get("status") == "entered-in-error":
            continue
        concept = _medication_concept(item, media)
        current = item.data.get("status") in CURRENT_MED_STATUS[item.type]
        rxcuis = [code for system, code in codings(concept) if system == RXNORM and code]
        mapping = next((tables.rxnorm[c] for c in rxcuis if c in tables.rxnorm), None)
        med = mapping.med if mapping else None
        key = (rxcuis[0] if rxcuis else concept_label(concept), med or "", current)
        if key in lines:
            lines[key].count += 1
        else:
            lines[key] = MedicationLine(concept_label(concept), rxcuis[0] if rxcuis else "", current, med)
        if med is not None and current:
            current_codes.add(med)
    # A medicine that is current somewhere is not also listed as past.
    report.medications = [m for m in lines.values() if m.current or m.med is None or m.med not in current_codes]
    new = sorted(current_codes - set(patient.medications))
    if new:
        patient.medications = [*patient.medications, *new]
        changed.add("medications")
        report.medications_added = new


def _observation(item: Item, patient: Patient, loinc: dict[str, str], user: Any, report: PatientReport) -> None:
    data = item.data
    coded = codings(data.get("code"))
    analyte = next((loinc[c] for s, c in coded if s == LOINC and c in loinc), None)
    label = concept_label(data.get("code"))
    if analyte is None:
        if label not in report.labs_not_used:
            report.labs_not_used.append(label)
        return
    name = load_knowledge().analytes[analyte].name
    ref = f"Observation/{item.id}" if item.id else ""
    if not ref:
        for identifier in data.get("identifier", []):
            if identifier.get("value"):
                ref = f"{identifier.get('system', '')}|{identifier['value']}"[:200]
                break
    problem = None
    quantity = data.get("valueQuantity") or {}
    when = parse_fhir_datetime(
        data.get("effectiveDateTime")
        or data.get("effectiveInstant")
        or (data.get("effectivePeriod") or {}).get("start")
        or data.get("issued")
    )
    if data.get("status") not in LAB_STATUSES:
        problem = f"status is '{data.get('status')}', not final"
    elif not ref:
        problem = "it has no id or identifier, so a re-import could not recognise it"
    elif "value" not in quantity:
        problem = "no numeric result (valueQuantity)"
    elif when is None:
        problem = "no date (effectiveDateTime)"
    unit = ""
    value = Decimal(0)
    if problem is None:
        system = quantity.get("system")
        unit = str(quantity.get("code") if system == UCUM and quantity.get("code") else quantity.get("unit") or "")
        if system and system != UCUM:
            problem = f"unit system {system} is not UCUM"
        elif analyte == "urea" and normalise_unit(unit) == "mg/dl":
            unit = "mg/dL BUN"  # every urea LOINC code Chairside accepts is urea nitrogen (BUN)
        try:
            value = Decimal(str(quantity["value"])).quantize(Decimal("0.001"))
        except InvalidOperation:
            problem = "the value is too large"
    if problem is None:
        try:
            si = to_si(analyte, float(value), unit)
        except UnitError as exc:
            problem = str(exc)
        else:
            problem = check_plausible(analyte, si)
            if problem is None and (len(unit) > 16 or abs(value) >= Decimal(10**7)):
                problem = "value or unit too long to store"
    if problem is not None:
        shown = f"{quantity.get('value', '')} {quantity.get('unit') or quantity.get('code') or ''}".strip()
        report.labs_refused.append(f"{name} {shown} ({ref or item.where}): {problem}.")
        return
    assert when is not None
    existing = LabResult.objects.filter(patient=patient, source=LabSource.FHIR, source_ref=ref).first()
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
    elif (existing.analyte, existing.value, existing.unit, existing.taken_at) != (analyte, value, unit, when):
        existing.analyte, existing.value, existing.unit, existing.taken_at = analyte, value, unit, when
        existing.save()
        report.labs_updated += 1
    else:
        report.labs_unchanged += 1
