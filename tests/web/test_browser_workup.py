"""A nurse completes a whole workup on a tablet, including an emergency red-flag acknowledgement, and a
nephrologist signs it on a desktop: real Chromium, real server, axe-core on every page, a screenshot of every step."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from clinic.patients.models import LabResult
from clinic.workups.models import Acknowledgement, SignedPlan, Status, Workup
from tests.web.browser import (
    DESKTOP,
    TABLET,
    make_staff,
    make_walter,
    require_chromium,
    screenshot,
    serious_axe_violations,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clinic_data(transactional_db: None) -> dict[str, Any]:
    unit, nurse, nephro = make_staff()
    patient = make_walter(unit, ["sevelamer", "baclofen"])
    LabResult.objects.create(
        patient=patient,
        analyte="potassium",
        value=Decimal("4.8"),
        unit="mmol/L",
        value_si=4.8,
        taken_at=timezone.now() - dt.timedelta(days=3),
    )
    return {"patient": patient, "nurse": nurse, "nephro": nephro}


@pytest.fixture
def chromium() -> Iterator[None]:
    require_chromium()
    yield


SMALL_TARGETS_JS = """
() => Array.from(document.querySelectorAll(
  'button, .btn, select, input:not([type=hidden]):not([type=radio]):not([type=checkbox]), .form-check'
)).filter(el => !el.classList.contains('btn-link') && el.offsetParent !== null)
  .map(el => [el.outerHTML.slice(0, 80), el.getBoundingClientRect().height])
  .filter(([, h]) => h < 44)
