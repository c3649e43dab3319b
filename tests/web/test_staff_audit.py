"""Unit admins manage their unit's staff and read its audit log; nobody else can."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

from clinic.accounts.models import Membership, Role, Unit, User
from clinic.audit.models import Action, AuditEvent
from clinic.audit.services import record
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_a(unit_a: Unit) -> User:
    user = User.objects.create_user("admin.a", password=PASSWORD)
    Membership.objects.create(user=user, unit=unit_a, role=Role.UNIT_ADMIN)
    return user


def test_staff_and_audit_pages_are_for_unit_admins_only(
    admin_a: User, nurse_a: User, client_for: Callable[[User], Client]
) -> None:
    assert client_for(nurse_a).get(reverse("staff")).status_code == 404
    assert client_for(nurse_a).get(reverse("audit")).status_code == 404
    page = client_for(admin_a).get(reverse("staff")).content.decode()
    assert "nurse.a" in page and "Unit A (North)" in page
    assert "Audit log" in page  # navigation shows the admin pages


def test_admin_adds_changes_and_removes_staff(
    admin_a: User, nurse_a: User, unit_a: Unit, unit_b: Unit, client_for: Callable[[User], Client]
) -> None:
    client = client_for(admin_a)
    client.post(
        reverse("staff-add", args=["north"]),
        {"username": "new.nurse", "role": "nurse", "first_name": "New", "password": "a-very-long-temp-pass"},
    )
    new = User.objects.get(username="new.nurse")
    assert new.check_password("a-very-long-temp-pass") and new.role_in(unit_a) == Role.NURSE
    membership = Membership.objects.get(user=nurse_a)
    client.post(reverse("staff-change", args=["north", membership.pk]), {"role": "nephrologist"})
    membership.refresh_from_db()
    assert membership.role == Role.NEPHROLOGIST
    client.post(reverse("staff-change", args=["north", membership.pk]), {"remove": "1"})
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert AuditEvent.objects.filter(action=Action.STAFF_CHANGE).count() == 3
    # Another unit's staff cannot be managed from here.
    assert client.post(reverse("staff-add", args=["south"]), {"username": "x", "role": "nurse"}).status_code == 404


@pytest.mark.parametrize("change", [{"remove": "1"}, {"role": "nurse"}, {"role": "nephrologist"}])
def test_the_last_unit_admin_is_never_removed_or_demoted(
    admin_a: User, unit_a: Unit, unit_b: Unit, client_for: Callable[[User], Client], change: dict[str, str]
) -> None:
    """Not by another admin, not by themselves (a unit with no admin could not manage its staff again)."""
    other = User.objects.create_user("admin.other", password=PASSWORD)
    Membership.objects.create(user=other, unit=unit_b, role=Role.UNIT_ADMIN)  # admin elsewhere only
    mine = Membership.objects.get(user=admin_a)
    client = client_for(admin_a)
    page = client.post(reverse("staff-change", args=["north", mine.pk]), change, follow=True).content.decode()
    refusal = "cannot remove yourself" if "remove" in change else "last unit admin of Unit A (North)"
    assert refusal in page
    # Re-adding herself with another role is refused as well.
    page = client.post(reverse("staff-add", args=["north"]), {"username": "admin.a", "role": "nurse"}, follow=True)
    assert "last unit admin" in page.content.decode()
    mine.refresh_from_db()
    assert mine.role == Role.UNIT_ADMIN
    assert not AuditEvent.objects.filter(action=Action.STAFF_CHANGE).exists()


def test_an_admin_is_demoted_or_removed_while_another_remains(
    admin_a: User, unit_a: Unit, client_for: Callable[[User], Client]
) -> None:
    second = User.objects.create_user("admin.second", password=PASSWORD)
    theirs = Membership.objects.create(user=second, unit=unit_a, role=Role.UNIT_ADMIN)
    mine = Membership.objects.get(user=admin_a)
    client = client_for(admin_a)
    client.post(reverse("staff-change", args=["north", theirs.pk]), {"role": "nephrologist"})
    theirs.refresh_from_db()
    assert theirs.role == Role.NEPHROLOGIST
    # Now admin.a is the last one: she cannot demote herself.
    client.post(reverse("staff-change", args=["north", mine.pk]), {"role": "nurse"})
    mine.refresh_from_db()
    assert mine.role == Role.UNIT_ADMIN
    # Promote the other again; then removing them is refused only when they would be the last.
    client.post(reverse("staff-change", args=["north", theirs.pk]), {"role": "unit_admin"})
    client.post(reverse("staff-change", args=["north", theirs.pk]), {"remove": "1"})
    assert not Membership.objects.filter(pk=theirs.pk).exists()
    client.post(reverse("staff-change", args=["north", mine.pk]), {"role": "nephrologist"})
    mine.refresh_from_db()
    assert mine.role == Role.UNIT_ADMIN


def test_weak_temporary_password_is_refused(admin_a: User, client_for: Callable[[User], Client]) -> None:
    client_for(admin_a).post(
        reverse("staff-add", args=["north"]), {"username": "weak", "role": "nurse", "password": "123"}
    )
    assert not User.objects.filter(username="weak").exists()


def test_admin_unlocks_a_locked_account(
    admin_a: User, nurse_a: User, client_for: Callable[[User], Client], settings
) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        Client().post(reverse("login"), {"username": "nurse.a", "password": "wrong"})
    assert AccessAttempt.objects.filter(username="nurse.a").exists()
    client = client_for(admin_a)
    assert "locked" in client.get(reverse("staff")).content.decode()
    membership = Membership.objects.get(user=nurse_a)
    client.post(reverse("staff-unlock", args=["north", membership.pk]))
    assert not AccessAttempt.objects.filter(username="nurse.a").exists()
    assert Client().post(reverse("login"), {"username": "nurse.a", "password": PASSWORD}).status_code == 302


def test_audit_log_shows_own_units_and_filters(
    admin_a: User, nurse_a: User, nurse_b: User, unit_a: Unit, unit_b: Unit, client_for: Callable[[User], Client]
) -> None:
    record(Action.PATIENT_VIEW, user=nurse_a, unit=unit_a, detail={"n": 1})
    record(Action.PATIENT_VIEW, user=nurse_b, unit=unit_b, detail={"n": 2})
    record(Action.LOGIN, user=nurse_a)
    record(Action.LOGIN, user=nurse_b)
    client = client_for(admin_a)
    html = client.get(reverse("audit")).content.decode()
    assert "nurse.a" in html and "nurse.b" not in html
    filtered = client.get(reverse("audit"), {"action": "login"}).content.decode()
    assert "<td>Signed in</td>" in filtered and "<td>Viewed patient</td>" not in filtered
    bad = client.get(reverse("audit"), {"patient": "not-a-uuid", "day": "yesterday"})
    assert bad.status_code == 200 and "opaque id" in bad.content.decode()
    assert AuditEvent.objects.filter(action=Action.AUDIT_VIEW, user=admin_a).exists()


def test_keepalive_resets_the_idle_clock(nurse_a: User, client_for: Callable[[User], Client], settings) -> None:
    import time

    from clinic.accounts.middleware import LAST_SEEN_KEY

    client = client_for(nurse_a)
    client.get(reverse("patients:list"))
    session = client.session
    session[LAST_SEEN_KEY] = time.time() - 10 * 60
    session.save()
    assert client.post(reverse("keepalive")).status_code == 204
    assert time.time() - client.session[LAST_SEEN_KEY] < 5
    assert client.get(reverse("keepalive")).status_code == 405
