"""No lost work across a server restart (issue 6): the real production server process (gunicorn, DEBUG off) on a
file-backed database this test creates, driven over HTTP like a browser (cookies, CSRF token, htmx header).

Save one step, autosave another (valid: saved) and a third (unfinished: kept as a draft), stop the server, start
it again, sign in again and find every answer where it was, with the draft offered back.

Database: on SQLite (the default) a temporary database file migrated with ``manage.py migrate``; when the test run
uses PostgreSQL (``DATABASE_URL=postgres://...``, as ``CHAIRSIDE_TEST_DB=postgres .ci/with-postgres`` sets) a
separate, uniquely named database is created on that server with psycopg and dropped afterwards, so the restart is
proven on both engines without touching pytest-django's test database.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from clinic.envconf import parse_database_url

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "restart-test-password-9"
EPISODE = {
    "timing": "during_dialysis",
    "ongoing": "yes",
    "minutes_into_session": "180",
    "sites": ["legs", "hands"],
    "kind": "cramp",
    "severity_0_10": "7",
    "episodes_last_4_weeks": "6",
    "duration_weeks": "3",
}
EPISODE_ANSWERS = {
    "timing": "during_dialysis",
    "ongoing": True,
    "minutes_into_session": 180,
    "sites": ["legs", "hands"],
    "kind": "cramp",
    "severity_0_10": 7,
    "episodes_last_4_weeks": 6,
    "duration_weeks": 3,
}
REDFLAGS = {"chest_pain": "no", "seizure": "no", "fever": "yes"}
# Unfinished typing on the dialysis step: "74,5" is not a number yet, so autosave keeps it as a draft.
DIALYSIS_DRAFT = {"pre_weight_kg": "74,5", "target_weight_kg": "70", "session_minutes": "240"}

SETUP = """
from clinic.accounts.models import LabUnitSystem, Membership, Role, Unit, User
from clinic.patients.models import Patient
import datetime as dt
unit = Unit.objects.create(code="restart", name="Restart Unit", lab_unit_system=LabUnitSystem.SI)
user = User.objects.create_user(username="nurse.restart", password={password!r})
Membership.objects.create(user=user, unit=unit, role=Role.NURSE)
patient = Patient.objects.create(
    unit=unit, mrn="R-1", family_name="Example", given_name="Pat", date_of_birth=dt.date(1960, 5, 17),
    sex="female", dry_weight_kg=70, medications=["sevelamer"], conditions=[],
)
print(patient.public_id)
"""
ANSWERS = """
import json
from clinic.workups.models import Workup
w = Workup.objects.get(public_id={public_id!r})
print(json.dumps({{"answers": w.answers, "drafts": w.drafts, "step_meta": w.step_meta}}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres", "pgsql")):
        yield f"sqlite:///{tmp_path / 'restart.sqlite3'}"  # sqlite:////abs/path
        return
    import psycopg

    config = parse_database_url(url, ROOT)
    name = f"chairside_restart_{secrets.token_hex(4)}"
    params = {
        "host": config["HOST"] or None,
        "port": config["PORT"] or None,
        "user": config["USER"] or None,
        "password": config["PASSWORD"] or None,
        "dbname": "postgres",
    }
    with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urllib.parse.urlsplit(url)
    try:
        yield urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def server_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CHAIRSIDE_", "SECURE_"))}
    env.update(
        {
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "CHAIRSIDE_SSL_REDIRECT": "0",
            "CHAIRSIDE_SECURE_COOKIES": "0",
            "CHAIRSIDE_PLAIN_STATIC": "1",
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "clinic.settings",
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@dataclass
class Server:
    env: dict[str, str]
    log: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    starts: list[int] = field(default_factory=list)
    options: tuple[str, ...] = ("--workers", "1")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self.process is None
        self.port = free_port()
        gunicorn = Path(sys.executable).with_name("gunicorn")
        command = [str(gunicorn), "clinic.wsgi:application", "--bind", f"127.0.0.1:{self.port}", *self.options]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"server exited early:\n{self.tail()}"
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as response:
                    if response.status == 200:
                        self.starts.append(self.process.pid)
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        raise AssertionError(f"server did not answer /healthz within 60 s:\n{self.tail()}")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # gunicorn: graceful shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


@pytest.fixture
def server(server_env: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    manage(server_env, "migrate", "--noinput")
    instance = Server(server_env, tmp_path / "server.log")
    try:
        yield instance
    finally:
        instance.stop()


class FormValues(HTMLParser):
    """The values a browser would submit from a page's inputs (checked boxes and radios, selected options)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, list[str]] = {}
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in {"checkbox", "radio"} and "checked" not in a:
                return
            self.values.setdefault(name, []).append(a.get("value", ""))
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.values.setdefault(self._select, []).append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def form_values(html: str) -> dict[str, list[str]]:
    parser = FormValues()
    parser.feed(html)
    return parser.values


class Browser:
    """urllib with a cookie jar that follows redirects and sends Django's CSRF token like a browser form."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.url = ""

    def request(self, path: str, data: dict[str, Any] | None = None, **headers: str) -> tuple[int, str]:
        body = None
        if data is not None:
            pairs = [(k, v) for k, vs in data.items() for v in (vs if isinstance(vs, list) else [vs])]
            pairs.append(("csrfmiddlewaretoken", self.csrf()))
            body = urllib.parse.urlencode(pairs).encode()
        request = urllib.request.Request(self.server.base + path, data=body, headers=headers)
        try:
            with self.opener.open(request, timeout=30) as response:
                self.url = response.geturl()
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            self.url = error.geturl()
            return error.code, error.read().decode()

    def csrf(self) -> str:
        return next(cookie.value for cookie in self.jar if cookie.name == "csrftoken")

    def sign_in(self, next_path: str = "") -> tuple[int, str]:
        query = f"?{urllib.parse.urlencode({'next': next_path})}" if next_path else ""
        status, _ = self.request(f"/login/{query}")
        assert status == 200
        return self.request(f"/login/{query}", {"username": "nurse.restart", "password": PASSWORD})


def saved_state(server: Server, public_id: str) -> dict[str, Any]:
    return json.loads(manage(server.env, "shell", "-c", ANSWERS.format(public_id=public_id)).strip().splitlines()[-1])


def test_saved_and_autosaved_answers_survive_a_server_restart(server: Server) -> None:
    patient_id = manage(server.env, "shell", "-c", SETUP.format(password=PASSWORD)).strip().splitlines()[-1]
    server.start()
    nurse = Browser(server)
    status, _ = nurse.sign_in()
    assert status == 200 and nurse.url.endswith("/worklist/"), (status, nurse.url, server.tail())  # her home

    status, _ = nurse.request(f"/patients/{patient_id}/workups/new/", {})
    match = re.search(r"/workups/([0-9a-f-]{36})/steps/episode/$", nurse.url)
    assert status == 200 and match, (status, nurse.url)
    workup_id = match.group(1)
    step = f"/workups/{workup_id}/steps"

    # Save the episode step through the page, as the browser does (version and tab token from the form).
    status, html = nurse.request(f"{step}/episode/")
    hidden = form_values(html)
    status, html = nurse.request(
        f"{step}/episode/", {**EPISODE, "step_version": hidden["step_version"], "editor": hidden["editor"]}
    )
    assert status == 200 and nurse.url.endswith(f"{step}/redflags/"), (status, nurse.url)

    # Autosave: red flags are complete (stored as answers), the dialysis typing is not (kept as a draft).
    status, html = nurse.request(
        f"{step}/redflags/autosave/", {**REDFLAGS, "step_version": "0"}, **{"HX-Request": "true"}
    )
    assert status == 200 and "Saved" in html, html[:500]
    status, html = nurse.request(
        f"{step}/dialysis/autosave/", {**DIALYSIS_DRAFT, "step_version": "0"}, **{"HX-Request": "true"}
    )
    assert status == 200, html[:500]
    before = saved_state(server, workup_id)
    assert before["answers"]["episode"] == EPISODE_ANSWERS
    assert before["answers"]["redflags"] == {"chest_pain": False, "seizure": False, "fever": True}
    assert before["drafts"]["dialysis"]["pre_weight_kg"] == ["74,5"]

    first_pid = server.process.pid if server.process else None
    server.stop()
    server.start()
    assert server.process is not None and server.process.pid != first_pid, "a new server process"

    # A new browser session: sign in again and land on the unfinished step, with the typing offered back.
    nurse = Browser(server)
    status, html = nurse.sign_in(next_path=f"{step}/dialysis/")
    assert status == 200 and nurse.url.endswith(f"{step}/dialysis/"), (status, nurse.url, server.tail())
    assert "unsaved typing on this step" in html
    values = form_values(html)
    assert values["pre_weight_kg"] == ["74,5"] and values["target_weight_kg"] == ["70"]
    assert values["session_minutes"] == ["240"]

    status, html = nurse.request(f"{step}/episode/")
    assert status == 200
    values = form_values(html)
    for name, sent in EPISODE.items():
        shown = values[name]
        if isinstance(sent, str) and sent.isdigit():  # a float field shows 180 as 180.0
            assert [float(v) for v in shown] == [float(sent)], name
        else:
            assert shown == (sent if isinstance(sent, list) else [sent]), name
    assert "unsaved typing" not in html

    status, html = nurse.request(f"{step}/redflags/")
    values = form_values(html)
    assert values["chest_pain"] == ["no"] and values["seizure"] == ["no"] and values["fever"] == ["yes"]
    assert values["speech_disturbance"] == [""], "not assessed stays not assessed"

    assert saved_state(server, workup_id) == before, "nothing changed in the database across the restart"