"""


def check_page(page: Any, name: str, console_errors: list[str]) -> None:
    page.wait_for_load_state("networkidle")
    screenshot(page, name)
    small = page.evaluate(SMALL_TARGETS_JS)
    assert not small, f"{name}: touch targets under 44 px: {small[:5]}"
    violations = serious_axe_violations(page)
    assert not violations, f"{name}: {violations}"
    assert not console_errors, f"{name}: {console_errors}"


def acknowledge_if_asked(page: Any, errors: list[str], name: str) -> int:
    """Acknowledge every emergency the page stops on; return how many there were."""
    count = 0
    while page.get_by_role("button", name="Acknowledge and continue").count():
        if count == 0:
            check_page(page, name, errors)
        page.get_by_label("The physician already knows and is managing it").first.check()
        page.get_by_role("button", name="Acknowledge and continue").first.click()
        page.wait_for_load_state("networkidle")
        count += 1
    return count


def test_nurse_completes_workup_and_nephrologist_signs(
    chromium: None, live_server: Any, clinic_data: dict[str, Any], browser: Any
) -> None:
    base = live_server.url
    context = browser.new_context(viewport=TABLET)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    sign_in(page, base, "nurse.a")
    check_page(page, "00-worklist-nurse", errors)
    page.get_by_role("link", name="Patients").first.click()
    page.wait_for_url(re.compile(r"/patients/$"))
    check_page(page, "01-patient-list", errors)
    page.get_by_label("Search by name or MRN").fill("Kowal")
    page.wait_for_timeout(600)
    page.get_by_role("link", name="Kowalski, Walter").click()
    check_page(page, "02-patient-page", errors)
    page.get_by_role("button", name="Start cramp workup").click()

    # 1. Episode: cramping in the chair right now.
    page.wait_for_url(re.compile(r"/steps/episode/$"))
    page.get_by_text("During dialysis", exact=True).click()
    page.locator("label[for=id_ongoing_0]").click()
    page.get_by_label("Minutes into the session (minutes)").fill("200")
    page.get_by_label("Legs").check()
    page.locator("label[for=id_kind_0]").click()
    page.locator("label[for=id_severity_0_10_8]").click()
    page.get_by_label("Episodes in the last 4 weeks").fill("6")
    page.wait_for_timeout(1200)  # autosave on change
    assert "Saved" in page.locator("#autosave-status").inner_text()
    check_page(page, "03-step-episode", errors)
    page.get_by_role("button", name="Save and continue").click()

    # 2. Red-flag screen: chest pain is an emergency; the banner appears live, before saving the step.
    page.wait_for_url(re.compile(r"/steps/redflags/$"))
    page.locator("label[for=id_chest_pain_0]").click()
    page.locator("label[for=id_speech_disturbance_1]").click()
    page.locator("#flag-banner").get_by_text("coronary", exact=False).wait_for(timeout=5000)
    check_page(page, "04-step-redflags", errors)
    page.get_by_role("button", name="Save and continue").click()

    # The emergency interrupts: the nurse must acknowledge with a coded reason before continuing.
    page.wait_for_url(re.compile(r"/steps/vitals/$"))
    assert page.get_by_role("heading", name="Emergency: act before you continue").is_visible()
    check_page(page, "05-emergency-acknowledgement", errors)
    page.get_by_label("I have called the physician / started the emergency protocol").check()
    page.get_by_role("button", name="Acknowledge and continue").click()
    page.wait_for_url(re.compile(r"/steps/vitals/$"))

    # 3. Vitals.
    page.get_by_label("Pre-dialysis systolic blood pressure (mmHg)").fill("150")
    page.get_by_label("Lowest systolic blood pressure (mmHg)").fill("95")
    check_page(page, "06-step-vitals", errors)
    page.get_by_role("button", name="Save and continue").click()

    # 4. Labs: magnesium in mg/dL converts live; potassium re-used from the record.
    page.wait_for_url(re.compile(r"/steps/labs/$"))
    # A fall of 55 mmHg with baclofen on the list raises possible baclofen toxicity: another emergency stop.
    assert acknowledge_if_asked(page, errors, "06b-emergency-baclofen") >= 1
    page.locator("#id_magnesium__unit").select_option("mg/dL")
    page.locator("#id_magnesium__value").fill("1.2")
    page.locator("#preview-magnesium").get_by_text("0.49 mmol/L", exact=False).wait_for(timeout=5000)
    page.locator("#lab-potassium").get_by_role("button", name="Use").click()
    page.locator("#preview-potassium").get_by_text("4.8 mmol/L", exact=False).wait_for(timeout=5000)
    check_page(page, "07-step-labs", errors)
    page.get_by_role("button", name="Save and continue").click()

    # 5. Dialysis prescription with live UF rate.
    page.wait_for_url(re.compile(r"/steps/dialysis/$"))
    acknowledge_if_asked(page, errors, "07b-emergency")
    page.get_by_label("Pre-dialysis weight (kg)").fill("74")
    page.get_by_label("Previous post-dialysis weight (kg)").fill("70.4")
    page.get_by_label("Target (dry) weight (kg)").fill("70")
    page.get_by_label("Session length (minutes)").fill("240")
    page.get_by_label("Dialysate magnesium (mmol/L)").fill("0.5")
    page.get_by_label("Dialysate magnesium (mmol/L)").press("Tab")
    page.locator("#derived-panel").get_by_text("14.3", exact=False).wait_for(timeout=5000)
    check_page(page, "08-step-dialysis", errors)
    page.get_by_role("button", name="Save and continue").click()

    # 6. Medicines (pre-filled from the record), 7. review, make the plan, submit.
    page.wait_for_url(re.compile(r"/steps/medications/$"))
    acknowledge_if_asked(page, errors, "08b-emergency")
    assert page.locator("#med-chips").get_by_text("Baclofen").is_visible()  # a chip, from the record
    check_page(page, "09-step-medications", errors)
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_url(re.compile(r"/steps/review/$"))
    acknowledge_if_asked(page, errors, "09b-emergency")
    check_page(page, "10-step-review", errors)
    page.get_by_role("button", name="Make care plan").click()
    page.wait_for_url(re.compile(r"/plan/$"))
    assert page.get_by_role("heading", name="Red flags", exact=True).is_visible()
    assert page.get_by_text("What you can do now", exact=False).is_visible()
    check_page(page, "11-plan-nurse", errors)
    page.get_by_role("button", name="Submit for nephrologist review").click()
    page.get_by_text("Awaiting nephrologist review", exact=False).first.wait_for()
    context.close()

    workup = Workup.objects.get()
    assert workup.status == Status.AWAITING_REVIEW
    assert Acknowledgement.objects.filter(workup=workup, code="redflag.acute_coronary").exists()
    assert workup.answers["labs"]["labs"][0] == {
        "analyte": "magnesium",
        "value": 1.2,
        "unit": "mg/dL",
        "when": "pre_dialysis",
    }

    # The nephrologist reviews on a desktop and signs.
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    sign_in(page, base, "nephro.a")
    page.goto(f"{base}/workups/{workup.public_id}/plan/")
    assert page.get_by_text("Prescription and drug decisions").is_visible()
    check_page(page, "12-plan-nephrologist", errors)
    # Review: a decision on every recommendation (accept all here), a confirmation, then sign.
    page.get_by_role("link", name="Review and sign").click()
    page.wait_for_url(re.compile(r"/review/$"))
    for radio in page.locator("fieldset.decision input[type=radio][value=accepted]").all():
        radio.check()
    page.get_by_role("button", name="Continue: check what will be signed").click()
    page.get_by_role("heading", name="Confirm and sign").wait_for()
    page.get_by_role("button", name="Sign care plan").click()
    page.get_by_text("Signed by Lukas Brandt", exact=False).wait_for()
    check_page(page, "13-plan-signed", errors)
    context.close()
    assert SignedPlan.objects.get().signed_by.username == "nephro.a"


def test_login_page_is_accessible(chromium: None, live_server: Any, transactional_db: None, browser: Any) -> None:
    page = browser.new_context(viewport=TABLET).new_page()
    page.goto(f"{live_server.url}/login/")
    assert not serious_axe_violations(page)
    screenshot(page, "00-login")


def test_a_step_can_be_answered_and_saved_with_the_keyboard_alone(
    chromium: None, live_server: Any, clinic_data: dict[str, Any], browser: Any
) -> None:
    page = browser.new_context(viewport=TABLET).new_page()
    sign_in(page, live_server.url, "nurse.a")
    workup = Workup.objects.create(patient=clinic_data["patient"], created_by=clinic_data["nurse"])
    page.goto(f"{live_server.url}/workups/{workup.public_id}/steps/episode/")
    page.locator("#id_timing_0").focus()
    page.keyboard.press("Space")  # During dialysis
    page.keyboard.press("Tab")  # into the next radio group, on its checked "Not assessed"
    page.keyboard.press("ArrowLeft")  # No
    page.keyboard.press("ArrowLeft")  # Yes
    page.get_by_label("Minutes into the session (minutes)").focus()
    page.keyboard.type("95")
    page.get_by_role("button", name="Save and continue").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/steps/redflags/$"))
    workup.refresh_from_db()
    assert workup.answers["episode"] == {"timing": "during_dialysis", "ongoing": True, "minutes_into_session": 95.0}
