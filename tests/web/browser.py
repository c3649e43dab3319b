"""Shared set-up for browser tests: Debian's Chromium driven by Playwright, axe-core checks, screenshots."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from clinic.accounts.models import LabUnitSystem, Membership, Role, Unit, User
from clinic.patients.models import Patient
from tests.web.conftest import PASSWORD

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
TABLET = {"width": 768, "height": 1024}
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium() -> str:
    path = chromium_path()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is not installed; CI must run browser tests (make test installs it).")
        pytest.skip("Chromium is not installed (make test installs it with apt-get when it can).")
    return path


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, caret="initial", animations="disabled")
    return path


def serious_axe_violations(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in {"serious", "critical"}
    ]


def sign_in(page: Any, base: str, username: str = "nurse.a", password: str = PASSWORD) -> None:
    """Sign in through the login form and wait for the page it leads to: the role's home (the worklist for nurses
    and nephrologists, the patient list for unit admins)."""
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)
    page.wait_for_load_state("networkidle")


def make_staff(**unit_fields: Any) -> tuple[Unit, User, User]:
    """The browser tests' unit ("Unit A (North)", SI labs, plus ``unit_fields``) with its nurse (nurse.a, Amara
    Okafor) and nephrologist (nephro.a, Lukas Brandt), both signing in with PASSWORD."""
    unit = Unit.objects.create(code="north", name="Unit A (North)", lab_unit_system=LabUnitSystem.SI, **unit_fields)
    nurse = User.objects.create_user("nurse.a", password=PASSWORD, first_name="Amara", last_name="Okafor")
    nephro = User.objects.create_user("nephro.a", password=PASSWORD, first_name="Lukas", last_name="Brandt")
    Membership.objects.create(user=nurse, unit=unit, role=Role.NURSE)
    Membership.objects.create(user=nephro, unit=unit, role=Role.NEPHROLOGIST)
    return unit, nurse, nephro


def make_walter(unit: Unit, medications: Iterable[str], **fields: Any) -> Patient:
    """The browser tests' usual patient: Walter Kowalski, on dialysis since 2011 (the neck-spasm journey's
    vintage), dry weight 70 kg, fistula, no diabetes, taking ``medications``; ``fields`` override any of these."""
    defaults: dict[str, Any] = {
        "unit": unit,
        "mrn": "AN100361",
        "family_name": "Kowalski",
        "given_name": "Walter",
        "date_of_birth": dt.date(1967, 8, 16),
        "sex": "male",
        "dialysis_started": dt.date(2011, 3, 1),
        "dry_weight_kg": Decimal("70.0"),
        "diabetes": False,
        "access": "fistula",
        "medications": list(medications),
        "conditions": [],
    }
    return Patient.objects.create(**(defaults | fields))
