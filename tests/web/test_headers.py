"""Headers on every response: Cache-Control no-store (patient data never stays in a browser or proxy cache, nor
comes back with Back after sign-out), a Permissions-Policy that turns browser features off, and the option to end
the session when the browser closes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from clinic.accounts.models import Membership, Role, Unit, User
from clinic.api.models import ApiToken
from tests.cases import typical_case
from tests.web.browser import require_chromium, sign_in
from tests.web.conftest import PASSWORD
from tests.web.routes import named_routes, url_for

pytestmark = pytest.mark.django_db

OFF = ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()")


def assert_headers(response: Any, where: object) -> None:
    assert "no-store" in response.get("Cache-Control", ""), (where, response.get("Cache-Control"))
    policy = response.get("Permissions-Policy", "")
    assert all(feature in policy for feature in OFF), (where, policy)


def test_every_page_is_no_store_with_a_permissions_policy(
    scoped_objects: dict[str, Any], nurse_a: User, client_for: Callable[[User], Client]
) -> None:
    """Every route, signed in and not, GET and POST, whatever it answers (pages, fragments, redirects, errors)."""
    client, anonymous = client_for(nurse_a), Client()
    checked = 0
    for name, pattern in named_routes():
        url = url_for(name, pattern, scoped_objects)
        for who in (client, anonymous):
            for method in ("get", "post"):
                assert_headers(getattr(who, method)(url), (name, method))
                checked += 1
    assert checked >= 4 * 30


def test_the_pdf_and_the_api_are_no_store(scoped_objects: dict[str, Any], nurse_a: User, client_for: Callable) -> None:
    pdf = client_for(nurse_a).get(reverse("printing:plan-pdf", args=[scoped_objects["workup"].public_id]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert_headers(pdf, "pdf")
    _, token = ApiToken.issue(nurse_a)
    api = Client().post(
        reverse("api-evaluate"),
        json.dumps(typical_case()),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert api.status_code == 200
    assert_headers(api, "api")


def test_a_view_with_its_own_cache_control_still_gets_no_store() -> None:
    response = Client().get(reverse("healthz"))
    assert response.status_code == 200
    assert_headers(response, "healthz")
    assert "no-cache" in response["Cache-Control"]  # never_cache's own directives are kept


def test_the_django_admin_is_no_store() -> None:
    admin = User.objects.create_superuser("root", password="x-very-long-password-1")
    client = Client()
    client.force_login(admin)
    assert_headers(client.get(reverse("admin:index")), "admin")
    assert_headers(Client().get(reverse("admin:login")), "admin login")


def _session_cookie(client: Client, nurse: User) -> Any:
    response = client.post(reverse("login"), {"username": nurse.username, "password": PASSWORD})
    assert response.status_code == 302
    return response.cookies[settings.SESSION_COOKIE_NAME]


def test_by_default_the_session_cookie_outlives_the_browser(nurse_a: User) -> None:
    cookie = _session_cookie(Client(), nurse_a)
    assert cookie["max-age"] == settings.SESSION_COOKIE_AGE and cookie["expires"]


def test_the_session_can_end_when_the_browser_closes(settings: Any, nurse_a: User) -> None:
    settings.SESSION_EXPIRE_AT_BROWSER_CLOSE = True
    cookie = _session_cookie(Client(), nurse_a)
    assert cookie.value and not cookie["max-age"] and not cookie["expires"], cookie.output()


@pytest.mark.parametrize(("value", "expected"), [("1", "True"), ("0", "False"), (None, "False")])
def test_session_expire_at_browser_close_is_read_from_the_environment(value: str | None, expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SESSION_EXPIRE_AT_BROWSER_CLOSE"}
    if value is not None:
        env["SESSION_EXPIRE_AT_BROWSER_CLOSE"] = value
    code = "from django.conf import settings as s; print(s.SESSION_EXPIRE_AT_BROWSER_CLOSE)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "DJANGO_SETTINGS_MODULE": "clinic.settings"},
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
    )
    assert out.stdout.strip() == expected


@pytest.mark.browser
def test_chromium_applies_the_permissions_policy(live_server: Any, browser: Any, transactional_db: None) -> None:
    """Chromium knows every feature the policy names (an unknown one would be ignored, and Chromium does not log it
    to the page's console) and allows none of them on a signed-in page."""
    require_chromium()
    user = User.objects.create_user("nurse.x", password=PASSWORD)
    Membership.objects.create(user=user, unit=Unit.objects.create(code="x", name="Unit X"), role=Role.NURSE)
    page = browser.new_context().new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    sign_in(page, live_server.url, "nurse.x")
    supported = set(page.evaluate("document.featurePolicy.features()"))
    assert set(settings.PERMISSIONS_POLICY) <= supported, set(settings.PERMISSIONS_POLICY) - supported
    allowed = set(page.evaluate("document.featurePolicy.allowedFeatures()"))
    assert not allowed & set(settings.PERMISSIONS_POLICY), allowed & set(settings.PERMISSIONS_POLICY)
    assert not errors, errors
