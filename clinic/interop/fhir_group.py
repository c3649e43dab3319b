"""FHIR import, stage 2: group the validated resources by patient, and decide which Chairside patient each group
belongs to (this patient, an existing one of the unit, or a new one)."""

from __future__ import annotations

from dataclasses import dataclass, field

from clinic.accounts.models import Unit
from clinic.interop.fhir_parse import USED_TYPES, Item, mrn_of, reference_keys, subject_ref
from clinic.interop.models import FhirLink
from clinic.patients.models import Patient


@dataclass
class PatientBundle:
    patient: Item | None = None
    items: list[Item] = field(default_factory=list)
    existing: Patient | None = None


def group(
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
            mrn = mrn_of(bundle.patient.data)
            if mrn is not None and mrn[0] != target.mrn:
                errors.append(f"{bundle.patient.where}: its MRN is not this patient's MRN; nothing was imported.")
                return []
        subjects = {ref for i in clinical if (ref := subject_ref(i))}
        if bundle.patient is None and len(subjects) > 1:
            errors.append("The file holds data for more than one patient (several subjects); nothing was imported.")
            return []
        bundle.items = clinical
        return [bundle]

    by_key: dict[str, PatientBundle] = {}
    bundles: list[PatientBundle] = []
    for item in patients:
        if mrn_of(item.data) is None:
            errors.append(f"{item.where}: no medical record number (an identifier of type MR).")
            continue
        bundle = PatientBundle(patient=item)
        bundles.append(bundle)
        for key in reference_keys(item):
            by_key[key] = bundle
    linked: dict[str, PatientBundle] = {}
    for item in clinical:
        ref = subject_ref(item)
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
