"""FHIR R4 import: a JSON Bundle, a single resource or bulk-export ndjson files -> patients, conditions,
dialysis sessions, medications and lab results.

Three stages, so that a bad file changes nothing:

1. ``parse_files``: read every file and validate every resource Chairside uses with fhir.resources' **R4B**
   models (R4-shaped data), plus the coded values Chairside depends on (fhir.resources does not check value
   sets). Any problem -> the import is refused as a whole, with a readable report.
2. ``plan``: group the resources by patient.
3. ``apply``: one database transaction per import; every write is an idempotent upsert (a FhirLink per dialysis
   session, LabResult.source_ref per Observation, set unions for codes), so a re-import adds nothing twice.

Every import, refused or not, is written to the audit trail with counts and codes only.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from clinic.accounts.models import Unit
from clinic.audit.models import Action
from clinic.audit.services import record
from clinic.engine import load_knowledge
from clinic.engine.knowledge import normalise_unit
from clinic.engine.units import UnitError, check_plausible, to_si
from clinic.interop.codes import LOINC, RXNORM, UCUM, code_tables
from clinic.interop.models import FhirLink, LinkRole
from clinic.patients.models import LabResult, LabSource, Patient, Sex

USED_TYPES = ("Patient", "Condition", "Procedure", "MedicationRequest", "MedicationStatement", "Observation")
REFERENCE_ONLY_TYPES = ("Medication",)  # validated and used to resolve medicationReference
MR_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0203"

# R4 value sets for the elements Chairside reads (fhir.resources does not check coded values).
VALUE_SETS: dict[tuple[str, str], frozenset[str]] = {
    ("Patient", "gender"): frozenset({"male", "female", "other", "unknown"}),
    ("Observation", "status"): frozenset(
        {"registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown"}
    ),
    ("Procedure", "status"): frozenset(
        {"preparation", "in-progress", "not-done", "on-hold", "stopped", "completed", "entered-in-error", "unknown"}
    ),
    ("MedicationRequest", "status"): frozenset(
        {"active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft", "unknown"}
    ),
    ("MedicationStatement", "status"): frozenset(
        {"active", "completed", "entered-in-error", "intended", "stopped", "on-hold", "unknown", "not-taken"}
    ),
}
CLINICAL_STATUS = frozenset({"active", "recurrence", "relapse", "inactive", "remission", "resolved"})
CURRENT_CLINICAL = frozenset({"active", "recurrence", "relapse"})
VERIFICATION_STATUS = frozenset(
    {"unconfirmed", "provisional", "differential", "confirmed", "refuted", "entered-in-error"}
)
LAB_STATUSES = frozenset({"final", "amended", "corrected"})
CURRENT_MED_STATUS = {"MedicationRequest": {"active", "on-hold"}, "MedicationStatement": {"active", "intended"}}
MAX_ERRORS_SHOWN = 50


class ImportRefused(Exception):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors[:3]))
        self.errors = errors


# ------------------------------------------------------------------------------------------------ report


@dataclass
class MedicationLine:
    label: str
    rxnorm: str
    current: bool
    med: str | None = None
    count: int = 1


@dataclass
class PatientReport:
    public_id: str = ""
    name: str = ""
    mrn: str = ""
    created: bool = False
    fields_changed: list[str] = field(default_factory=list)
    diabetes: bool | None = None
    esrd_onset: dt.date | None = None
    dialysis_started: dt.date | None = None
    sessions_completed: int | None = None
    sessions_added: int = 0
    conditions_added: list[str] = field(default_factory=list)
    conditions_not_used: list[str] = field(default_factory=list)
    medications_added: list[str] = field(default_factory=list)
    medications: list[MedicationLine] = field(default_factory=list)
    labs_added: int = 0
    labs_updated: int = 0
    labs_unchanged: int = 0
    labs_refused: list[str] = field(default_factory=list)
    labs_not_used: list[str] = field(default_factory=list)

    @property
    def unmapped_medications(self) -> list[MedicationLine]:
        return [m for m in self.medications if m.med is None]

    @property
    def historical_medications(self) -> list[MedicationLine]:
        return [m for m in self.medications if m.med is not None and not m.current]


@dataclass
class ImportReport:
    files: list[str] = field(default_factory=list)
    ok: bool = False
    errors: list[str] = field(default_factory=list)
    patients: list[PatientReport] = field(default_factory=list)
    resources: Counter[str] = field(default_factory=Counter)
    ignored: Counter[str] = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return any(
            p.created
            or p.fields_changed
            or p.sessions_added
            or p.conditions_added
            or p.medications_added
            or p.labs_added
            or p.labs_updated
            for p in self.patients
        )

    def as_text(self) -> str:
        lines: list[str] = []
        if not self.ok:
            lines.append(f"Import refused: nothing was changed ({len(self.errors)} problem(s)).")
            lines += [f"  - {e}" for e in self.errors[:MAX_ERRORS_SHOWN]]
            if len(self.errors) > MAX_ERRORS_SHOWN:
                lines.append(f"  ... and {len(self.errors) - MAX_ERRORS_SHOWN} more")
            return "\n".join(lines)
        used = ", ".join(f"{n} {t}" for t, n in sorted(self.resources.items()))
        lines.append(f"Imported {used or 'nothing'} in {self.seconds:.2f} s.")
        if self.ignored:
            lines.append("Not used: " + ", ".join(f"{n} {t}" for t, n in sorted(self.ignored.items())) + ".")
        for p in self.patients:
            lines.append("")
            state = "created" if p.created else "updated" if p.fields_changed else "already up to date"
            lines.append(f"Patient {p.name} (MRN {p.mrn}): {state}.")
            if p.fields_changed:
                lines.append("  Changed: " + ", ".join(p.fields_changed) + ".")
            lines.append(f"  Diabetes: {_yes_no(p.diabetes)}. ESRD since: {p.esrd_onset or 'not recorded'}.")
            lines.append(
                f"  On dialysis since: {p.dialysis_started or 'not recorded'}; sessions completed: "
                f"{p.sessions_completed if p.sessions_completed is not None else 'not recorded'} "
                f"({p.sessions_added} new)."
            )
            if p.conditions_added:
                lines.append("  Conditions added: " + ", ".join(p.conditions_added) + ".")
            if p.medications_added:
                lines.append("  Medicines added: " + ", ".join(p.medications_added) + ".")
            for m in p.unmapped_medications:
                when = "current" if m.current else "past"
                lines.append(f"  Not mapped ({when}, RxNorm {m.rxnorm or 'none'}): {m.label} x{m.count}.")
            for m in p.historical_medications:
                lines.append(f"  Past medicine, not added: {m.label} ({m.med}).")
            lines.append(
                f"  Lab results: {p.labs_added} added, {p.labs_updated} updated, {p.labs_unchanged} unchanged, "
                f"{len(p.labs_refused)} refused."
            )
            lines += [f"  Refused: {r}" for r in p.labs_refused]
        lines += [f"Skipped: {s}" for s in self.skipped]
        if not self.changed:
            lines.append("")
            lines.append("Nothing new: everything in the file was already imported.")
        return "\n".join(lines)

    def audit_detail(self) -> dict[str, Any]:
        return {
            "outcome": "ok" if self.ok else "refused",
            "files": len(self.files),
            "resources": dict(self.resources),
            "errors": len(self.errors),
        }


def _yes_no(value: bool | None) -> str:
    return "not recorded" if value is None else "yes" if value else "no"


# ------------------------------------------------------------------------------------------------ parsing


@dataclass
class Item:
    where: str
    type: str
    data: dict[str, Any]
    full_url: str = ""

    @property
    def id(self) -> str:
        return str(self.data.get("id") or "")


def parse_files(files: Sequence[tuple[str, bytes]]) -> tuple[list[Item], Counter[str], list[str]]:
    """Read and validate. Returns (items Chairside uses, ignored resource type counts, errors)."""
    items: list[Item] = []
    ignored: Counter[str] = Counter()
    errors: list[str] = []
    for name, raw in files:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            errors.append(f"{name}: not UTF-8 text; export the data as FHIR JSON or ndjson.")
            continue
        for where, obj in _json_objects(name, text, errors):
            _collect(where, obj, "", items, ignored, errors)
    return items, ignored, errors


def _json_objects(name: str, text: str, errors: list[str]) -> Iterable[tuple[str, Any]]:
    if not text.strip():
        errors.append(f"{name}: the file is empty.")
        return
    try:
        yield name, json.loads(text)
        return
    except json.JSONDecodeError as whole:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if len(lines) < 2:
            errors.append(f"{name}: not valid JSON ({whole.msg} at line {whole.lineno}, column {whole.colno}).")
            return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield f"{name} line {number}", json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"{name} line {number}: not valid JSON ({exc.msg}, column {exc.colno}).")


def _collect(where: str, obj: Any, full_url: str, items: list[Item], ignored: Counter[str], errors: list[str]) -> None:
    if not isinstance(obj, dict) or not isinstance(obj.get("resourceType"), str):
        errors.append(f"{where}: not a FHIR resource (no resourceType).")
        return
    rtype = obj["resourceType"]
    if rtype == "Bundle":
        entries = obj.get("entry", [])
        if not isinstance(entries, list):
            errors.append(f"{where}: Bundle.entry must be a list.")
            return
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict) or "resource" not in entry:
                continue  # entries without a resource (e.g. search links) carry nothing to import
            _collect(
                f"{where} entry {index}", entry["resource"], str(entry.get("fullUrl") or ""), items, ignored, errors
            )
        return
    if rtype not in USED_TYPES and rtype not in REFERENCE_ONLY_TYPES:
        try:
            get_fhir_model_class(rtype)
        except (KeyError, ValueError):
            errors.append(f"{where}: '{rtype}' is not a FHIR R4 resource type.")
            return
        ignored[rtype] += 1
        return
    label = f"{where} ({rtype}/{obj.get('id', '?')})"
    try:
        get_fhir_model_class(rtype).model_validate(obj)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or rtype}: {e['msg']}" for e in exc.errors()[:3])
        more = f" (+{exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
        errors.append(f"{label}: does not validate as FHIR R4: {problems}{more}.")
        return
    problem = _check_codes(rtype, obj)
    if problem:
        errors.append(f"{label}: {problem}")
        return
    items.append(Item(label, rtype, obj, full_url))


def _check_codes(rtype: str, obj: dict[str, Any]) -> str | None:
    for (vtype, element), allowed in VALUE_SETS.items():
        if vtype == rtype and element in obj and obj[element] not in allowed:
            return f"{element} '{obj[element]}' is not an R4 {vtype}.{element} code."
    if rtype == "Condition":
        for element, allowed in (("clinicalStatus", CLINICAL_STATUS), ("verificationStatus", VERIFICATION_STATUS)):
            for coding in (obj.get(element) or {}).get("coding", []):
                if coding.get("code") not in allowed:
                    return f"{element} '{coding.get('code')}' is not an R4 Condition.{element} code."
    return None


# ------------------------------------------------------------------------------------------------ helpers


def _codings(concept: dict[str, Any] | None) -> list[tuple[str | None, str | None]]:
    if not concept:
        return []
    return [(c.get("system"), c.get("code")) for c in concept.get("coding", []) if isinstance(c, dict)]


def _concept_label(concept: dict[str, Any] | None) -> str:
    if not concept:
        return "(no code)"
    if concept.get("text"):
        return str(concept["text"])
    for coding in concept.get("coding", []):
        if coding.get("display"):
            return str(coding["display"])
        if coding.get("code"):
            return str(coding["code"])
    return "(no code)"


def parse_fhir_datetime(value: str | None) -> dt.datetime | None:
    """FHIR dateTime/instant/date (YYYY, YYYY-MM, YYYY-MM-DD, or with time and zone) -> aware datetime."""
    if not value:
        return None
    try:
        if len(value) == 4:
            return dt.datetime(int(value), 1, 1, tzinfo=dt.UTC)
        if len(value) == 7:
            return dt.datetime(int(value[:4]), int(value[5:7]), 1, tzinfo=dt.UTC)
        if len(value) == 10:
            return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _date_of(value: str | None) -> dt.date | None:
    """The calendar date as written in the source (its own time zone), not shifted to UTC."""
    parsed = parse_fhir_datetime(value)
    if parsed is None or value is None:
        return None
    return dt.date.fromisoformat(value[:10]) if len(value) >= 10 else parsed.date()


def _reference_keys(item: Item) -> set[str]:
    """How other resources in the same import may point at this one: Type/id or the Bundle entry's fullUrl."""
    keys = {f"{item.type}/{item.id}"} if item.id else set()
    if item.full_url:
        keys.add(item.full_url)
    return keys


