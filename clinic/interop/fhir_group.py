"""FHIR import, stage 2: group the validated resources by patient, and decide which Chairside patient each group
belongs to (this patient, an existing one of the unit, or a new one).

Identity is checked here, before anything is written, and any doubt refuses the whole import:

- on a patient's page, the file's Patient must carry this patient's MRN (or be the FHIR Patient already linked to
  them), and every resource's subject must be that Patient; with no Patient in the file, every resource must name
  one and the same subject, and never a FHIR Patient that Chairside has linked to someone else;
- from the patient list, two different Patients with one MRN (also under two identifier systems) are refused,
  never merged, and so is a Patient whose FHIR id is linked to one Chairside patient but whose MRN is another's.

MRNs compare as the patient form compares them: surrounding spaces ignored, case-insensitively.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models.functions import Upper

from clinic.accounts.models import Unit
from clinic.interop.fhir_parse import USED_TYPES, Item, mrn_of, reference_keys, subject_ref
from clinic.interop.models import FhirLink
from clinic.patients.models import Patient, normalise_mrn

SHOWN = 3  # examples named in one identity message


@dataclass
class PatientBundle:
    patient: Item | None = None
    items: list[Item] = field(default_factory=list)
    existing: Patient | None = None


def group(
    items: list[Item], unit: Unit, target: Patient | None, errors: list[str], skipped: list[str]
) -> list[PatientBundle]:
    patients = _distinct_patients([i for i in items if i.type == "Patient"], errors)
    clinical = [i for i in items if i.type in USED_TYPES and i.type != "Patient"]
    if errors:
        return []
    if target is not None:
        return _for_target(patients, clinical, unit, target, errors)
    return _for_unit(patients, clinical, unit, errors, skipped)


def _distinct_patients(patients: list[Item], errors: list[str]) -> list[Item]:
    """The same Patient twice (same id, or same fullUrl) is one person; two Patients with one MRN are refused."""
    by_mrn: dict[str, Item] = {}
    distinct: list[Item] = []
    for item in patients:
        mrn = mrn_of(item.data)
        if mrn is None:
            distinct.append(item)
            continue
        other = by_mrn.get(mrn[0].casefold())
        if other is None:
            by_mrn[mrn[0].casefold()] = item
            distinct.append(item)
        elif not (item.key and item.key == other.key):
            first = mrn_of(other.data)
            assert first is not None
            systems = sorted({mrn[1] or "no system", first[1] or "no system"})
            errors.append(
                f"{other.where} and {item.where} are two different patients with the same MRN {first[0]} "
                f"(identifier systems: {', '.join(systems)}). Chairside never merges them: correct the source "
                "data; nothing was imported."
            )
    return distinct


def _for_target(
    patients: list[Item], clinical: list[Item], unit: Unit, target: Patient, errors: list[str]
) -> list[PatientBundle]:
    if len(patients) > 1:
        errors.append("The file holds more than one Patient; import it from the patient list instead.")
        return []
    source = patients[0] if patients else None
    if source is not None:
        linked = _linked_patients(unit, [source.id])
        owner = linked.get(source.id)
        mrn = mrn_of(source.data)
        if owner is not None and owner.pk != target.pk:
            errors.append(
                f"{source.where}: this FHIR Patient was imported before as another patient (MRN {owner.mrn}), "
                "not this one; nothing was imported."
            )
        elif mrn is not None and mrn[0].casefold() != normalise_mrn(target.mrn).casefold():
            errors.append(
                f"{source.where}: its MRN ({mrn[0]}) is not this patient's MRN ({target.mrn}); the file is "
                "another person's record, so nothing was imported."
            )
        elif mrn is None and owner is None:
            errors.append(
                f"{source.where}: it has no medical record number (an identifier of type MR), so Chairside "
                "cannot tell that it is this patient; nothing was imported."
            )
        if errors:
            return []
        keys = reference_keys(source)
        strangers = [i for i in clinical if subject_ref(i) not in keys]
        if strangers:
            errors.append(_subject_message(strangers, "is not the file's Patient"))
            return []
    else:
        subjects = {subject_ref(i) for i in clinical}
        if None in subjects:
            errors.append(_subject_message([i for i in clinical if subject_ref(i) is None], "is missing"))
            return []
        if len(subjects) > 1:
            errors.append(
                "The file holds data for more than one patient (subjects "
                + ", ".join(sorted(str(s) for s in subjects)[:SHOWN])
                + "); nothing was imported."
            )
            return []
        (subject,) = subjects or {""}
        problem = _subject_not_target(str(subject), unit, target)
        if problem:
            errors.append(problem)
            return []
    return [PatientBundle(patient=source, items=clinical, existing=target)]


def _subject_not_target(subject: str, unit: Unit, target: Patient) -> str | None:
    if subject.startswith("identifier|"):
        if subject != "identifier|" + normalise_mrn(target.mrn).casefold():
            return f"The resources' subject is identified by an MRN that is not {target.mrn}; nothing was imported."
        return None
    if subject.startswith("Patient/"):
        owner = _linked_patients(unit, [subject.split("/", 1)[1]]).get(subject.split("/", 1)[1])
        if owner is not None and owner.pk != target.pk:
            return (
                f"The resources' subject ({subject}) was imported before as another patient (MRN {owner.mrn}); "
                "nothing was imported."
            )
    return None


def _subject_message(items: list[Item], why: str) -> str:
    examples = "; ".join(f"{i.where}: subject {subject_ref(i) or 'none'}" for i in items[:SHOWN])
    more = f" and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return (
        f"{len(items)} resource(s) whose subject {why} ({examples}{more}). A file for this patient must hold only "
        "this patient's data; nothing was imported."
    )


def _linked_patients(unit: Unit, resource_ids: Iterable[str]) -> dict[str, Patient]:
    ids = [i for i in resource_ids if i]
    links = FhirLink.objects.select_related("patient").filter(
        patient__unit=unit, resource_type="Patient", resource_id__in=ids
    )
    return {link.resource_id: link.patient for link in links}


def _for_unit(
    patients: list[Item], clinical: list[Item], unit: Unit, errors: list[str], skipped: list[str]
) -> list[PatientBundle]:
    mrns = {}
    for item in patients:
        mrn = mrn_of(item.data)
        if mrn is None:
            errors.append(f"{item.where}: no medical record number (an identifier of type MR).")
        else:
            mrns[item.where] = mrn[0]
    if errors:
        return []
    linked = _linked_patients(unit, [p.id for p in patients])
    uppers = {m.upper() for m in mrns.values()}
    by_mrn = {
        p.mrn_upper: p for p in Patient.objects.annotate(mrn_upper=Upper("mrn")).filter(unit=unit, mrn_upper__in=uppers)
    }
    by_key: dict[str, PatientBundle] = {}
    bundles: list[PatientBundle] = []
    for item in patients:
        owner = linked.get(item.id)
        holder = by_mrn.get(mrns[item.where].upper())
        if owner is not None and holder is not None and owner.pk != holder.pk:
            errors.append(
                f"{item.where}: this FHIR Patient was imported before as MRN {owner.mrn}, but now carries MRN "
                f"{holder.mrn}, another patient's; nothing was imported."
            )
            continue
        bundle = PatientBundle(patient=item, existing=owner or holder)
        bundles.append(bundle)
        for key in reference_keys(item):
            by_key[key] = bundle
    if errors:
        return []
    pending = [i for i in clinical if (subject_ref(i) or "") not in by_key]
    refs = {ref.split("/", 1)[1] for i in pending if (ref := subject_ref(i) or "").startswith("Patient/")}
    for rid, patient in _linked_patients(unit, refs).items():
        by_key[f"Patient/{rid}"] = PatientBundle(existing=patient)
        bundles.append(by_key[f"Patient/{rid}"])
    for item in clinical:
        ref = subject_ref(item)
        bundle = by_key.get(ref or "")
        if bundle is None:
            skipped.append(f"{item.where}: not used: its subject ({ref or 'none'}) is not a patient in this import.")
            continue
        bundle.items.append(item)
    return bundles
