from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from clinic.accounts.models import User
from clinic.patients.models import LabResult, Patient

pytestmark = pytest.mark.django_db


def test_demo_refuses_without_debug(settings) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("load_demo")
    assert not User.objects.exists()


def test_demo_is_idempotent_and_realistic(settings) -> None:
    settings.DEBUG = True
    call_command("load_demo", stdout=io.StringIO())
    counts = (User.objects.count(), Patient.objects.count(), LabResult.objects.count())
    call_command("load_demo", stdout=io.StringIO())
    assert (User.objects.count(), Patient.objects.count(), LabResult.objects.count()) == counts
    assert counts[1] >= 40
    for code in ("north", "south"):
        assert Patient.objects.filter(unit__code=code).count() >= 20
    meds = [m for p in Patient.objects.all() for m in p.medications]
    for drug in ("baclofen", "gabapentin", "aluminium_hydroxide"):
        assert drug in meds
    vintages = sorted(p.vintage_months() or 0 for p in Patient.objects.all())
    assert vintages[0] < 12 and vintages[-1] >= 12 * 15
    units_used = set(LabResult.objects.values_list("unit", flat=True))
    assert {"mmol/L", "mg/dL"} <= units_used


def test_demo_nurse_sees_only_her_unit(settings) -> None:
    settings.DEBUG = True
    call_command("load_demo", stdout=io.StringIO())
    client = Client()
    assert client.post(reverse("login"), {"username": "nurse.a", "password": "chairside-demo"}).status_code == 302
    html = client.get(reverse("patients:list")).content.decode()
    assert "AN1" in html and "BS1" not in html
    admin = Client()
    assert admin.post(reverse("login"), {"username": "admin", "password": "chairside-demo"}).status_code == 302
    assert "48 patients" in admin.get(reverse("patients:list")).content.decode()
