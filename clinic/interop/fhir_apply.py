"""FHIR import, stage 3: apply one patient's validated resources to the database (called inside the import's
transaction). Every write is an idempotent upsert (a FhirLink per dialysis session, medicine and condition,
LabResult.source_ref per Observation), so a re-import adds nothing twice, and a later version of the same
resource (a medicine now stopped, a condition now resolved, a result entered in error) is applied.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from clinic.accounts.models import Unit
from clinic.engine import load_knowledge
from clinic.interop.codes import CodeTables, code_tables
from clinic.interop.fhir_group import PatientBundle
from clinic.interop.fhir_labs import observation
from clinic.interop.fhir_parse import (
    CURRENT_CLINICAL,
    CURRENT_MED_STATUS,
    Item,
    codings,
    concept_label,
    date_of,
    medication_code,
    medication_concept,
    official_name,
)
from clinic.interop.fhir_report import ImportRefused, MedicationLine, PatientReport
from clinic.interop.models import FhirLink, LinkRole
from clinic.patients.models import Patient, Sex

DIABETES = "diabetes"  # the FhirLink code of a diabetes Condition (the patient's diabetes flag, not a list code)


def apply(bundle: PatientBundle, unit: Unit, user: Any, media: dict[str, Item], now: dt.datetime) -> PatientReport:
    report = PatientReport()
    patient = _upsert_patient(bundle, unit, user, report)
    tables = code_tables()
    changed: set[str] = set()
    links = {
        (link.role, link.resource_id): link
        for link in FhirLink.objects.filter(patient=patient, role__in=[LinkRole.MEDICATION, LinkRole.CONDITION])
    }
    _conditions([i for i in bundle.items if i.type == "Condition"], patient, tables, report, changed, links)
    _dialysis([i for i in bundle.items if i.type == "Procedure"], bundle.items, patient, tables, report, changed)
    meds = [i for i in bundle.items if i.type in ("MedicationRequest", "MedicationStatement")]
    _medications(meds, patient, tables, report, changed, media, links)
    if patient.deceased and (meds := list(patient.medications)):
        names = load_knowledge().drug_names
        report.changes += [f"Medicine no longer current: {names.get(m, m)} (the patient is deceased)." for m in meds]
        patient.medications = []
        changed.add("medications")
    if changed:
        patient.save(update_fields=[*sorted(changed), "updated_at"])
        report.fields_changed = sorted({*report.fields_changed, *changed})
    for item in bundle.items:
        if item.type == "Observation":
            observation(item, patient, tables.loinc_to_analyte, user, report, now)

    report.public_id = str(patient.public_id)
    report.name = patient.display_name
    report.mrn = patient.mrn
    report.deceased = patient.deceased
    report.diabetes = patient.diabetes
    report.esrd_onset = patient.esrd_onset
    report.dialysis_started = patient.dialysis_started
    report.sessions_completed = patient.sessions_completed
    return report


def _demographics(source: dict[str, Any]) -> dict[str, Any]:
    """The Patient's fields Chairside keeps; birth dates were checked when the file was read."""
    values: dict[str, Any] = {}
    name = official_name(source)
    if name is not None:
        values["family_name"], values["given_name"] = name[0][:100], name[1][:100]
    birth = source.get("birthDate")
    if birth and len(birth) == 10:
        values["date_of_birth"] = dt.date.fromisoformat(birth)
    if source.get("gender"):
        values["sex"] = source["gender"]
    if source.get("deceasedBoolean") is True or source.get("deceasedDateTime"):
        values["deceased"] = True
        values["deceased_on"] = date_of(source.get("deceasedDateTime"))
    elif source.get("deceasedBoolean") is False:
        values["deceased"], values["deceased_on"] = False, None
    return values


def _upsert_patient(bundle: PatientBundle, unit: Unit, user: Any, report: PatientReport) -> Patient:
    from clinic.interop.fhir_parse import mrn_of

    patient = bundle.existing
    source = bundle.patient.data if bundle.patient else None
    mrn = mrn_of(source) if source else None
    if patient is None:
        assert source is not None and mrn is not None and bundle.patient is not None
        values = _demographics(source)
        problems = []
        if "family_name" not in values:
            problems.append("no family name")
        if "date_of_birth" not in values:
            problems.append("no full birth date")
        if len(mrn[0]) > 40:
            problems.append("an MRN longer than 40 characters")
        if problems:
            raise ImportRefused([f"{bundle.patient.where}: cannot create the patient: {', '.join(problems)}."])
        values.setdefault("sex", Sex.UNKNOWN)
        patient = Patient.objects.create(
            unit=unit,
            mrn=mrn[0],
            mrn_system=mrn[1][:200],
            created_by=user if getattr(user, "pk", None) else None,
            **values,
        )
        report.created = True
    elif source is not None:
        changes = _demographics(source)
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