def _subject_ref(item: Item) -> str | None:
    subject = item.data.get("subject") or item.data.get("patient")
    if isinstance(subject, dict):
        ref = subject.get("reference")
        return str(ref) if ref else None
    return None


def _mrn(patient: dict[str, Any]) -> tuple[str, str] | None:
    for identifier in patient.get("identifier", []):
        for coding in (identifier.get("type") or {}).get("coding", []):
            if coding.get("system") == MR_TYPE_SYSTEM and coding.get("code") == "MR" and identifier.get("value"):
                return str(identifier["value"]), str(identifier.get("system") or "")
    return None


def _official_name(patient: dict[str, Any]) -> tuple[str, str] | None:
    names = patient.get("name") or []
    chosen = next((n for n in names if n.get("use") == "official"), names[0] if names else None)
    if not chosen:
        return None
    family = str(chosen.get("family") or "").strip()
    given = " ".join(chosen.get("given") or []).strip()
    if not family and chosen.get("text"):
        family = str(chosen["text"]).strip()
    return (family, given) if family else None


# ------------------------------------------------------------------------------------------------ grouping


@dataclass
class PatientBundle:
    patient: Item | None = None
    items: list[Item] = field(default_factory=list)
    existing: Patient | None = None


def _group(
    items: list[Item], unit: Unit, target: Patient | None, errors: list[str], skipped: list[str]
) -> list[PatientBundle]:
    patients = [i for i in items if i.type == "Patient"]
    clinical = [i for i in items if i.type in USED_TYPES and i.type != "Patient"]
    if target is not None:
        if len(patients) > 1:
            errors.append("The file holds more than one Patient; import it from the patient list instead.")
            return []
        bundle = PatientBundle(patient=patients[0] if patients else None, existing=target)
        if bundle.patient is not None:
            mrn = _mrn(bundle.patient.data)
            if mrn is not None and mrn[0] != target.mrn:
                errors.append(f"{bundle.patient.where}: its MRN is not this patient's MRN; nothing was imported.")
                return []
        subjects = {ref for i in clinical if (ref := _subject_ref(i))}
        if bundle.patient is None and len(subjects) > 1:
            errors.append("The file holds data for more than one patient (several subjects); nothing was imported.")
            return []
        bundle.items = clinical
        return [bundle]

    by_key: dict[str, PatientBundle] = {}
    bundles: list[PatientBundle] = []
    for item in patients:
        if _mrn(item.data) is None:
            errors.append(f"{item.where}: no medical record number (an identifier of type MR).")
            continue
        bundle = PatientBundle(patient=item)
        bundles.append(bundle)
        for key in _reference_keys(item):
            by_key[key] = bundle
    linked: dict[str, PatientBundle] = {}
    for item in clinical:
        ref = _subject_ref(item)
        bundle = by_key.get(ref or "")
        if bundle is None and ref and ref.startswith("Patient/"):
            bundle = linked.get(ref)
            if bundle is None:
                link = (
                    FhirLink.objects.select_related("patient")
                    .filter(patient__unit=unit, resource_type="Patient", resource_id=ref.split("/", 1)[1])
                    .first()
                )
                if link is not None:
                    bundle = PatientBundle(existing=link.patient)
                    linked[ref] = bundle
                    bundles.append(bundle)
        if bundle is None:
            skipped.append(f"{item.where}: its subject ({ref or 'none'}) is not a patient in this import.")
            continue
        bundle.items.append(item)
    return bundles


