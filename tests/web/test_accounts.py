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
from clinic.accounts.models import Membership, Role, Unit, User
from clinic.audit.models import Action, AuditEvent
from clinic.patients.models import Patient
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_logout_are_audited(nurse_a: User) -> None:
    client = Client()
    response = client.post(reverse("login"), {"username": "nurse.a", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("home")
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
    assert client_for(nurse_a).get(reverse("login"))["Location"] == reverse("home")


@pytest.mark.parametrize(
    ("role", "home"),
    [(Role.NEPHROLOGIST, "workups:worklist"), (Role.NURSE, "workups:worklist"), (Role.UNIT_ADMIN, "patients:list")],
)
def test_signing_in_lands_on_the_home_of_the_role(unit_a: Unit, role: str, home: str) -> None:
    """A nephrologist (and a nurse) starts at the worklist after signing in, a unit admin at the patient list."""
    User.objects.create_user("someone", password=PASSWORD)
    Membership.objects.create(user=User.objects.get(username="someone"), unit=unit_a, role=role)
    response = Client().post(reverse("login"), {"username": "someone", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse(home), response.redirect_chain
    assert response.status_code == 200


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


def test_signed_in_user_and_memberships_load_in_one_flat_query(
    client: Client, nurse_a: User, unit_a: Unit, unit_b: Unit
) -> None:
    """The user with their memberships and units: one query per request, however many units."""

    def user_queries() -> list[str]:
        client.get(reverse("patients:list"))  # the first request stamps the session's activity
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("patients:list")).status_code == 200
        return [q["sql"] for q in ctx.captured_queries if '"accounts_user"' in q["sql"] or "membership" in q["sql"]]

    client.force_login(nurse_a)
    queries = user_queries()
    assert len(queries) == 1 and '"accounts_membership"' in queries[0] and '"accounts_user"' in queries[0], queries
    Membership.objects.create(user=nurse_a, unit=unit_b, role="nephrologist")
    for code in ("east", "west"):
        Membership.objects.create(user=nurse_a, unit=Unit.objects.create(code=code, name=code), role="nurse")
    assert user_queries() == queries
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
    from importlib import import_module

    from django.conf import settings as live
    from django.contrib.sessions.backends import cached_db, db

    store = import_module(live.SESSION_ENGINE).SessionStore
    assert issubclass(store, db.SessionStore) and not issubclass(store, cached_db.SessionStore)
    assert live.SESSION_ENGINE in ("django.contrib.sessions.backends.db", "clinic.accounts.sessions")


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


def test_the_user_and_their_memberships_are_read_in_one_query(nurse_a: User, unit_a: Unit, unit_b: Unit) -> None:
    from clinic.accounts.backends import MembershipsModelBackend
    from clinic.accounts.models import Role

    Membership.objects.create(user=nurse_a, unit=unit_b, role=Role.NEPHROLOGIST)
    backend = MembershipsModelBackend()
    with CaptureQueriesContext(connection) as ctx:
        user = backend.get_user(nurse_a.pk)
        assert user is not None and user.pk == nurse_a.pk and user.username == "nurse.a"
        assert user.unit_ids() == [unit_a.pk, unit_b.pk]  # by unit name, as before
        assert user.role_in(unit_b) == Role.NEPHROLOGIST and user.primary_role() == Role.NEPHROLOGIST
        assert all(m.user is user and m.unit.name for m in user.cached_memberships())
    assert len(ctx.captured_queries) == 1, [q["sql"] for q in ctx.captured_queries]
    # Without any membership (a superuser working in the admin), the user alone, with no units.
    admin = User.objects.create_superuser("root", password=PASSWORD)
    loaded = backend.get_user(admin.pk)
    assert loaded is not None and loaded.is_superuser and loaded.unit_ids() == []
    # Revoked and deactivated count at the next read; unknown and malformed ids are no one.
    Membership.objects.filter(user=nurse_a, unit=unit_b).delete()
    assert backend.get_user(nurse_a.pk).unit_ids() == [unit_a.pk]
    User.objects.filter(pk=nurse_a.pk).update(is_active=False)
    assert backend.get_user(nurse_a.pk) is None
    assert backend.get_user(10**9) is None and backend.get_user("not a number") is None


def test_an_existing_session_is_saved_with_one_update_and_never_brought_back(nurse_a: User) -> None:
    from importlib import import_module

    from django.conf import settings
    from django.contrib.sessions.backends.base import UpdateError
    from django.contrib.sessions.models import Session

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store["k"] = 1
    store.save(must_create=True)
    key = store.session_key
    store["k"] = 2
    with CaptureQueriesContext(connection) as ctx:
        store.save()
    sql = [q["sql"] for q in ctx.captured_queries]
    assert len(sql) == 1 and sql[0].startswith('UPDATE "django_session"'), sql
    assert import_module(settings.SESSION_ENGINE).SessionStore(key)["k"] == 2
    # Signed out elsewhere (the row deleted): the save fails as Django's does and does not re-create the row.
    Session.objects.filter(session_key=key).delete()
    store["k"] = 3
    with pytest.raises(UpdateError):
        store.save()
    assert not Session.objects.filter(session_key=key).exists()


def test_a_request_of_a_session_signed_out_elsewhere_does_not_bring_it_back(nurse_a: User) -> None:
    from django.contrib.sessions.models import Session

    client = Client()
    client.force_login(nurse_a)
    assert client.post(reverse("patients:list"), {"q": "x"}).status_code == 200  # an activity: the session is saved
    Session.objects.all().delete()  # signed out on another worker
    assert client.post(reverse("patients:list"), {"q": "x"}).status_code == 302
    assert not Session.objects.exists()
