"""FHIR import integrity (issue "an import can never put one person's data on another"): identity, retractions,
values, and nothing dropped in silence. Each test fails on the import as it was before these rules."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic.accounts.models import Unit, User
from clinic.interop.fhir_import import import_fhir
from clinic.interop.models import FhirLink
from clinic.patients.forms import PatientForm
from clinic.patients.models import LabResult, Patient
from clinic.patients.services import latest_labs

pytestmark = pytest.mark.django_db

MR = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}
LOINC = "http://loinc.org"
K = "2823-3"  # Potassium [Moles/volume] in Serum or Plasma


def patient(pid: str, mrn: str | None, family: str = "Example", system: str = "urn:mrn", **extra: Any) -> dict:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": pid,
        "name": [{"family": family, "given": ["Pat"]}],
        "gender": "female",
        "birthDate": "1960-05-17",
    }
    if mrn is not None:
        resource["identifier"] = [{"type": MR, "system": system, "value": mrn}]
    return resource | extra


def potassium(oid: str, value: float, subject: str = "Patient/p1", **extra: Any) -> dict:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": K}]},
        "subject": {"reference": subject},
        "effectiveDateTime": "2026-11-01T07:00:00Z",
        "valueQuantity": {"value": value, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"},
    }
    return resource | extra


def bundle(*resources: dict, kind: str = "collection", full_urls: bool = False) -> tuple[str, bytes]:
    entries = []
    for n, r in enumerate(resources):
        entry: dict[str, Any] = {"resource": r}
        if full_urls:
            entry["fullUrl"] = f"urn:uuid:00000000-0000-4000-8000-{n:012d}"
        entries.append(entry)
    return "bundle.json", json.dumps({"resourceType": "Bundle", "type": kind, "entry": entries}).encode()


def baclofen_order(status: str, oid: str = "mr1") -> dict:
    return {
        "resourceType": "MedicationRequest",
        "id": oid,
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1292"}]
        },
        "subject": {"reference": "Patient/p1"},
    }


def heart_failure(status: str, verification: str = "confirmed") -> dict:
    return {
        "resourceType": "Condition",
        "id": "c1",
        "clinicalStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": status}]
        },
        "verificationStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": verification}]
        },
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "84114007"}], "text": "Heart failure"},
        "subject": {"reference": "Patient/p1"},
    }


# ------------------------------------------------------------------------------------------------ identity


def test_stranger_without_mrn_on_a_patients_page_is_refused_and_changes_nothing(
    unit_a: Unit, nurse_a: User, make_patient: Callable[..., Patient]
) -> None:
    target = make_patient(unit_a, mrn="HD-1", family_name="Real", given_name="Rita")
    file = bundle(
        patient("p1", None, family="Stranger", name=[{"family": "Stranger", "given": ["Sam"]}]), potassium("k1", 6.8)
    )
    report = import_fhir([file], unit=unit_a, user=nurse_a, target=target)
    assert not report.ok
    assert "no medical record number" in report.as_text() and "nothing was imported" in report.as_text()
    target.refresh_from_db()
    assert (target.family_name, target.given_name) == ("Real", "Rita")
    assert LabResult.objects.count() == 0


def test_observation_for_someone_else_in_this_patients_file_is_refused(
    unit_a: Unit, nurse_a: User, make_patient: Callable[..., Patient]
) -> None:
    target = make_patient(unit_a, mrn="HD-1")
    file = bundle(patient("p1", "HD-1"), potassium("k1", 4.0), potassium("k2", 6.8, subject="Patient/stranger"))
    report = import_fhir([file], unit=unit_a, user=nurse_a, target=target)
    assert not report.ok
    assert "subject Patient/stranger" in report.as_text()
    assert LabResult.objects.count() == 0


def test_subject_linked_to_another_patient_is_refused_on_this_patients_page(
    unit_a: Unit, nurse_a: User, make_patient: Callable[..., Patient]
) -> None:
    other = make_patient(unit_a, mrn="HD-2")
    FhirLink.objects.create(patient=other, resource_type="Patient", resource_id="p2", role="patient")
    target = make_patient(unit_a, mrn="HD-1")
    report = import_fhir([bundle(potassium("k1", 6.8, subject="Patient/p2"))], unit=unit_a, user=nurse_a, target=target)
    assert not report.ok and "another patient (MRN HD-2)" in report.as_text()
    assert LabResult.objects.count() == 0


@pytest.mark.parametrize("second_system", ["urn:mrn", "urn:other-hospital"])
def test_two_people_with_one_mrn_are_refused_never_merged(unit_a: Unit, nurse_a: User, second_system: str) -> None:
    file = bundle(
        patient("p1", "DUP-9", family="First"),
        patient("p2", "dup-9 ", family="Second", system=second_system),
        potassium("k1", 4.0),
    )
    report = import_fhir([file], unit=unit_a, user=nurse_a)
    assert not report.ok
    assert "two different patients with the same MRN DUP-9" in report.as_text()
    assert Patient.objects.count() == 0 and LabResult.objects.count() == 0


def test_mrn_is_normalised_like_the_patient_form(
    unit_a: Unit, nurse_a: User, make_patient: Callable[..., Patient]
) -> None:
    existing = make_patient(unit_a, mrn="DUP-9")
    report = import_fhir([bundle(patient("p1", "  dup-9 "), potassium("k1", 4.0))], unit=unit_a, user=nurse_a)
    assert report.ok, report.errors
    assert Patient.objects.count() == 1
    assert LabResult.objects.get().patient == existing
    form = PatientForm(data={"mrn": "  DUP-10  "}, user=nurse_a)
    form.is_valid()
    assert form.cleaned_data.get("mrn") == "DUP-10"
    report = import_fhir([bundle(patient("p9", " NEW-1  "))], unit=unit_a, user=nurse_a)
    assert report.ok and Patient.objects.filter(mrn="NEW-1").exists()


# ------------------------------------------------------------------------------------------------ retractions


def test_observation_entered_in_error_is_retracted_kept_and_marked(
    unit_a: Unit, nurse_a: User, client_for: Callable[[User], Client]
) -> None:
    import_fhir(
        [bundle(patient("p1", "HD-1"), potassium("k0", 4.1, effectiveDateTime="2026-10-01T07:00:00Z"))],
        unit=unit_a,
        user=nurse_a,
    )
    import_fhir([bundle(patient("p1", "HD-1"), potassium("k1", 7.4))], unit=unit_a, user=nurse_a)
    pat = Patient.objects.get()
    assert [str(r.lab.value) for r in latest_labs(pat.lab_results.all())] == ["7.400"]
    report = import_fhir(
        [bundle(patient("p1", "HD-1"), potassium("k1", 7.4, status="entered-in-error"))], unit=unit_a, user=nurse_a
    )
    assert report.ok, report.errors
    retracted = LabResult.objects.get(source_ref="Observation/k1")
    assert retracted.retracted_at is not None  # kept in the history
    assert [str(r.lab.value) for r in latest_labs(pat.lab_results.all())] == ["4.100"]  # no longer current
    assert "Result retracted: Potassium 7.4 mmol/L" in report.as_text()
    history = client_for(nurse_a).get(reverse("patients:lab-history", kwargs={"public_id": pat.public_id}))
    assert "entered in error" in history.content.decode()


def test_stopped_medicine_and_resolved_condition_are_no_longer_current(unit_a: Unit, nurse_a: User) -> None:
    first = import_fhir(
        [bundle(patient("p1", "HD-1"), baclofen_order("active"), heart_failure("active"))], unit=unit_a, user=nurse_a
    )
    assert first.ok, first.errors
    pat = Patient.objects.get()
    assert "baclofen" in pat.medications and "heart_failure" in pat.conditions
    report = import_fhir(
        [bundle(patient("p1", "HD-1"), baclofen_order("stopped"), heart_failure("resolved"))], unit=unit_a, user=nurse_a
    )
    assert report.ok, report.errors
    pat.refresh_from_db()
    assert "baclofen" not in pat.medications
    assert "heart_failure" not in pat.conditions
    text = report.as_text()
    assert "Medicine no longer current: Baclofen (its order is now stopped)." in text
    assert "Condition no longer active: Heart failure (its Condition is now resolved)." in text


def test_condition_entered_in_error_is_withdrawn(unit_a: Unit, nurse_a: User) -> None:
    import_fhir([bundle(patient("p1", "HD-1"), heart_failure("active"))], unit=unit_a, user=nurse_a)
    import_fhir([bundle(patient("p1", "HD-1"), heart_failure("active", "entered-in-error"))], unit=unit_a, user=nurse_a)
    assert Patient.objects.get().conditions == []


def test_a_past_stopped_order_never_removes_a_medicine_recorded_by_hand(
    unit_a: Unit, nurse_a: User, make_patient: Callable[..., Patient]
) -> None:
    target = make_patient(unit_a, mrn="HD-1", medications=["baclofen"])
    report = import_fhir(
        [bundle(patient("p1", "HD-1"), baclofen_order("stopped"))], unit=unit_a, user=nurse_a, target=target
    )
    assert report.ok, report.errors
    target.refresh_from_db()
    assert target.medications == ["baclofen"]


# ------------------------------------------------------------------------------------------------ values


@pytest.mark.parametrize("comparator", ["<", ">", "<=", ">="])
def test_a_comparator_is_never_stored_as_the_bare_number(unit_a: Unit, nurse_a: User, comparator: str) -> None:
    obs = potassium("k1", 4.0)
    obs["valueQuantity"]["comparator"] = comparator
    report = import_fhir([bundle(patient("p1", "HD-1"), obs)], unit=unit_a, user=nurse_a)
    assert report.ok
    assert LabResult.objects.count() == 0
    assert f"'{comparator}4.0' is a bound, not an exact value" in report.as_text()


def test_a_lab_dated_in_the_future_is_refused(unit_a: Unit, nurse_a: User) -> None:
    file = bundle(
        patient("p1", "HD-1"),
        potassium("k1", 4.0),
        potassium("k2", 6.9, effectiveDateTime="9999-12-31"),
        potassium("k3", 6.8, effectiveDateTime=(timezone.now() + dt.timedelta(days=2)).isoformat()),
    )
    report = import_fhir([file], unit=unit_a, user=nurse_a)
    assert report.ok
    assert list(LabResult.objects.values_list("source_ref", flat=True)) == ["Observation/k1"]
    assert report.as_text().count("dated in the future") == 2


@pytest.mark.parametrize("birth", ["1850-01-01", "2020-01-01", "2999-01-01"])
def test_an_impossible_birth_date_is_refused_like_the_patient_form(unit_a: Unit, nurse_a: User, birth: str) -> None:
    report = import_fhir([bundle(patient("p1", "HD-1", birthDate=birth))], unit=unit_a, user=nurse_a)
    assert not report.ok and Patient.objects.count() == 0
    form = PatientForm(data={"date_of_birth": birth}, user=nurse_a)
    form.is_valid()
    (message,) = form.errors["date_of_birth"]
    assert message in report.as_text()


def test_an_existing_patient_is_not_updated_to_an_impossible_birth_date(
    unit_a: Unit, nurse_a: User, make_patient: Callable[..., Patient]
) -> None:
    target = make_patient(unit_a, mrn="HD-1")
    report = import_fhir(
        [bundle(patient("p1", "HD-1", birthDate="1800-01-01"))], unit=unit_a, user=nurse_a, target=target
    )
    assert not report.ok
    target.refresh_from_db()
    assert target.date_of_birth == dt.date(1960, 5, 17)


def test_nul_characters_are_refused_before_the_database(unit_a: Unit, nurse_a: User) -> None:
    report = import_fhir(
        [bundle(patient("p1", "HD-1", name=[{"family": "Nul\u0000l", "given": ["Pat"]}]))], unit=unit_a, user=nurse_a
    )
    assert not report.ok
    assert "NUL character" in report.as_text()
    assert Patient.objects.count() == 0


DEEP = b'{"resourceType": "Bundle", "type": "collection", "entry": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


def test_deeply_nested_json_is_a_clear_refusal_on_the_web_and_in_the_command(
    unit_a: Unit, nurse_a: User, client_for: Callable[[User], Client], tmp_path: Path
) -> None:
    response = client_for(nurse_a).post(
        reverse("interop:import"), {"unit": unit_a.pk, "files": [SimpleUploadedFile("deep.json", DEEP)]}
    )
    assert response.status_code == 400
    assert "nested too deeply" in response.content.decode()
    deep = tmp_path / "deep.json"
    deep.write_bytes(DEEP)
    with pytest.raises(CommandError, match="nested too deeply"):
        call_command("fhir_import", "--unit", unit_a.code, str(deep), stdout=StringIO())
    moderately = b"[" * 200 + b"]" * 200  # parses, but is no FHIR resource: refused by the depth rule too
    report = import_fhir([("x.json", b'{"resourceType": "Patient", "extension": ' + moderately + b"}")], unit=unit_a)
    assert not report.ok and "nested too deeply" in report.as_text()


# ------------------------------------------------------------------------------------------------ nothing dropped


def test_loinc_under_its_oid_and_https_uri_is_loinc(unit_a: Unit, nurse_a: User) -> None:
    a = potassium("k1", 4.0)
    a["code"]["coding"][0]["system"] = "urn:oid:2.16.840.1.113883.6.1"
    b = potassium("k2", 4.2, effectiveDateTime="2026-11-02T07:00:00Z")
    b["code"]["coding"][0]["system"] = "https://loinc.org"
    report = import_fhir([bundle(patient("p1", "HD-1"), a, b)], unit=unit_a, user=nurse_a)
    assert report.ok and report.patients[0].labs_added == 2


def test_observations_inside_a_diagnostic_report_are_used(unit_a: Unit, nurse_a: User) -> None:
    inner = potassium("k1", 5.1)
    del inner["subject"]
    report_resource = {
        "resourceType": "DiagnosticReport",
        "id": "dr1",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "24323-8"}]},
        "subject": {"reference": "Patient/p1"},
        "contained": [inner],
        "result": [{"reference": "#k1"}],
    }
    first = import_fhir([bundle(patient("p1", "HD-1"), report_resource)], unit=unit_a, user=nurse_a)
    assert first.ok, first.errors
    lab = LabResult.objects.get()
    assert (lab.analyte, str(lab.value), lab.source_ref) == ("potassium", "5.100", "DiagnosticReport/dr1#k1")
    again = import_fhir([bundle(patient("p1", "HD-1"), report_resource)], unit=unit_a, user=nurse_a)
    assert again.patients[0].labs_unchanged == 1 and LabResult.objects.count() == 1


def test_transaction_bundle_without_ids_uses_full_urls(unit_a: Unit, nurse_a: User) -> None:
    pat = patient("p1", "HD-1")
    del pat["id"]
    obs = potassium("k1", 4.4, subject="urn:uuid:00000000-0000-4000-8000-000000000000")
    del obs["id"]
    session = {
        "resourceType": "Procedure",
        "status": "completed",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "302497006"}]},
        "subject": {"reference": "urn:uuid:00000000-0000-4000-8000-000000000000"},
        "performedDateTime": "2020-01-02",
    }
    file = bundle(pat, obs, session, kind="transaction", full_urls=True)
    for _ in range(2):
        report = import_fhir([file], unit=unit_a, user=nurse_a)
        assert report.ok, report.errors
    p = Patient.objects.get()
    assert LabResult.objects.get().source_ref == "urn:uuid:00000000-0000-4000-8000-000000000001"
    assert (p.sessions_completed, p.dialysis_started) == (1, dt.date(2020, 1, 2))


def test_procedure_without_id_or_full_url_is_listed_not_counted(unit_a: Unit, nurse_a: User) -> None:
    session = {
        "resourceType": "Procedure",
        "status": "completed",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "302497006"}]},
        "subject": {"reference": "Patient/p1"},
        "performedDateTime": "2020-01-02",
    }
    report = import_fhir([bundle(patient("p1", "HD-1"), session)], unit=unit_a, user=nurse_a)
    assert report.ok
    assert Patient.objects.get().sessions_completed is None
    assert "no id or fullUrl, so a re-import would count it twice" in report.as_text()


def test_deceased_patient_is_imported_as_deceased_without_current_medicines(unit_a: Unit, nurse_a: User) -> None:
    import_fhir([bundle(patient("p1", "HD-1"), baclofen_order("active"))], unit=unit_a, user=nurse_a)
    report = import_fhir(
        [bundle(patient("p1", "HD-1", deceasedDateTime="2026-11-20"), baclofen_order("active"))],
        unit=unit_a,
        user=nurse_a,
    )
    p = Patient.objects.get()
    assert (p.deceased, p.deceased_on, p.medications) == (True, dt.date(2026, 11, 20), [])
    assert "Medicine no longer current: Baclofen (the patient is deceased)." in report.as_text()


def test_dialysis_for_acute_kidney_injury_does_not_set_on_dialysis_since(unit_a: Unit, nurse_a: User) -> None:
    aki = {
        "resourceType": "Condition",
        "id": "aki",
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "N17.9"}]},
        "subject": {"reference": "Patient/p1"},
    }
    session = {
        "resourceType": "Procedure",
        "id": "s1",
        "status": "completed",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "302497006"}]},
        "subject": {"reference": "Patient/p1"},
        "performedDateTime": "2019-06-01",
        "reasonReference": [{"reference": "Condition/aki"}],
    }
    coded = session | {
        "id": "s2",
        "reasonReference": [],
        "reasonCode": [{"coding": [{"system": "http://snomed.info/sct", "code": "14669001"}]}],
    }
    report = import_fhir([bundle(patient("p1", "HD-1"), aki, session, coded)], unit=unit_a, user=nurse_a)
    assert report.ok, report.errors
    p = Patient.objects.get()
    assert (p.dialysis_started, p.sessions_completed) == (None, None)
    assert "dialysis for acute kidney injury" in report.as_text()


def test_one_syntax_error_gives_one_message(unit_a: Unit, nurse_a: User) -> None:
    text = json.dumps(
        {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": patient("p1", "HD-1")}]}, indent=2
    )
    broken = text.replace('"gender": "female",', '"gender": "female"', 1)
    report = import_fhir([("pretty.json", broken.encode())], unit=unit_a, user=nurse_a)
    assert not report.ok
    assert len(report.errors) == 1 and "not valid JSON" in report.errors[0]


def test_every_resource_not_used_is_listed_with_the_reason(unit_a: Unit, nurse_a: User) -> None:
    other = dict(
        heart_failure("active"),
        id="c2",
        code={"coding": [{"system": "http://snomed.info/sct", "code": "38341003"}], "text": "Hypertension"},
    )
    creatinine = potassium("cr", 500) | {
        "code": {"coding": [{"system": LOINC, "code": "2160-0"}], "text": "Creatinine"}
    }
    report = import_fhir([bundle(patient("p1", "HD-1"), other, creatinine)], unit=unit_a, user=nurse_a)
    text = report.as_text()
    assert "Not used: Hypertension (Condition/c2): not a condition Chairside's rules use." in text
    assert "Not used: Creatinine (Observation/cr): no LOINC code that Chairside reads." in text


def test_a_sole_untyped_identifier_is_the_mrn_but_two_are_ambiguous(unit_a: Unit, nurse_a: User) -> None:
    one = patient("p1", None, identifier=[{"system": "urn:hospital", "value": "U-1"}])
    report = import_fhir([bundle(one)], unit=unit_a, user=nurse_a)
    assert report.ok and Patient.objects.get().mrn == "U-1"
    two = patient(
        "p2",
        None,
        identifier=[{"system": "urn:hospital", "value": "U-2"}, {"system": "urn:insurer", "value": "INS-9"}],
    )
    report = import_fhir([bundle(two)], unit=unit_a, user=nurse_a)
    assert not report.ok and "no medical record number" in report.as_text()


def test_per_patient_audit_events_are_written_inside_the_imports_transaction(
    unit_a: Unit, nurse_a: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import connection

    import clinic.interop.fhir_import as module

    depths: list[int] = []
    real = module.record

    def spy(*args: Any, **kwargs: Any) -> Any:
        depths.append(len(connection.atomic_blocks))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "record", spy)
    outside = len(connection.atomic_blocks)
    report = import_fhir(
        [bundle(patient("p1", "HD-1"), patient("p2", "HD-2"), patient("p3", "HD-3"))], unit=unit_a, user=nurse_a
    )
    assert report.ok and len(depths) == 3
    assert all(depth == outside + 1 for depth in depths)  # in the import's atomic block, not each on its own


def test_a_brand_name_maps_like_its_generic(unit_a: Unit, nurse_a: User) -> None:
    order = baclofen_order("active")
    order["medicationCodeableConcept"] = {
        "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "105329", "display": "Lioresal"}],
        "text": "Lioresal 10 mg tablets",
    }
    report = import_fhir([bundle(patient("p1", "HD-1"), order)], unit=unit_a, user=nurse_a)
    assert report.ok, report.errors
    assert Patient.objects.get().medications == ["baclofen"]
