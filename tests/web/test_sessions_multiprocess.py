"""Sign-out, a removed membership and a deactivated account hold on every app server at once (issue 15).

Two separate gunicorn processes (two hosts in miniature, each with its own memory) serve one PostgreSQL database.
A nurse signs in through server A; server B answers her cookie (24 requests in parallel, so every worker thread of
B has read the session). She signs out through A: at once, all 24 parallel requests with the old cookie on B are
sent to the sign-in page, and a lab result POSTed with it is not saved. The same for a membership a unit admin
removes through A (B shows her no patient page) and an account deactivated in the database (B signs her out).

PostgreSQL only: this is how Chairside is deployed; on SQLite the test is skipped (``make test`` runs it on the
throwaway cluster from ``.ci/with-postgres``). Every server is stopped when the test ends, pass or fail.
"""

from __future__ import annotations

import http.client
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.web.test_restart import Browser, Server, database_url, manage, server_env  # noqa: F401 (fixtures)

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith(("postgres", "pgsql")),
        reason="needs PostgreSQL shared by two server processes (CHAIRSIDE_TEST_DB=postgres .ci/with-postgres)",
    ),
]
PARALLEL = 24
PASSWORD = "two-hosts-password-7"
SETUP = """
import datetime as dt
from clinic.accounts.models import LabUnitSystem, Membership, Role, Unit, User
from clinic.patients.models import Patient
unit = Unit.objects.create(code="twohosts", name="Two Hosts Unit", lab_unit_system=LabUnitSystem.SI)
for username, role in (("nurse.two", Role.NURSE), ("admin.two", Role.UNIT_ADMIN)):
    user = User.objects.create_user(username=username, password={password!r})
    Membership.objects.create(user=user, unit=unit, role=role)
patient = Patient.objects.create(
    unit=unit, mrn="TWO-1", family_name="Example", given_name="Pat", date_of_birth=dt.date(1960, 5, 17), sex="female",
)
print(patient.public_id, Membership.objects.get(user__username="nurse.two").pk)
"""
LAB_COUNT = "from clinic.patients.models import LabResult; print(LabResult.objects.count())"


@pytest.fixture
def servers(server_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[Server, Server]]:  # noqa: F811
    manage(server_env, "migrate", "--noinput")
    options = ("--workers", "1", "--worker-class", "gthread", "--threads", "4", "--timeout", "60")
    pair = (
        Server(server_env, tmp_path / "a.log", options=options),
        Server(server_env, tmp_path / "b.log", options=options),
    )
    try:
        for server in pair:
            server.start()
        yield pair
    finally:
        for server in pair:
            server.stop()


def sign_in(server: Server, username: str) -> Browser:
    browser = Browser(server)
    assert browser.request("/login/")[0] == 200
    status, _ = browser.request("/login/", {"username": username, "password": PASSWORD})
    # Signed in: the role's home (the worklist for a nurse, the patient list for a unit admin).
    assert status == 200 and browser.url.endswith(("/worklist/", "/patients/")), (status, browser.url, server.tail())
    return browser


def cookies(browser: Browser) -> dict[str, str]:
    return {cookie.name: cookie.value for cookie in browser.jar}


def send(server: Server, method: str, path: str, jar: dict[str, str], body: str = "") -> tuple[int, str]:
    """One request with exactly these cookies, redirects not followed: (status, Location)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}
    if method == "POST":
        headers |= {"Content-Type": "application/x-www-form-urlencoded", "X-CSRFToken": jar["csrftoken"]}
        headers["Referer"] = f"http://127.0.0.1:{server.port}/"
    try:
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Location", "")
    finally:
        connection.close()


def burst(server: Server, requests: list[tuple[str, str, str]], jar: dict[str, str]) -> list[tuple[int, str]]:
    """All the requests at once, from PARALLEL threads."""
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        return list(pool.map(lambda r: send(server, r[0], r[1], jar, r[2]), requests))


def test_sign_out_and_access_changes_hold_on_another_server_at_once(servers: tuple[Server, Server]) -> None:
    a, b = servers
    patient_id, membership_id = manage(a.env, "shell", "-c", SETUP.format(password=PASSWORD)).split()[-2:]
    detail = f"/patients/{patient_id}/"
    lab = "analyte=potassium&value=4.1&unit=mmol%2FL&taken_at=2026-01-05T08%3A00"
    pages = [("GET", "/patients/", ""), ("GET", detail, "")] * (PARALLEL // 2)

    # Sign-out through A: the old cookie is refused on B at the very next request, by every thread.
    nurse = sign_in(a, "nurse.two")
    old = cookies(nurse)
    assert {status for status, _ in burst(b, pages, old)} == {200}, b.tail()
    assert nurse.request("/logout/", {})[0] == 200 and nurse.url.endswith("/login/")
    answers = burst(b, [*pages[:-1], ("POST", f"{detail}labs/", lab)], old)
    assert all(status == 302 and location.startswith("/login/") for status, location in answers), answers
    assert manage(a.env, "shell", "-c", LAB_COUNT).split()[-1] == "0", "a lab POSTed after sign-out was saved"

    # A membership removed through A's staff page: on B the nurse sees no patient at once (and no list).
    nurse = sign_in(a, "nurse.two")
    current = cookies(nurse)
    assert {status for status, _ in burst(b, pages, current)} == {200}
    admin = sign_in(a, "admin.two")
    status, html = admin.request(f"/staff/twohosts/{membership_id}/", {"remove": "1"})
    assert status == 200 and "nurse.two was removed" in html, html[:2000]
    answers = burst(b, pages, current)
    assert sorted({status for status, _ in answers}) == [403, 404], answers

    # An account deactivated (as the Django admin does): B signs the nurse out at the next request.
    manage(
        a.env,
        "shell",
        "-c",
        "from clinic.accounts.models import Membership, Unit, User\n"
        "user = User.objects.get(username='nurse.two')\n"
        "Membership.objects.create(user=user, unit=Unit.objects.get(code='twohosts'), role='nurse')",
    )
    assert {status for status, _ in burst(b, pages, current)} == {200}
    deactivate = (
        "from clinic.accounts.models import User; User.objects.filter(username='nurse.two').update(is_active=False)"
    )
    manage(a.env, "shell", "-c", deactivate)
    answers = burst(b, pages, current)
    assert all(status == 302 and location.startswith("/login/") for status, location in answers), answers
