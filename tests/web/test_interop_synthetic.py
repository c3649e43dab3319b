"""Third-party synthetic FHIR (carebundle 0.5.0, committed in tests/fixtures/carebundle): eight patients in
transaction Bundles without resource ids, labs inside DiagnosticReport panels, US Core identifiers. Every value
and unit Chairside keeps is compared with the source file; everything else must be listed as not used."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from clinic.accounts.models import Unit, User
from clinic.interop.codes import code_tables
from clinic.interop.fhir_import import import_fhir
from clinic.patients.models import LabResult, Patient

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "carebundle"
LOINC = "http://loinc.org"


def bundles() -> list[tuple[str, bytes]]:
    files = sorted(FIXTURES.glob("*.json"))
    assert len(files) == 8, "tests/fixtures/carebundle is incomplete"
    return [(f.name, f.read_bytes()) for f in files]


def _resources(raw: bytes, rtype: str) -> list[tuple[str, dict[str, Any]]]:
    bundle = json.loads(raw)
    return [(e["fullUrl"], e["resource"]) for e in bundle["entry"] if e["resource"]["resourceType"] == rtype]


def test_carebundle_patients_import_with_every_value_and_unit_checked(unit_a: Unit, nurse_a: User) -> None:
    files = bundles()
    report = import_fhir(files, unit=unit_a, user=nurse_a)
    assert report.ok, report.errors
    assert Patient.objects.filter(unit=unit_a).count() == 8
    loinc = code_tables().loinc_to_analyte
    by_mrn = {p.mrn: p for p in report.patients}
    checked = not_used = 0
    for _, raw in files:
        ((_, source),) = _resources(raw, "Patient")
        patient = Patient.objects.get(unit=unit_a, mrn=source["identifier"][0]["value"])
        name = source["name"][0]
        assert (patient.family_name, patient.given_name) == (name["family"], " ".join(name["given"]))
        assert patient.date_of_birth == dt.date.fromisoformat(source["birthDate"])
        assert patient.sex == source["gender"]
        assert patient.mrn_system == source["identifier"][0]["system"]
        lines = "\n".join(by_mrn[patient.mrn].not_used_lines())
        for full_url, obs in _resources(raw, "Observation"):
            codes = [c["code"] for c in obs["code"]["coding"] if c["system"] == LOINC]
            analyte = next((loinc[c] for c in codes if c in loinc), None)
            if analyte is None:
                assert obs["code"]["text"] in lines, obs["code"]["text"]
                not_used += 1
                continue
            quantity = obs["valueQuantity"]
            lab = LabResult.objects.get(patient=patient, source_ref=full_url)
            unit = "mg/dL BUN" if analyte == "urea" and quantity["code"] == "mg/dL" else quantity["code"]
            assert lab.analyte == analyte
            assert lab.value == Decimal(str(quantity["value"])).quantize(Decimal("0.001"))
            assert lab.unit == unit
            assert lab.taken_at == dt.datetime.fromisoformat(obs["effectiveDateTime"])
            assert lab.retracted_at is None
            checked += 1
        diabetes = any(
            c["code"].startswith("E11") for _, cond in _resources(raw, "Condition") for c in cond["code"]["coding"]
        )
        assert patient.diabetes is (True if diabetes else None)
        assert patient.esrd_onset is None  # CKD stage 3 is not end-stage renal disease
        for _, cond in _resources(raw, "Condition"):
            if not cond["code"]["coding"][0]["code"].startswith("E11"):
                assert cond["code"]["text"] in lines  # hypertension, obesity, CKD 3: listed, with the reason
        orders = {o["medicationCodeableConcept"]["text"] for _, o in _resources(raw, "MedicationRequest")}
        listed = {m.label for m in by_mrn[patient.mrn].medications}
        assert orders <= listed  # every order accounted for (mapped or "not mapped")
    assert checked == LabResult.objects.count() and checked >= 50  # Na, K, Ca, glucose, urea, Hb ... per patient
    assert not_used >= 100  # vital signs, lipids, liver enzymes ...: listed, never silently dropped
    again = import_fhir(files, unit=unit_a, user=nurse_a)
    assert again.ok and not again.changed
    assert sum(p.labs_unchanged for p in again.patients) == checked
