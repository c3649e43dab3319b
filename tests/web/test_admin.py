"""The Django admin as a superuser: every registered model's list, add page and one object's change page answer
without a server error (seven of them answered 500 when the form renderer could not find the admin's widget
templates), and a user can be deactivated from the admin, which signs them out at their next request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic.accounts.models import User
from clinic.api.models import ApiToken
from clinic.audit.models import Action, AuditEvent
from clinic.audit.services import record
from clinic.patients.models import LabResult, Patient
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.django_db

# The pages that failed with the Jinja2-only form renderer: they must render, not merely avoid a 5xx.
MUST_RENDER = [
    "admin:accounts_user_add",
    "admin:accounts_user_change",
    "admin:patients_patient_add",
    "admin:patients_patient_change",
    "admin:patients_labresult_add",
    "admin:patients_labresult_change",
    "admin:auth_group_add",
]


@pytest.fixture
def superuser_client(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.org", PASSWORD))
    return client


@pytest.fixture
def admin_objects(scoped_objects: dict[str, Any], nurse_a: User) -> dict[str, Any]:
    """At least one object of every model with a change page, so each change page is really opened."""
    patient: Patient = scoped_objects["patient"]
    LabResult.objects.create(
        patient=patient, analyte="potassium", value=4.1, unit="mmol/L", value_si=4.1, taken_at=timezone.now()
    )
    ApiToken.issue(nurse_a, name="walker")
    record(Action.LOGIN, user=nurse_a)
    Group.objects.create(name="Walkers")
    Client().post(reverse("login"), {"username": "nurse.a", "password": "wrong"})  # an axes access attempt
    return scoped_objects


def test_every_admin_page_opens_without_a_server_error(superuser_client: Client, admin_objects: dict[str, Any]) -> None:
    opened: dict[str, int] = {}
    assert superuser_client.get(reverse("admin:index")).status_code == 200
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        pages = [(f"{prefix}_changelist", ()), (f"{prefix}_add", ())]
        instance = model._default_manager.order_by("pk").first()
        if instance is not None:
            pages.append((f"{prefix}_change", (instance.pk,)))
            pages.append((f"{prefix}_history", (instance.pk,)))
        for name, args in pages:
            response = superuser_client.get(reverse(name, args=args))
            opened[name] = response.status_code
            assert response.status_code < 500, (name, response.status_code)
    for name in MUST_RENDER:
        assert opened.get(name) == 200, (name, opened.get(name))
    changes = {name for name in opened if name.endswith("_change")}
    assert len(changes) >= 8, sorted(changes)  # user, unit, group, patient, lab, token, audit event, axes attempt
    assert all(status in {200, 302, 403} for status in opened.values()), opened


def test_a_user_is_deactivated_from_the_admin_and_signed_out(
    superuser_client: Client,
    nurse_a: User,
    scoped_objects: dict[str, Any],
    client_for: Callable[[User], Client],
) -> None:
    nurse = client_for(nurse_a)
    detail = reverse("patients:detail", args=[scoped_objects["patient"].public_id])
    assert nurse.get(detail).status_code == 200
    change = superuser_client.get(reverse("admin:accounts_user_change", args=[nurse_a.pk])).content.decode()
    assert 'name="is_active"' in change  # the checkbox on the user's page works too
    response = superuser_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "deactivate_users", "_selected_action": [nurse_a.pk]},
        follow=True,
    )
    assert response.status_code == 200 and "Deactivated 1 user" in response.content.decode()
    nurse_a.refresh_from_db()
    assert not nurse_a.is_active
    assert AuditEvent.objects.filter(action=Action.STAFF_CHANGE, detail__change="deactivate").count() == 1
    signed_out = nurse.get(detail)
    assert signed_out.status_code == 302 and signed_out["Location"].startswith(reverse("login"))
    superuser_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "reactivate_users", "_selected_action": [nurse_a.pk]},
    )
    nurse_a.refresh_from_db()
    assert nurse_a.is_active


def test_the_admin_never_deactivates_the_signed_in_superuser(superuser_client: Client) -> None:
    root = User.objects.get(username="root")
    superuser_client.post(
        reverse("admin:accounts_user_changelist"), {"action": "deactivate_users", "_selected_action": [root.pk]}
    )
    root.refresh_from_db()
    assert root.is_active
