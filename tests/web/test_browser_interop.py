"""The FHIR import report and the retracted lab result, as a nurse sees them in Chromium."""

from __future__ import annotations

import json
from typing import Any

import pytest

from clinic.interop.fhir_import import import_fhir
from clinic.patients.models import LabResult
from tests.web.browser import DESKTOP, screenshot, serious_axe_violations, sign_in
from tests.web.test_browser_workup import chromium, clinic_data  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

MR = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}


def _file(status: str) -> bytes:
    patient = {
        "resourceType": "Patient",
        "id": "p1",
        "identifier": [{"type": MR, "system": "urn:mrn", "value": "AN100361"}],
        "name": [{"family": "Kowalski", "given": ["Walter"]}],
        "birthDate": "1967-08-16",
        "gender": "male",
    }
    potassium = {
        "resourceType": "Observation",
        "id": "k1",
        "status": status,
        "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}], "text": "Potassium"},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-11-01T07:00:00Z",
        "valueQuantity": {"value": 7.4, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"},
    }
    creatinine = potassium | {
        "id": "cr",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2160-0"}], "text": "Creatinine"},
    }
    entries = [{"resource": r} for r in (patient, potassium, creatinine)]
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}).encode()


def test_import_report_lists_retractions_and_unused_resources_and_history_marks_them(
    chromium: None,  # noqa: F811
    live_server: Any,
    clinic_data: dict[str, Any],  # noqa: F811
    browser: Any,
    tmp_path: Any,
) -> None:
    patient = clinic_data["patient"]
    assert import_fhir([("first.json", _file("final"))], unit=patient.unit, target=patient).ok
    upload = tmp_path / "retraction.json"
    upload.write_bytes(_file("entered-in-error"))
    page = browser.new_context(viewport=DESKTOP).new_page()
    sign_in(page, live_server.url, "nurse.a")
    page.goto(f"{live_server.url}/patients/{patient.public_id}/fhir/import/")
    page.set_input_files("input[type=file]", str(upload))
    page.get_by_role("button", name="Import").click()
    report = page.get_by_role("region", name="Import finished")
    report.wait_for()
    assert "— updated" in report.inner_text()  # a retraction is a change, never "already up to date"
    assert "Result retracted: Potassium 7.4 mmol/L" in page.locator("ul.retractions").inner_text()
    assert "Creatinine (Observation/cr): no LOINC code that Chairside reads" in page.locator("ul.not-used").inner_text()
    screenshot(page, "interop-import-report")
    assert serious_axe_violations(page) == []
    page.goto(f"{live_server.url}/patients/{patient.public_id}/labs/history/")
    row = page.get_by_role("row").filter(has_text="7.4")
    assert "entered in error" in row.inner_text()
    assert row.locator("s").count() == 1  # struck through, still listed
    screenshot(page, "interop-lab-history-retracted")
    assert LabResult.objects.get(source_ref="Observation/k1").retracted_at is not None
