"""Labs in a workup: results on file are offered (stale ones marked and left out of "Use all"), and results typed
into a workup land in the patient's lab record with the workup as their source."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from clinic.accounts.models import Unit, User
from clinic.patients.models import LabResult, LabSource, Patient
from clinic.workups.models import Workup
from tests.web.test_workups import post_step, step_url


@pytest.fixture
def patient(unit_a: Unit, make_patient: Callable[..., Patient]) -> Patient:
    pat = make_patient(unit_a)
    now = timezone.now()
    LabResult.objects.create(
        patient=pat, analyte="potassium", value=Decimal("4.8"), unit="mmol/L", value_si=4.8, taken_at=now
    )
    LabResult.objects.create(
        patient=pat,
        analyte="magnesium",
        value=Decimal("0.6"),
        unit="mmol/L",
        value_si=0.6,
        taken_at=now - dt.timedelta(days=90),
    )
    return pat


@pytest.fixture
def workup(patient: Patient, nurse_a: User) -> Workup:
    return Workup.objects.create(patient=patient, created_by=nurse_a, answers={})


def labs(**values: tuple[str, str]) -> dict[str, str]:
    data = {}
    for code, (value, unit) in values.items():
        data[f"{code}__value"], data[f"{code}__unit"], data[f"{code}__when"] = value, unit, "pre_dialysis"
    return data


def test_stale_results_are_marked_and_left_out_of_use_all(
    client_for: Callable[[User], Client], nurse_a: User, workup: Workup
) -> None:
    page = client_for(nurse_a).get(step_url(workup, "labs"))
    html = page.content.decode()
    assert "Use all 1 current result on file" in html
    rows = {row[0]: row for row in page.context["lab_rows"]}
    assert rows["potassium"][6] is False and rows["magnesium"][6] is True
    assert html.count('data-fresh="1"') == 1 and html.count('data-fresh="0"') == 1
    assert "Stale: older than 35 days" in html
    assert f"{timezone.now():%Y}" in html.split('id="lab-magnesium"')[1].split("lab-row")[0]  # the year is shown


def test_workup_results_go_to_the_patients_record_with_the_workup_as_source(
    client_for: Callable[[User], Client], nurse_a: User, workup: Workup, patient: Patient
) -> None:
    client = client_for(nurse_a)
    post_step(client, workup, "labs", labs(potassium=("4.8", "mmol/L"), calcium_total=("2.1", "mmol/L")))
    recorded = LabResult.objects.filter(patient=patient, source=LabSource.WORKUP)
    # Potassium was re-used unchanged from the record: not recorded twice.
    assert [(r.analyte, r.value, r.entered_by) for r in recorded] == [("calcium_total", Decimal("2.100"), nurse_a)]
    assert recorded.get().source_ref == f"workup:{workup.public_id}:calcium_total"

    workup.refresh_from_db()
    post_step(client, workup, "labs", labs(potassium=("5.9", "mmol/L"), calcium_total=("2.2", "mmol/L")))
    assert sorted((r.analyte, r.value) for r in recorded.all()) == [
        ("calcium_total", Decimal("2.200")),
        ("potassium", Decimal("5.900")),
    ]
    workup.refresh_from_db()
    post_step(client, workup, "labs", labs(potassium=("5.9", "mmol/L")))
    assert [r.analyte for r in recorded.all()] == ["potassium"]  # a cleared value leaves the record
    # The patient page shows what the plan used, and the workup's own result is not offered back as "on file".
    assert "Entered in a workup" in client.get(f"/patients/{patient.public_id}/labs/history/").content.decode()
    page = client.get(step_url(workup, "labs"))
    assert {row[0]: row[5] for row in page.context["lab_rows"]}["potassium"].value == Decimal("4.8")


def test_each_unit_is_offered_once_and_the_ascii_spelling_still_reads() -> None:
    from clinic.core.codes import all_unit_choices
    from clinic.workups.forms import LabsForm

    form = LabsForm({"aluminium__value": "20", "aluminium__unit": "ug/L"})
    assert [u for u, _ in form.fields["aluminium__unit"].choices].count("µg/L") == 1
    assert "ug/L" not in dict(form.fields["aluminium__unit"].choices)
    assert "ug/L" not in dict(all_unit_choices()) and "µg/L" in dict(all_unit_choices())
    assert form.is_valid(), form.errors
    assert form.to_answers()["labs"][0]["unit"] == "µg/L"
