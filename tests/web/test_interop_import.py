"""FHIR import: the Synthea ESRD patient (shared/fhir/synthea-esrd, third-party, read unchanged), lab
Observations shaped like HL7's published examples (tests/web/fhir_examples/README.md), idempotency, refusal of
malformed files, the upload form and the management command."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest

from clinic.accounts.models import Unit, User
from clinic.audit.models import Action, AuditEvent
from clinic.interop.fhir_import import import_fhir
from clinic.interop.models import FhirLink
from clinic.patients.models import Patient

REPO = Path(__file__).resolve().parents[2]
SYNTHEA = REPO.parent / "shared" / "fhir" / "synthea-esrd"
EXAMPLES = Path(__file__).resolve().parent / "fhir_examples"
SYNTHEA_FILES = ["Patient", "Condition", "Procedure", "MedicationRequest", "Encounter", "Immunization"]
SYNTHEA_ID = "79a66c97-6131-3213-f3c9-4606946ab056"

pytestmark = pytest.mark.django_db


def synthea_files() -> list[tuple[str, bytes]]:
    if not SYNTHEA.is_dir():
        pytest.fail(f"the Synthea test patient is missing: expected {SYNTHEA} (shared/ beside the repository)")
    return [(f"{name}.ndjson", (SYNTHEA / f"{name}.ndjson").read_bytes()) for name in SYNTHEA_FILES]


def example(name: str) -> tuple[str, bytes]:
    return name, (EXAMPLES / name).read_bytes()


def test_synthea_patient_imports_with_diabetes_esrd_dialysis_and_medicines(unit_a: Unit, nurse_a: User) -> None:
    started = time.perf_counter()
    report = import_fhir(synthea_files(), unit=unit_a, user=nurse_a)
    elapsed = time.perf_counter() - started
    print(f"Synthea import: {elapsed:.2f} s")  # reported, not a timed assertion (shared CI machines vary)
    assert report.ok, report.errors
    patient = Patient.objects.get(unit=unit_a)
    assert patient.mrn == SYNTHEA_ID
    assert patient.mrn_system == "http://hospital.smarthealthit.org"
    assert (patient.family_name, patient.given_name) == ("Upton904", "Marine542 Ai120")
    assert patient.date_of_birth == dt.date(1927, 5, 21)
    assert patient.sex == "female"
    assert patient.diabetes is True
    assert patient.esrd_onset == dt.date(1989, 2, 18)
    assert patient.sessions_completed == 430
    assert patient.dialysis_started == dt.date(1985, 9, 14)
    assert set(patient.medications) == {"insulin", "statin"}  # active Humulin and simvastatin
    assert patient.conditions == []  # ischaemic heart disease etc. are not contract conditions
    (p,) = report.patients
    unmapped = {m.rxnorm: m for m in p.unmapped_medications}
    # Listed, never dropped: lisinopril, metformin, tacrolimus, epoetin, metoprolol, nitroglycerin ...
    assert {"314076", "860975", "1664463", "205923", "866412", "705129"} <= set(unmapped)
    assert unmapped["205923"].count == 430 and unmapped["205923"].current is False
    assert [m.med for m in p.historical_medications] == ["opioid"]  # meperidine, stopped
    assert report.ignored == {"Encounter": 708, "Immunization": 10}
    text = report.as_text()
    assert "Not mapped (current, RxNorm 314076): lisinopril 10 MG Oral Tablet" in text
    assert "sessions completed: 430 (430 new)" in text
    event = AuditEvent.objects.get(action=Action.FHIR_IMPORT)
    assert event.patient_public_id == patient.public_id
    assert event.detail["created"] is True and event.detail["sessions_added"] == 430
    assert "Upton904" not in json.dumps(event.detail)


def test_synthea_reimport_adds_nothing(unit_a: Unit, nurse_a: User) -> None:
    import_fhir(synthea_files(), unit=unit_a, user=nurse_a)
    patient = Patient.objects.get()
    before = (patient.updated_at, FhirLink.objects.count())
    report = import_fhir(synthea_files(), unit=unit_a, user=nurse_a)
    assert report.ok and not report.changed
    patient.refresh_from_db()
    assert (patient.updated_at, FhirLink.objects.count()) == before
    assert patient.sessions_completed == 430
    assert Patient.objects.count() == 1
    assert "Nothing new" in report.as_text()
    assert AuditEvent.objects.filter(action=Action.FHIR_IMPORT).count() == 2


def test_import_is_per_unit(unit_a: Unit, unit_b: Unit, nurse_a: User) -> None:
    import_fhir(synthea_files(), unit=unit_a, user=nurse_a)
    import_fhir(synthea_files(), unit=unit_b, user=nurse_a)
    assert Patient.objects.filter(mrn=SYNTHEA_ID).count() == 2
