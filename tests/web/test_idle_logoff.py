"""Idle log-off (issue 15): every autosave counts as activity, so the last one before the log-off is kept; after
the log-off, signing in again returns to the step page the nurse was on (never to a POST-only URL, which answered
405), with what she typed offered back."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from clinic.accounts.middleware import LAST_SEEN_KEY, TOUCH_EVERY_SECONDS
from clinic.accounts.models import Unit, User
from clinic.patients.models import Patient
from clinic.workups.models import Workup
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.django_db
IDLE_MINUTES = 15
HOST = "http://testserver"


@pytest.fixture
def workup(unit_a: Unit, make_patient: Callable[..., Patient], nurse_a: User, settings) -> Workup:
    settings.SESSION_IDLE_MINUTES = IDLE_MINUTES
    return Workup.objects.create(patient=make_patient(unit_a), created_by=nurse_a, answers={})


def urls(workup: Workup) -> tuple[str, str]:
    kwargs = {"public_id": workup.public_id, "slug": "dialysis"}
    return reverse("workups:step", kwargs=kwargs), reverse("workups:autosave", kwargs=kwargs)


def last_seen_ago(client: Client, seconds: float) -> None:
    session = client.session
    session[LAST_SEEN_KEY] = time.time() - seconds
    session.save()


def stamp(client: Client) -> float:
    return float(client.session[LAST_SEEN_KEY])


def autosave(client: Client, url: str, page: str, **typed: str) -> object:
    headers = {"HX-Request": "true", "HX-Current-URL": HOST + page}
    return client.post(url, {"step_version": "0", "editor": "tab1", **typed}, headers=headers)


def test_every_autosave_restarts_the_idle_clock(workup: Workup, nurse_a: User, client_for: Callable) -> None:
    nurse = client_for(nurse_a)
    page, save = urls(workup)
    assert nurse.get(page).status_code == 200
    # An autosave 10 s after the last stamp (inside the 30 s a page load may wait) still restarts the clock.
    last_seen_ago(nurse, 10)
    assert autosave(nurse, save, page, pre_weight_kg="74").status_code == 200
    assert time.time() - stamp(nurse) < 2
    # So the last autosave before the log-off is kept: 20 s short of the limit, counted from the previous one.
    last_seen_ago(nurse, IDLE_MINUTES * 60 - 20)
    response = autosave(nurse, save, page, pre_weight_kg="74,5")
    assert response.status_code == 200 and "HX-Redirect" not in response
    workup.refresh_from_db()
    assert workup.drafts["dialysis"]["pre_weight_kg"] == ["74,5"]


def test_a_page_load_shows_the_time_the_server_really_has_left(
    workup: Workup, nurse_a: User, client_for: Callable
) -> None:
    nurse = client_for(nurse_a)
    page, _ = urls(workup)
    nurse.get(page)
    last_seen_ago(nurse, TOUCH_EVERY_SECONDS - 10)  # a page load now does not restart the clock
    html = nurse.get(page).content.decode()
    left = int(re.search(r'data-idle-seconds="(\d+)"', html).group(1))
    assert IDLE_MINUTES * 60 - (TOUCH_EVERY_SECONDS - 10) - 2 <= left <= IDLE_MINUTES * 60 - (TOUCH_EVERY_SECONDS - 10)
    assert f'data-idle-limit="{IDLE_MINUTES * 60}"' in html and 'data-logout-url="/logout/"' in html


def test_after_an_idle_log_off_on_an_autosave_signing_in_returns_to_the_step_with_the_typing(
    workup: Workup, nurse_a: User, client_for: Callable
) -> None:
    nurse = client_for(nurse_a)
    page, save = urls(workup)
    assert autosave(nurse, save, page, pre_weight_kg="74,5", target_weight_kg="70").status_code == 200
    last_seen_ago(nurse, IDLE_MINUTES * 60 + 5)
    response = autosave(nurse, save, page, pre_weight_kg="74,6")
    assert response.status_code == 204  # htmx: the browser is sent to sign-in
    login = response["HX-Redirect"]
    assert login == f"{reverse('login')}?next={page.replace('/', '%2F')}", login
    assert "autosave" not in login
    assert "signed out after 15 minutes" in nurse.get(login).content.decode()
    back = nurse.post(login, {"username": "nurse.a", "password": PASSWORD, "next": page})
    assert back.status_code == 302 and back["Location"] == page
    html = nurse.get(page).content.decode()
    assert 'value="74,5"' in html and "unsaved typing on this step" in html
    workup.refresh_from_db()
    assert workup.drafts["dialysis"]["pre_weight_kg"] == ["74,5"], "nothing was saved after the log-off"


def test_a_form_post_after_the_log_off_returns_to_its_page_not_to_its_post_url(
    workup: Workup, nurse_a: User, client_for: Callable
) -> None:
    nurse = client_for(nurse_a)
    page, _ = urls(workup)
    nurse.get(page)
    last_seen_ago(nurse, IDLE_MINUTES * 60 + 5)
    make_plan = reverse("workups:make-plan", args=[workup.public_id])
    response = nurse.post(make_plan, {"version": "1"}, headers={"Referer": HOST + page})
    assert response.status_code == 302 and response["Location"].endswith(f"?next={page.replace('/', '%2F')}")
    # Without a usable Referer (or one from another site) the nurse lands on her patient list, never a POST URL.
    for referer in ({}, {"Referer": "https://evil.example/steps/"}):
        anonymous = Client().post(make_plan, {"version": "1"}, headers=referer)
        assert anonymous.status_code == 302 and anonymous["Location"] == reverse("login"), anonymous["Location"]


def test_the_browser_signs_out_itself_naming_the_page(workup: Workup, nurse_a: User, client_for: Callable) -> None:
    """What static/js/app.js posts a few seconds before the limit, once the last autosave has answered."""
    nurse = client_for(nurse_a)
    page, _ = urls(workup)
    response = nurse.post(reverse("logout"), {"reason": "idle", "next": page})
    assert response.status_code == 302 and response["Location"] == f"{reverse('login')}?next={page.replace('/', '%2F')}"
    assert "without activity" in nurse.get(response["Location"]).content.decode()
    assert nurse.get(page).status_code == 302  # really signed out
    for unsafe in ("https://evil.example/", "//evil.example/x"):
        other = client_for(nurse_a).post(reverse("logout"), {"reason": "idle", "next": unsafe})
        assert other["Location"] == reverse("login")
