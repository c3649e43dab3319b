"""Django fixtures: personas in two units (healthchecks' alice/bob/charlie idea) and a patient factory."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from clinic.accounts.models import LabUnitSystem, Membership, Role, Unit, User
from clinic.patients.models import Patient

PASSWORD = "correct-horse-battery"

# Production settings (DEBUG off) redirect to HTTPS and mark cookies secure. The test client and the live
# server speak plain HTTP, so switch these off for the whole session (the live server is session-scoped and
# builds its middleware before any function-scoped fixture runs).
settings.SECURE_SSL_REDIRECT = False
settings.SESSION_COOKIE_SECURE = False
settings.CSRF_COOKIE_SECURE = False
# The hashed manifest storage needs collectstatic; tests serve the source files directly.
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
_mrn = itertools.count(1000)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """On SQLite, test in a database file rather than in memory. Django shares one in-memory connection between
    the test and the live server's request threads, so two htmx requests at once (an autosave and a lab preview)
    could run on the same connection and fail with "cannot start a transaction within a transaction"; with a
    file each thread has its own connection and SQLite's locking, as in a real deployment."""
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        database.setdefault("TEST", {})["NAME"] = str(Path(tempfile.gettempdir()) / f"chairside-test-{os.getpid()}.db")


@pytest.fixture(autouse=True)
def _fast_tests(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def unit_a(db: None) -> Unit:
    return Unit.objects.create(code="north", name="Unit A (North)", lab_unit_system=LabUnitSystem.SI)


@pytest.fixture
def unit_b(db: None) -> Unit:
    return Unit.objects.create(code="south", name="Unit B (South)", lab_unit_system=LabUnitSystem.US)


def _make_user(username: str, *memberships: tuple[Unit, str]) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD)
    for unit, role in memberships:
        Membership.objects.create(user=user, unit=unit, role=role)
    return user


@pytest.fixture
def nurse_a(unit_a: Unit) -> User:
    return _make_user("nurse.a", (unit_a, Role.NURSE))


@pytest.fixture
def nephro_a(unit_a: Unit) -> User:
    return _make_user("nephro.a", (unit_a, Role.NEPHROLOGIST))


@pytest.fixture
def nurse_b(unit_b: Unit) -> User:
    return _make_user("nurse.b", (unit_b, Role.NURSE))


@pytest.fixture
def make_patient() -> Callable[..., Patient]:
    def make(unit: Unit, **fields: Any) -> Patient:
        values: dict[str, Any] = {
            "mrn": f"M{next(_mrn)}",
            "family_name": "Example",
            "given_name": "Pat",
            "date_of_birth": dt.date(1960, 5, 17),
            "sex": "female",
            "dialysis_started": dt.date(2015, 3, 1),
            "dry_weight_kg": 70,
            "diabetes": True,
            "conditions": [],
            "medications": ["sevelamer"],
        }
        values.update(fields)
        return Patient.objects.create(unit=unit, **values)

    return make


@pytest.fixture
def client_for() -> Callable[[User], Client]:
    def login(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return login


# --- browser tests (pytest-playwright) ---------------------------------------------------------------
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API keeps an event loop running


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    from tests.web.browser import CHROMIUM_ARGS, chromium_path

    path = chromium_path()
    return {**browser_type_launch_args, "args": CHROMIUM_ARGS, **({"executable_path": path} if path else {})}


def create_signed_workup(patient: Patient, nurse: User, nephrologist: User, case: dict[str, Any] | None = None) -> Any:
    """A workup whose plan (the engine's, for ``case`` or the typical case) the nephrologist has signed."""
    from django.utils import timezone

    from clinic.engine import evaluate, plan_to_dict
    from clinic.workups.models import SignedPlan, Status, Workup
    from tests.cases import typical_case

    case = case if case is not None else typical_case()
    workup = Workup.objects.create(
        patient=patient,
        created_by=nurse,
        case_json=case,
        plan_json=plan_to_dict(evaluate(case)),
        plan_made_at=timezone.now(),
        status=Status.SIGNED,
    )
    SignedPlan.objects.create(
        workup=workup,
        case_json=case,
        plan_json=workup.plan_json,
        knowledge_version=workup.plan_json["knowledge_version"],
        signed_by=nephrologist,
    )
    return workup


@pytest.fixture
def scoped_objects(unit_a: Unit, nurse_a: User, nephro_a: User, make_patient: Callable[..., Patient]) -> dict[str, Any]:
    """Real objects of unit A for URL walkers: a patient and a SIGNED workup (signed-only routes resolve)."""
    patient = make_patient(unit_a)
    workup = create_signed_workup(patient, nurse_a, nephro_a)
    return {"patient": patient, "workup": workup, "unit": unit_a, "membership": nurse_a.memberships.get()}
