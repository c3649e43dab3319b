"""FHIR import: the Synthea ESRD patient (tests/fixtures/synthea-esrd, third-party CC0 data, unchanged), lab
Observations shaped like HL7's published examples (tests/web/fhir_examples/README.md), idempotency, refusal of
malformed files, the upload form and the management command."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from clinic.accounts.models import Unit, User
from clinic.audit.models import Action, AuditEvent
from clinic.interop.fhir_import import import_fhir
from clinic.interop.models import FhirLink
from clinic.patients.models import LabResult, Patient

REPO = Path(__file__).resolve().parents[2]
SYNTHEA = REPO / "tests" / "fixtures" / "synthea-esrd"
EXAMPLES = Path(__file__).resolve().parent / "fhir_examples"
SYNTHEA_FILES = ["Patient", "Condition", "Procedure", "MedicationRequest", "Encounter", "Immunization"]
SYNTHEA_ID = "79a66c97-6131-3213-f3c9-4606946ab056"

pytestmark = pytest.mark.django_db


def synthea_files() -> list[tuple[str, bytes]]:
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
    # She died in 1994 (deceasedDateTime): imported as deceased, so her orders still marked active (Humulin,
    # simvastatin) are not current medicines.
    assert (patient.deceased, patient.deceased_on) == (True, dt.date(1994, 11, 11))
    assert patient.medications == []
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
    assert "Deceased: yes (no current medicines)." in text
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


def test_hl7_shaped_lab_observations_import_keeping_value_and_unit(unit_a: Unit, nurse_a: User) -> None:
    report = import_fhir([example("labs-bundle.json")], unit=unit_a, user=nurse_a)
    assert report.ok, report.errors
    patient = Patient.objects.get(mrn="HD-0001")
    labs = {lab.source_ref: lab for lab in LabResult.objects.filter(patient=patient)}
    mg = labs["Observation/lab-1"]
    assert (mg.analyte, str(mg.value), mg.unit, mg.source) == ("magnesium", "1.200", "mg/dL", "fhir")
    assert mg.value_si == pytest.approx(0.494, abs=0.001)
    assert mg.taken_at == dt.datetime(2026, 10, 2, 8, 30, 10, tzinfo=dt.UTC)
    assert labs["Observation/lab-2"].analyte == "calcium_ionised"  # 1994-3, blood
    assert labs["Observation/lab-4"].unit == "meq/L" and labs["Observation/lab-4"].value_si == 4.1
    assert labs["Observation/lab-5"].analyte == "sodium"  # 2947-0, blood
    urea = labs["Observation/lab-8"]
    assert (urea.analyte, urea.unit) == ("urea", "mg/dL BUN")
    assert len(labs) == 9
    (p,) = report.patients
    refused = "\n".join(p.labs_refused)
    assert "U/L is not a unit for" in refused  # creatine kinase: never guessed
    assert "not possible in a living patient" in refused  # sodium 1380
    assert "status is 'preliminary'" in refused
    not_used = "\n".join(p.not_used_lines())
    assert "Creatinine [Mass/volume] in Serum or Plasma (Observation/lab-12): no LOINC code" in not_used
    again = import_fhir([example("labs-bundle.json")], unit=unit_a, user=nurse_a)
    assert again.patients[0].labs_unchanged == 9 and again.patients[0].labs_added == 0
    assert LabResult.objects.filter(patient=patient).count() == 9


def _observation(loinc: str, value: float, unit: str, ident: str) -> dict[str, Any]:
    # Same shape as labs-bundle.json (HL7 R4 example Observation shape).
    return {
        "resourceType": "Observation",
        "id": ident,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "subject": {"reference": "Patient/any"},
        "effectiveDateTime": "2026-11-01T07:00:00Z",
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
    }


def test_every_knowledge_base_loinc_code_imports(
    unit_a: Unit, nurse_a: User, make_patient: Callable[..., Patient]
) -> None:
    from clinic.engine import load_knowledge
    from clinic.interop.codes import code_tables

    patient = make_patient(unit_a)
    knowledge = load_knowledge()
    lines = []
    expected = {}
    for n, (loinc, analyte) in enumerate(sorted(code_tables().loinc_to_analyte.items())):
        a = knowledge.analytes[analyte]
        value = round((a.plausible_min + a.plausible_max) / 2, 2)
        lines.append(json.dumps(_observation(loinc, value, a.si_unit, f"o{n}")))
        expected[f"Observation/o{n}"] = analyte
    for analyte in knowledge.analytes.values():  # serum and blood variants alike
        assert set(analyte.loinc) <= set(code_tables().loinc_to_analyte)
    report = import_fhir([("labs.ndjson", "\n".join(lines).encode())], unit=unit_a, user=nurse_a, target=patient)
    assert report.ok, report.errors
    assert report.patients[0].labs_refused == []
    got = dict(LabResult.objects.filter(patient=patient).values_list("source_ref", "analyte"))
    assert got == expected


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken.json", b'{"resourceType": "Patient", ', "not valid JSON"),
        ("empty.ndjson", b"", "the file is empty"),
        (
            "bad-status.json",
            json.dumps(_observation("2823-3", 5, "mmol/L", "x") | {"status": "done"}).encode(),
            "status 'done' is not an R4 Observation.status code",
        ),
        (
            "invalid.json",
            json.dumps({"resourceType": "Observation", "id": "x", "status": "final"}).encode(),
            "does not validate as FHIR R4: code: Field required",
        ),
        ("not-fhir.json", b'{"hello": 1}', "not a FHIR resource"),
    ],
)
def test_malformed_file_changes_nothing(unit_a: Unit, nurse_a: User, name: str, content: bytes, message: str) -> None:
    files = [*synthea_files(), (name, content)]
    report = import_fhir(files, unit=unit_a, user=nurse_a)
    assert not report.ok
    assert message in report.as_text()
    assert report.as_text().startswith("Import refused: nothing was changed")
    assert Patient.objects.count() == 0 and LabResult.objects.count() == 0 and FhirLink.objects.count() == 0
    event = AuditEvent.objects.get(action=Action.FHIR_IMPORT)
    assert event.detail["outcome"] == "refused" and event.detail["errors"] >= 1


def test_patient_page_import_is_scoped_and_size_limited(
    unit_a: Unit,
    nurse_a: User,
    nurse_b: User,
    make_patient: Callable[..., Patient],
    client_for: Callable[[User], Client],
    settings: Any,
) -> None:
    patient = make_patient(unit_a, mrn="HD-0001", diabetes=None)
    url = reverse("interop:patient-import", kwargs={"public_id": patient.public_id})
    page = client_for(nurse_a).get(reverse("patients:detail", kwargs={"public_id": patient.public_id}))
    assert url in page.content.decode()
    upload = SimpleUploadedFile("labs-bundle.json", (EXAMPLES / "labs-bundle.json").read_bytes())
    response = client_for(nurse_a).post(url, {"files": [upload]})
    assert response.status_code == 200
    assert "9 added" in response.content.decode()
    assert patient.lab_results.count() == 9
    # another unit's patient is a 404, and nothing is imported
    upload = SimpleUploadedFile("labs-bundle.json", (EXAMPLES / "labs-bundle.json").read_bytes())
    assert client_for(nurse_b).post(url, {"files": [upload]}).status_code == 404
    settings.FHIR_IMPORT_MAX_BYTES = 1000
    upload = SimpleUploadedFile("labs-bundle.json", (EXAMPLES / "labs-bundle.json").read_bytes())
    response = client_for(nurse_a).post(url, {"files": [upload]})
    assert response.status_code == 400 and "larger than" in response.content.decode()


def test_patient_list_import_creates_patient_in_chosen_unit(
    unit_a: Unit, nurse_a: User, client_for: Callable[[User], Client]
) -> None:
    url = reverse("interop:import")
    client = client_for(nurse_a)
    assert client.get(url).status_code == 200
    files = [SimpleUploadedFile(name, data) for name, data in synthea_files()[:4]]
    response = client.post(url, {"unit": unit_a.pk, "files": files})
    assert response.status_code == 200, response.content.decode()[:2000]
    assert "sessions completed: 430" in response.content.decode()
    assert Patient.objects.get().unit == unit_a


def test_management_command(unit_a: Unit, tmp_path: Path) -> None:
    out = StringIO()
    paths = [str(SYNTHEA / f"{n}.ndjson") for n in SYNTHEA_FILES]
    call_command("fhir_import", "--unit", "north", *paths, stdout=out)
    assert "sessions completed: 430 (430 new)" in out.getvalue()
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(CommandError, match="Import refused"):
        call_command("fhir_import", "--unit", "north", str(bad), stdout=StringIO())
    with pytest.raises(CommandError, match="no unit"):
        call_command("fhir_import", "--unit", "nowhere", str(bad), stdout=StringIO())