# ------------------------------------------------------------------------------------------------ status links


def _track(
    item: Item,
    role: str,
    code: str,
    current: bool,
    patient: Patient,
    links: dict[tuple[str, str], FhirLink],
) -> bool:
    """Record whether this resource now makes `code` current. True when it did at the last import and no longer
    does (a medicine stopped, a condition resolved or entered in error)."""
    if not item.key:
        return False
    link = links.get((role, item.key))
    if link is None:
        links[(role, item.key)] = FhirLink.objects.create(
            patient=patient, resource_type=item.type, resource_id=item.key, role=role, code=code, current=current
        )
        return False
    withdrawn = link.current and not current and link.code == code
    if (link.code, link.current) != (code, current):
        link.code, link.current = code, current
        link.save(update_fields=["code", "current"])
    return withdrawn


def _still_current(role: str, code: str, links: dict[tuple[str, str], FhirLink]) -> bool:
    """Whether another resource still makes `code` current (a link's code may name several, "a, b")."""
    return any(link.current and code in link.code.split(", ") for (r, _), link in links.items() if r == role)


# ------------------------------------------------------------------------------------------------ conditions


def _conditions(
    items: list[Item],
    patient: Patient,
    tables: CodeTables,
    report: PatientReport,
    changed: set[str],
    links: dict[tuple[str, str], FhirLink],
) -> None:
    withdrawn: dict[str, str] = {}
    for item in items:
        for code, status in _condition(item, patient, tables, report, changed, links):
            withdrawn[code] = status
    names = load_knowledge().conditions
    for code, status in withdrawn.items():
        if _still_current(LinkRole.CONDITION, code, links):
            continue
        if code == DIABETES and patient.diabetes is True:
            patient.diabetes = None
            changed.add("diabetes")
            report.changes.append(f"Diabetes no longer recorded as active (its Condition is now {status}).")
        elif code in patient.conditions:
            patient.conditions = [c for c in patient.conditions if c != code]
            changed.add("conditions")
            what = names.get(code, code)
            report.changes.append(f"Condition no longer active: {what} (its Condition is now {status}).")


def _condition(
    item: Item,
    patient: Patient,
    tables: CodeTables,
    report: PatientReport,
    changed: set[str],
    links: dict[tuple[str, str], FhirLink],
) -> list[tuple[str, str]]:
    """Apply one Condition; returns the (code, status) pairs it withdrew."""
    data = item.data
    label = concept_label(data.get("code"))
    verification = {c.get("code") for c in (data.get("verificationStatus") or {}).get("coding", [])}
    clinical = {c.get("code") for c in (data.get("clinicalStatus") or {}).get("coding", [])}
    retracted = verification & {"refuted", "entered-in-error"}
    current = not retracted and (not clinical or bool(clinical & CURRENT_CLINICAL))
    status = ", ".join(sorted(retracted or clinical)) or "not current"
    coded = codings(data.get("code"))
    onset_text = data.get("onsetDateTime") or (data.get("onsetPeriod") or {}).get("start") or data.get("recordedDate")
    onset = date_of(onset_text)

    if any(tables.esrd.matches(s, c) for s, c in coded):
        if retracted:
            report.skip(label, item.key or item.where, status)
        elif onset is not None and (patient.esrd_onset is None or onset < patient.esrd_onset):
            patient.esrd_onset = onset
            changed.add("esrd_onset")
        return []
    diabetes = any(tables.diabetes.matches(s, c) for s, c in coded)
    found = {DIABETES} if diabetes else tables.condition_codes(coded, onset)
    if not found:
        report.skip(label, item.key or item.where, "not a condition Chairside's rules use")
        return []
    withdrawn = [
        (code, status) for code in sorted(found) if _track(item, LinkRole.CONDITION, code, current, patient, links)
    ]
    if not current:
        if not withdrawn:
            report.skip(label, item.key or item.where, f"{status}, so not added")
        return withdrawn
    if DIABETES in found:
        if patient.diabetes is not True:
            patient.diabetes = True
            changed.add("diabetes")
        return withdrawn
    new = sorted(found - set(patient.conditions))
    if new:
        patient.conditions = [*patient.conditions, *new]
        changed.add("conditions")
        report.conditions_added.extend(new)
    return withdrawn


