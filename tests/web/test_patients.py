"""Patient list, detail, create and edit: unit scoping, validation messages, audit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic.accounts.models import Unit, User
from clinic.audit.models import Action, AuditEvent
from clinic.patients.models import LabResult, Patient

pytestmark = pytest.mark.django_db


def valid_form(**overrides: Any) -> dict[str, Any]:
    data = {
        "mrn": "N-7001",
        "given_name": "Grace",
        "family_name": "Hughes",
        "date_of_birth": "1951-02-03",
        "sex": "female",
        "dialysis_started": "2012-06-01",
        "dry_weight_kg": "64.5",
        "diabetes": "yes",
        "hepatic_impairment": "none",
        "access": "fistula",
        "conditions": ["heart_block"],
        "medications": ["sevelamer", "baclofen"],
        "lab_unit_system": "",
    }
    data.update(overrides)
    return data


def test_list_shows_only_own_unit(
    nurse_a: User,
    unit_a: Unit,
    unit_b: Unit,
    make_patient: Callable[..., Patient],
    client_for: Callable[[User], Client],
) -> None:
    mine = make_patient(unit_a, family_name="Alpha")
    theirs = make_patient(unit_b, family_name="Bravo")
    html = client_for(nurse_a).get(reverse("patients:list")).content.decode()
    assert "Alpha" in html and str(mine.public_id) in html
    assert "Bravo" not in html and str(theirs.public_id) not in html


def test_search_by_name_and_mrn(
    nurse_a: User, unit_a: Unit, make_patient: Callable[..., Patient], client_for: Callable[[User], Client]
) -> None:
    make_patient(unit_a, family_name="Kowalski", mrn="A-1")
    make_patient(unit_a, family_name="Mensah", mrn="B-2")
    client = client_for(nurse_a)
    assert "Kowalski" in client.post(reverse("patients:list"), {"q": "kowal"}).content.decode()
    html = client.post(reverse("patients:list"), {"q": "B-2"}).content.decode()
    assert "Mensah" in html and "Kowalski" not in html


def test_htmx_search_returns_only_the_results_fragment(
    nurse_a: User, unit_a: Unit, make_patient: Callable[..., Patient], client_for: Callable[[User], Client]
) -> None:
    make_patient(unit_a, family_name="Kowalski")
    response = client_for(nurse_a).post(reverse("patients:list"), {"q": "kow"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="results">')
    assert "<nav" not in html.split('<div id="results">')[0]
    assert response["Vary"].find("HX-Request") >= 0


def test_search_terms_never_appear_in_urls(
    nurse_a: User, unit_a: Unit, make_patient: Callable[..., Patient], client_for: Callable[[User], Client]
) -> None:
    for i in range(30):
        make_patient(unit_a, family_name=f"Kowalski{i:02d}")
    client = client_for(nurse_a)
    html = client.post(reverse("patients:list"), {"q": "Kowalski"}).content.decode()
    assert "Page 1 of 2" in html
    assert "q=Kowalski" not in html and "?q=" not in html
    second = client.post(reverse("patients:list"), {"q": "Kowalski", "page": "2"}).content.decode()
    assert "Page 2 of 2" in second
    # A name in the query string is ignored, so nobody is tempted to bookmark one.
    assert "30 patients" in client.get(reverse("patients:list") + "?q=Kowalski00").content.decode()


def test_pagination(
    nurse_a: User, unit_a: Unit, make_patient: Callable[..., Patient], client_for: Callable[[User], Client]
) -> None:
    for i in range(30):
        make_patient(unit_a, family_name=f"Zed{i:02d}")
    client = client_for(nurse_a)
    first = client.get(reverse("patients:list")).content.decode()
    assert "Page 1 of 2" in first and "30 patients" in first
    second = client.get(reverse("patients:list"), {"page": 2}).content.decode()
    assert "Page 2 of 2" in second
    assert "Page 2 of 2" in client.get(reverse("patients:list"), {"page": "999"}).content.decode()
    assert "Page 1 of 2" in client.get(reverse("patients:list"), {"page": "junk"}).content.decode()


def test_other_units_patient_is_404_everywhere(
    nurse_a: User, unit_b: Unit, make_patient: Callable[..., Patient], client_for: Callable[[User], Client]
) -> None:
    theirs = make_patient(unit_b)
    client = client_for(nurse_a)
    assert client.get(reverse("patients:detail", args=[theirs.public_id])).status_code == 404
    assert client.get(reverse("patients:edit", args=[theirs.public_id])).status_code == 404
    assert client.post(reverse("patients:edit", args=[theirs.public_id]), valid_form()).status_code == 404
    assert client.post(reverse("patients:lab-create", args=[theirs.public_id]), {}).status_code == 404
    assert client.get(reverse("patients:lab-history", args=[theirs.public_id])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.given_name == "Pat"


def test_detail_records_a_view_event_without_identifiable_data(
    nurse_a: User, unit_a: Unit, make_patient: Callable[..., Patient], client_for: Callable[[User], Client]
) -> None:
    patient = make_patient(unit_a, family_name="Rossi")
    response = client_for(nurse_a).get(reverse("patients:detail", args=[patient.public_id]))
    assert response.status_code == 200
    event = AuditEvent.objects.get(action=Action.PATIENT_VIEW)
    assert event.user == nurse_a and event.unit == unit_a and event.patient_public_id == patient.public_id
    assert event.client_ip == "127.0.0.1"
    assert "Rossi" not in str(event.detail) and patient.mrn not in str(event.detail)


def test_create_patient(nurse_a: User, unit_a: Unit, client_for: Callable[[User], Client]) -> None:
    response = client_for(nurse_a).post(reverse("patients:create"), valid_form(unit=unit_a.pk))
    patient = Patient.objects.get(mrn="N-7001")
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:detail", args=[patient.public_id])
    assert str(patient.public_id) in response["Location"] and "N-7001" not in response["Location"]
    assert patient.unit == unit_a and patient.diabetes is True
    assert patient.medications == ["sevelamer", "baclofen"] or sorted(patient.medications) == ["baclofen", "sevelamer"]
    assert AuditEvent.objects.filter(action=Action.PATIENT_CREATE, patient_public_id=patient.public_id).exists()


def test_cannot_create_a_patient_in_another_unit(
    nurse_a: User, unit_a: Unit, unit_b: Unit, client_for: Callable[[User], Client]
) -> None:
    response = client_for(nurse_a).post(reverse("patients:create"), valid_form(unit=unit_b.pk))
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Patient.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"date_of_birth": "2999-01-01"}, "date_of_birth", "in the future"),
        ({"date_of_birth": "1850-01-01"}, "date_of_birth", "not possible"),
        ({"date_of_birth": "not a date"}, "date_of_birth", "Enter a valid date"),
        ({"date_of_birth": ""}, "date_of_birth", "This field is required"),
        ({"dry_weight_kg": "-3"}, "dry_weight_kg", "more than 0 kg"),
        ({"dry_weight_kg": "700"}, "dry_weight_kg", "between 20 and 300 kg"),
        ({"dialysis_started": "1940-01-01"}, "dialysis_started", "before the date of birth"),
        ({"conditions": ["broken_leg"]}, "conditions", "Select a valid choice"),
        ({"mrn": "   "}, "mrn", "required"),
        ({"given_name": "x" * 500}, "given_name", "at most 100 characters"),
    ],
)
def test_bad_input_gets_a_field_message_and_saves_nothing(
    nurse_a: User,
    unit_a: Unit,
    client_for: Callable[[User], Client],
    overrides: dict[str, Any],
    field: str,
    message: str,
) -> None:
    response = client_for(nurse_a).post(reverse("patients:create"), valid_form(unit=unit_a.pk, **overrides))
    assert response.status_code == 400
    form = response.context["form"]
    assert field in form.errors, form.errors
    assert any(message in error for error in form.errors[field]), form.errors[field]
    assert "Nothing was saved" in response.content.decode()
    assert not Patient.objects.exists()


@pytest.mark.parametrize("field", ["dry_weight_kg", "residual_urine_ml_per_day"])
def test_patient_form_bounds_are_the_engines(field: str, nurse_a: User, unit_a: Unit) -> None:
    """The record refuses exactly what the engine would refuse in a case (one place for each bound)."""
    from clinic.engine.validation import PATIENT
    from clinic.patients.forms import PatientForm

    spec = PATIENT[field]
    edge = int(spec.hi) if field == "residual_urine_ml_per_day" else spec.hi
    above = edge + 1 if field == "residual_urine_ml_per_day" else spec.hi + 0.5
    errors = {
        value: PatientForm(data=valid_form(unit=unit_a.pk, **{field: str(value)}), user=nurse_a).errors
        for value in (edge, above)
    }
    assert field not in errors[edge], errors[edge]
    assert field in errors[above], errors[above]


def test_duplicate_mrn_in_same_unit_is_refused_and_nothing_changes(
    nurse_a: User, unit_a: Unit, make_patient: Callable[..., Patient], client_for: Callable[[User], Client]
) -> None:
    existing = make_patient(unit_a, mrn="N-7001", given_name="Original")
    response = client_for(nurse_a).post(reverse("patients:create"), valid_form(unit=unit_a.pk, mrn="n-7001"))
    assert response.status_code == 400
    assert "already has MRN" in " ".join(response.context["form"].errors["mrn"])
    assert Patient.objects.count() == 1
    existing.refresh_from_db()
    assert existing.given_name == "Original"


def test_same_mrn_allowed_in_another_unit(
    nurse_b: User,
    unit_a: Unit,
    unit_b: Unit,
    make_patient: Callable[..., Patient],
    client_for: Callable[[User], Client],
) -> None:
    make_patient(unit_a, mrn="N-7001")
    response = client_for(nurse_b).post(reverse("patients:create"), valid_form(unit=unit_b.pk))
    assert response.status_code == 302
    assert Patient.objects.filter(mrn="N-7001").count() == 2


def test_edit_patient_keeps_unit_and_records_changed_fields(
    nurse_a: User, unit_a: Unit, make_patient: Callable[..., Patient], client_for: Callable[[User], Client]
) -> None:
    patient = make_patient(unit_a, mrn="N-7001")
    response = client_for(nurse_a).post(
        reverse("patients:edit", args=[patient.public_id]), valid_form(dry_weight_kg="66.0", diabetes="")
    )
    assert response.status_code == 302
    patient.refresh_from_db()
    assert float(patient.dry_weight_kg) == 66.0
    assert patient.diabetes is None  # "not recorded" stays distinct from "no"
    event = AuditEvent.objects.get(action=Action.PATIENT_EDIT)
    assert "dry_weight_kg" in event.detail["fields"]


def test_failed_edit_changes_nothing(
    nurse_a: User, unit_a: Unit, make_patient: Callable[..., Patient], client_for: Callable[[User], Client]
) -> None:
    patient = make_patient(unit_a, mrn="N-7001", given_name="Keep")
    response = client_for(nurse_a).post(
        reverse("patients:edit", args=[patient.public_id]), valid_form(given_name="Changed", dry_weight_kg="-1")
    )
    assert response.status_code == 400
    patient.refresh_from_db()
    assert patient.given_name == "Keep"
    # The nurse's typing is still in the form, so nothing she entered is lost.
    assert 'value="Changed"' in response.content.decode()


def test_record_lab_in_us_units_stores_si(
    nurse_a: User, unit_a: Unit, make_patient: Callable[..., Patient], client_for: Callable[[User], Client]
) -> None:
    patient = make_patient(unit_a)
    taken = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    response = client_for(nurse_a).post(
        reverse("patients:lab-create", args=[patient.public_id]),
        {"analyte": "magnesium", "value": "1.7", "unit": "mg/dL", "taken_at": taken},
    )
    assert response.status_code == 302, response.context["lab_form"].errors if response.context else None
    lab = LabResult.objects.get()
    assert lab.unit == "mg/dL" and float(lab.value) == 1.7
    assert lab.value_si == pytest.approx(1.7 * 0.41144, abs=1e-4)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"analyte": "potassium", "value": "5", "unit": "mg/dL"}, "unit"),
        ({"analyte": "magnesium", "value": "50", "unit": "mmol/L"}, "value"),
        ({"analyte": "magnesium", "value": "abc", "unit": "mmol/L"}, "value"),
        ({"analyte": "unobtainium", "value": "1", "unit": "mmol/L"}, "analyte"),
    ],
)
def test_bad_lab_input_gets_a_field_message(
    nurse_a: User,
    unit_a: Unit,
    make_patient: Callable[..., Patient],
    client_for: Callable[[User], Client],
    data: dict[str, str],
    field: str,
) -> None:
    patient = make_patient(unit_a)
    data = {**data, "taken_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")}
    response = client_for(nurse_a).post(reverse("patients:lab-create", args=[patient.public_id]), data)
    assert response.status_code == 400
    assert field in response.context["lab_form"].errors
    assert not LabResult.objects.exists()


def test_lab_history_is_fetched_when_opened_and_audited(
    nurse_a: User, unit_a: Unit, make_patient: Callable[..., Patient], client_for: Callable[[User], Client]
) -> None:
    patient = make_patient(unit_a)
    now = timezone.now()
    for day in range(12):
        LabResult.objects.create(
            patient=patient, analyte="potassium", value=4 + day / 10, unit="mmol/L", value_si=4 + day / 10,
            taken_at=now - timezone.timedelta(days=day),
        )  # fmt: skip
    client = client_for(nurse_a)
    page = client.get(reverse("patients:detail", args=[patient.public_id])).content.decode()
    history_url = reverse("patients:lab-history", args=[patient.public_id])
    assert "All recent results (12)" in page and f'hx-get="{history_url}"' in page
    assert '<th scope="col">Source</th>' not in page  # the history table comes only when opened
    fragment = client.get(history_url, headers={"HX-Request": "true"})
    body = fragment.content.decode()
    assert fragment.status_code == 200 and "<html" not in body and body.count("<tr>") == 13  # header + 12
    assert "5.1 mmol/L" in body and "<caption" in body
    full = client.get(history_url).content.decode()
    assert "<html" in full and "All recent results" in full and full.count("<tr>") == 13
    views = AuditEvent.objects.filter(action=Action.PATIENT_VIEW, patient_public_id=patient.public_id)
    assert [e.detail for e in views.order_by("id")][1:] == [{"section": "lab history"}] * 2