# ------------------------------------------------------------------------------------------------ entry point


def import_fhir(
    files: Sequence[tuple[str, bytes]],
    *,
    unit: Unit,
    user: Any = None,
    request: HttpRequest | None = None,
    target: Patient | None = None,
) -> ImportReport:
    """Validate, then apply in one transaction. Never raises for bad data: the report says what was wrong."""
    started = time.perf_counter()
    report = ImportReport(files=[name for name, _ in files])
    items, report.ignored, errors = parse_files(files)
    report.resources = Counter(i.type for i in items)
    bundles: list[PatientBundle] = []
    if not errors:
        bundles = _group(items, unit, target, errors, report.skipped)
        if not errors and not bundles:
            errors.append("The file holds no Patient and no data for this patient; nothing to import.")
    if not errors:
        media = {key: i for i in items if i.type == "Medication" for key in _reference_keys(i)}
        try:
            with transaction.atomic():
                for bundle in bundles:
                    report.patients.append(_apply(bundle, unit, user, media))
        except ImportRefused as exc:
            errors = exc.errors
            report.patients = []
    report.errors = errors
    report.ok = not errors
    report.seconds = time.perf_counter() - started
    _audit(report, unit, user, request)
    return report


def _audit(report: ImportReport, unit: Unit, user: Any, request: HttpRequest | None) -> None:
    if not report.ok or not report.patients:
        record(Action.FHIR_IMPORT, request=request, user=user, unit=unit, detail=report.audit_detail())
        return
    for p in report.patients:
        detail = report.audit_detail() | {
            "created": p.created,
            "fields": p.fields_changed,
            "sessions_added": p.sessions_added,
            "conditions_added": p.conditions_added,
            "medications_added": p.medications_added,
            "medications_unmapped": len(p.unmapped_medications),
            "labs_added": p.labs_added,
            "labs_updated": p.labs_updated,
            "labs_refused": len(p.labs_refused),
        }
        record(Action.FHIR_IMPORT, request=request, user=user, unit=unit, patient_public_id=p.public_id, detail=detail)