# ------------------------------------------------------------------------------------------------ dialysis


def _for_aki(item: Item, items: list[Item], tables: CodeTables) -> bool:
    """A dialysis done for acute kidney injury (its reasonCode, or a reasonReference to such a Condition)."""
    reasons = list(item.data.get("reasonCode", []) or [])
    refs = {r.get("reference") for r in item.data.get("reasonReference", []) or [] if isinstance(r, dict)}
    if refs:
        reasons += [i.data.get("code") for i in items if i.type == "Condition" and refs & {i.key, i.full_url}]
    return any(tables.aki.matches(s, c) for concept in reasons for s, c in codings(concept))


def _dialysis(
    sessions: list[Item],
    items: list[Item],
    patient: Patient,
    tables: CodeTables,
    report: PatientReport,
    changed: set[str],
) -> None:
    found: dict[str, dt.date | None] = {}
    for item in sessions:
        data = item.data
        label = concept_label(data.get("code"))
        if not any(tables.dialysis.matches(s, c) for s, c in codings(data.get("code"))):
            report.skip(label, item.key or item.where, "not a haemodialysis session")
        elif data.get("status") != "completed":
            report.skip(label, item.key or item.where, f"status {data.get('status')}, not completed")
        elif not item.key:
            report.skip(label, item.where, "no id or fullUrl, so a re-import would count it twice")
        elif _for_aki(item, items, tables):
            report.skip(label, item.key, "dialysis for acute kidney injury, not maintenance haemodialysis")
        else:
            when = data.get("performedDateTime") or (data.get("performedPeriod") or {}).get("start")
            found[item.key] = date_of(when)
    if found:
        known = set(
            FhirLink.objects.filter(patient=patient, role=LinkRole.DIALYSIS, resource_id__in=list(found)).values_list(
                "resource_id", flat=True
            )
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


# ------------------------------------------------------------------------------------------------ medicines


def _medications(
    items: list[Item],
    patient: Patient,
    tables: CodeTables,
    report: PatientReport,
    changed: set[str],
    media: dict[str, Item],
    links: dict[tuple[str, str], FhirLink],
) -> None:
    lines: dict[tuple[str, str, bool], MedicationLine] = {}
    current_codes: set[str] = set()
    withdrawn: dict[str, str] = {}
    resources = {key: m.data for key, m in media.items()}
    for item in items:
        status = str(item.data.get("status"))
        concept = medication_concept(item.data, resources)
        current = status in CURRENT_MED_STATUS[item.type]
        meds, rxcui = medication_code(concept, tables)
        med = ", ".join(meds) or None
        if med is not None and _track(item, LinkRole.MEDICATION, med, current, patient, links):
            withdrawn.update(dict.fromkeys(meds, status))
        if status == "entered-in-error":
            report.skip(concept_label(concept), item.key or item.where, "entered in error")
            continue
        key = (rxcui or concept_label(concept), med or "", current)
        if key in lines:
            lines[key].count += 1
        else:
            lines[key] = MedicationLine(concept_label(concept), rxcui, current, med)
        if current:
            current_codes.update(meds)
    # A medicine that is current somewhere is not also listed as past.
    report.medications = [
        m for m in lines.values() if m.current or m.med is None or not set(m.med.split(", ")) <= current_codes
    ]
    names = load_knowledge().drug_names
    for med, status in withdrawn.items():
        if med in current_codes or _still_current(LinkRole.MEDICATION, med, links) or med not in patient.medications:
            continue
        patient.medications = [m for m in patient.medications if m != med]
        changed.add("medications")
        report.changes.append(f"Medicine no longer current: {names.get(med, med)} (its order is now {status}).")
    new = sorted(current_codes - set(patient.medications))
    if new and not patient.deceased:
        patient.medications = [*patient.medications, *new]
        changed.add("medications")
        report.medications_added = new
