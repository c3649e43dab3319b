"""Sign-in, sign-out, idle log-off and the login wall."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.accounts.middleware import LAST_SEEN_KEY
from clinic.accounts.models import Membership, Unit, User
from clinic.audit.models import Action, AuditEvent
from clinic.patients.models import Patient
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_logout_are_audited(nurse_a: User) -> None:
    client = Client()
    response = client.post(reverse("login"), {"username": "nurse.a", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("patients:list")
    assert AuditEvent.objects.filter(action=Action.LOGIN, user=nurse_a).count() == 1
    assert client.post(reverse("logout")).status_code == 302
    assert AuditEvent.objects.filter(action=Action.LOGOUT, user=nurse_a).count() == 1
    assert client.get(reverse("patients:list")).status_code == 302


def test_failed_login_gives_a_clear_message_and_is_audited(nurse_a: User) -> None:
    response = Client().post(reverse("login"), {"username": "nurse.a", "password": "wrong"})
    assert response.status_code == 200
    assert "do not match" in response.content.decode()
    event = AuditEvent.objects.get(action=Action.LOGIN_FAILED)
    assert event.username == "nurse.a" and "wrong" not in str(event.detail)


def test_logout_needs_post(nurse_a: User, client_for: Callable[[User], Client]) -> None:
    client = client_for(nurse_a)
    assert client.get(reverse("logout")).status_code == 405
    assert client.get(reverse("patients:list")).status_code == 200


def test_idle_session_ends_and_login_returns_to_the_same_page(
    nurse_a: User, unit_a: Unit, make_patient: Callable[..., Patient], client_for: Callable[[User], Client], settings
) -> None:
    settings.SESSION_IDLE_MINUTES = 15
    patient = make_patient(unit_a)
    page = reverse("patients:detail", args=[patient.public_id])
    client = client_for(nurse_a)
    assert client.get(page).status_code == 200
    session = client.session
    session[LAST_SEEN_KEY] = time.time() - 16 * 60
    session.save()
    response = client.get(page)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login")) and "next=" in response["Location"]
    follow = client.get(response["Location"])
    assert "signed out after 15 minutes" in follow.content.decode()
    # Signing in again goes straight back to the page the nurse was on.
    back = client.post(response["Location"], {"username": "nurse.a", "password": PASSWORD, "next": page})
    assert back["Location"] == page


def test_active_session_is_not_ended(nurse_a: User, client_for: Callable[[User], Client], settings) -> None:
    settings.SESSION_IDLE_MINUTES = 15
    client = client_for(nurse_a)
    client.get(reverse("patients:list"))
    session = client.session
    session[LAST_SEEN_KEY] = time.time() - 14 * 60
    session.save()
    assert client.get(reverse("patients:list")).status_code == 200


def test_htmx_request_without_session_gets_hx_redirect() -> None:
    response = Client().get(reverse("patients:list"), headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(reverse("login"))


def test_login_page_redirects_signed_in_user(nurse_a: User, client_for: Callable[[User], Client]) -> None:
    assert client_for(nurse_a).get(reverse("login"))["Location"] == reverse("patients:list")


def test_repeated_failures_lock_the_account_from_that_address(nurse_a: User, settings) -> None:
    from axes.utils import reset

    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "nurse.a", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "nurse.a", "password": PASSWORD})
    assert response.status_code == 429
    assert "Sign-in is locked" in response.content.decode() and "unit admin" in response.content.decode()
    # The same nurse from another address is not locked out: a stranger cannot lock her out of her account.
    elsewhere = Client(REMOTE_ADDR="10.20.30.40")
    assert elsewhere.post(reverse("login"), {"username": "nurse.a", "password": PASSWORD}).status_code == 302
    # An admin unlock lets the nurse in again at once from the first address too.
    reset(username="nurse.a")
    assert client.post(reverse("login"), {"username": "nurse.a", "password": PASSWORD}).status_code == 302
    assert (
        AuditEvent.objects.filter(action=Action.LOGIN_FAILED, username="nurse.a").count() >= settings.AXES_FAILURE_LIMIT
    )


def test_an_over_long_username_is_a_field_error(nurse_a: User) -> None:
    response = Client().post(reverse("login"), {"username": "x" * 400, "password": "whatever"})
    assert response.status_code == 200
    assert "username" in response.context["form"].errors


def test_signed_in_user_and_memberships_load_in_two_flat_queries(
    client: Client, nurse_a: User, unit_a: Unit, unit_b: Unit
) -> None:
    """The user and, through a Prefetch, their memberships with units: two queries, however many units."""

    def user_queries() -> tuple[list[str], list[str]]:
        client.get(reverse("patients:list"))  # the first request stamps the session's activity
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("patients:list")).status_code == 200
        sql = [q["sql"] for q in ctx.captured_queries]
        return [q for q in sql if '"accounts_user"' in q], [q for q in sql if '"accounts_membership"' in q]

    client.force_login(nurse_a)
    users, memberships = user_queries()
    assert len(users) == 1 and len(memberships) == 1, (users, memberships)
    assert '"accounts_membership"' not in users[0] and '"accounts_user"' not in memberships[0]
    Membership.objects.create(user=nurse_a, unit=unit_b, role="nephrologist")
    for code in ("east", "west"):
        Membership.objects.create(user=nurse_a, unit=Unit.objects.create(code=code, name=code), role="nurse")
    assert user_queries() == (users, memberships)
    assert sorted(m.unit.code for m in User.objects.get(pk=nurse_a.pk).cached_memberships()) == sorted(
        [unit_a.code, unit_b.code, "east", "west"]
    )


def test_membership_changes_and_deactivation_apply_on_the_next_request(
    client: Client, nurse_a: User, unit_a: Unit, make_patient: Callable[..., Patient]
) -> None:
    patient = make_patient(unit_a)
    client.force_login(nurse_a)
    url = reverse("patients:detail", args=[patient.public_id])
    assert client.get(url).status_code == 200
    Membership.objects.filter(user=nurse_a).delete()  # revoked: the user has no membership at all now
    assert client.get(url).status_code == 404
    response = client.get(reverse("patients:list"))  # still signed in, but no patient page at all
    assert response.status_code == 403 and "not a member of any unit" in response.content.decode()
    assert client.get(reverse("patients:create")).status_code == 302
    User.objects.filter(pk=nurse_a.pk).update(is_active=False)
    response = client.get(reverse("patients:list"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_sessions_are_not_read_through_a_per_process_cache() -> None:
    """A cached session outlived its sign-out on every other process (issue 15); see test_sessions_multiprocess."""
    from django.conf import settings as live

    assert live.SESSION_ENGINE == "django.contrib.sessions.backends.db"


def test_password_spraying_from_one_address_is_throttled(nurse_a: User, settings) -> None:
    """A few guesses at many usernames from one address lock that address, whatever the next username."""
    sprayer = Client(REMOTE_ADDR="192.0.2.7")
    statuses = [
        sprayer.post(reverse("login"), {"username": f"guess.{number}", "password": "Winter2026!"}).status_code
        for number in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429], statuses
    blocked = sprayer.post(reverse("login"), {"username": "nurse.a", "password": PASSWORD})
    assert blocked.status_code == 429, "even a right password is refused from the locked address"
    assert (
        Client(REMOTE_ADDR="192.0.2.8")
        .post(reverse("login"), {"username": "nurse.a", "password": PASSWORD})
        .status_code
        == 302
    ), "other addresses are not affected"


def test_failures_below_the_limit_are_cleared_by_a_successful_sign_in_from_the_address(nurse_a: User, settings) -> None:
    ward = Client(REMOTE_ADDR="198.51.100.3")
    for number in range(settings.AXES_FAILURE_LIMIT - 1):
        ward.post(reverse("login"), {"username": f"typo.{number}", "password": "wrong"})
    assert ward.post(reverse("login"), {"username": "nurse.a", "password": PASSWORD}).status_code == 302
    ward.post(reverse("logout"))
    for number in range(settings.AXES_FAILURE_LIMIT - 1):
        ward.post(reverse("login"), {"username": f"typo.{number}", "password": "wrong"})
    assert ward.post(reverse("login"), {"username": "nurse.a", "password": PASSWORD}).status_code == 302
