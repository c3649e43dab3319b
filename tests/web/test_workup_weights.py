"""One target (dry) weight on the dialysis step, pre-filled from the patient's current dry weight with its date,
and a visible warning when the target entered differs from it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic.accounts.models import Unit, User
from clinic.patients.models import Patient
from clinic.workups.models import Workup
from tests.web.test_workups import step_url


def test_target_is_prefilled_from_the_dry_weight_with_its_date(
    client_for: Callable[[User], Client], nurse_a: User, unit_a: Unit, make_patient: Callable[..., Patient]
) -> None:
    patient = make_patient(unit_a, dry_weight_kg=Decimal("68.5"), dry_weight_set_on=dt.date(2026, 3, 12))
    workup = Workup.objects.create(patient=patient, created_by=nurse_a, answers={})
    client = client_for(nurse_a)
    page = client.get(step_url(workup, "dialysis"))
    html = page.content.decode()
    form = page.context["form"]
    assert "dry_weight_kg" not in form.fields  # one weight field, not two
    assert form["target_weight_kg"].value() == 68.5
    assert "Recorded dry weight 68.5 kg, set 12 Mar 2026" in html

    preview = client.post(
        reverse("workups:dialysis-preview", args=[workup.public_id]), {"target_weight_kg": "71"}
    ).content.decode()
    assert "Target differs from the recorded dry weight" in preview
    assert "71 kg entered, 68.5 kg on record (set 12 Mar 2026)" in preview
    same = client.post(reverse("workups:dialysis-preview", args=[workup.public_id]), {"target_weight_kg": "68.5"})
    assert "differs" not in same.content.decode()


def test_changing_the_dry_weight_on_the_patient_page_dates_it(
    client_for: Callable[[User], Client], nurse_a: User, unit_a: Unit, make_patient: Callable[..., Patient]
) -> None:
    patient = make_patient(unit_a, dry_weight_kg=Decimal("70.0"))
    client = client_for(nurse_a)
    edit = client.get(reverse("patients:edit", args=[patient.public_id]))
    data = {
        name: value
        for name, value in edit.context["form"].initial.items()
        if value is not None and name in edit.context["form"].fields
    }
    data.update({"dry_weight_kg": "69.0", "date_of_birth": "1960-05-17"})
    response = client.post(reverse("patients:edit", args=[patient.public_id]), data)
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    patient.refresh_from_db()
    assert patient.dry_weight_kg == Decimal("69.0")
    assert patient.dry_weight_set_on == timezone.localdate()