# ------------------------------------------------------------------------------------------------ applying


def _apply(bundle: PatientBundle, unit: Unit, user: Any, media: dict[str, Item]) -> PatientReport:
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
    mrn = _mrn(source) if source else None
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
        name = _official_name(source)
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
        name = _official_name(source)
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
    codings = _codings(data.get("code"))
    onset_text = data.get("onsetDateTime") or (data.get("onsetPeriod") or {}).get("start") or data.get("recordedDate")
    onset = _date_of(onset_text)

    if any(tables.esrd.matches(s, c) for s, c in codings):
        if onset is not None and (patient.esrd_onset is None or onset < patient.esrd_onset):
            patient.esrd_onset = onset
            changed.add("esrd_onset")
        return
    if any(tables.diabetes.matches(s, c) for s, c in codings):
        if current and patient.diabetes is not True:
            patient.diabetes = True
            changed.add("diabetes")
        return
    found = tables.condition_codes(codings, onset) if current else set()
    new = sorted(found - set(patient.conditions))
    if new:
        patient.conditions = [*patient.conditions, *new]
        changed.add("conditions")
        report.conditions_added.extend(new)
    elif not found and current:
        label = _concept_label(data.get("code"))
        if label not in report.conditions_not_used:
            report.conditions_not_used.append(label)


def _dialysis(sessions: list[Item], patient: Patient, tables: Any, report: PatientReport, changed: set[str]) -> None:
    found: dict[str, dt.date | None] = {}
    for item in sessions:
        data = item.data
        if data.get("status") != "completed" or not item.id:
            continue
        if not any(tables.dialysis.matches(s, c) for s, c in _codings(data.get("code"))):
            continue
        when = data.get("performedDateTime") or (data.get("performedPeriod") or {}).get("start")
        found[item.id] = _date_of(when)
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
        rxcuis = [code for system, code in _codings(concept) if system == RXNORM and code]
        mapping = next((tables.rxnorm[c] for c in rxcuis if c in tables.rxnorm), None)
        med = mapping.med if mapping else None
        key = (rxcuis[0] if rxcuis else _concept_label(concept), med or "", current)
        if key in lines:
            lines[key].count += 1
        else:
            lines[key] = MedicationLine(_concept_label(concept), rxcuis[0] if rxcuis else "", current, med)
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
    codings = _codings(data.get("code"))
    analyte = next((loinc[c] for s, c in codings if s == LOINC and c in loinc), None)
    label = _concept_label(data.get("code"))
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
