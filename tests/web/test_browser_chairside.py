"""The nurse at the chair, in real Chromium against the real server: emergencies show in the viewport before any
Save, answers survive a reload, and the neck-spasm journey is counted in taps."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from clinic.patients.models import LabResult
from clinic.workups.models import Workup
from tests.web.browser import PHONE, TABLET, make_staff, make_walter, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# Results from the last session (three days ago) and one from long ago that must not be offered as current.
LABS_ON_FILE = (
    ("potassium", "4.8", "mmol/L", 3),
    ("sodium", "138", "mmol/L", 3),
    ("calcium_total", "2.3", "mmol/L", 3),
    ("albumin", "38", "g/L", 3),
    ("phosphate", "1.6", "mmol/L", 3),
    ("bicarbonate", "22", "mmol/L", 3),
    ("glucose", "6.1", "mmol/L", 3),
    ("urea", "21", "mmol/L", 3),
    ("magnesium", "0.62", "mmol/L", 400),
)


@pytest.fixture
def chromium() -> Iterator[None]:
    from tests.web.browser import require_chromium

    require_chromium()
    yield


@pytest.fixture
def ward(transactional_db: None) -> dict[str, Any]:
    unit, nurse, _nephro = make_staff()
    patient = make_walter(unit, ["sevelamer", "amlodipine"])
    now = timezone.now()
    for analyte, value, unit_name, days in LABS_ON_FILE:
        LabResult.objects.create(
            patient=patient,
            analyte=analyte,
            value=Decimal(value),
            unit=unit_name,
            value_si=float(value),
            taken_at=now - dt.timedelta(days=days),
        )
    return {"patient": patient, "nurse": nurse, "unit": unit}


def new_workup(ward: dict[str, Any], **answers: Any) -> Workup:
    return Workup.objects.create(
        patient=ward["patient"], created_by=ward["nurse"], updated_by=ward["nurse"], answers=answers
    )


@pytest.mark.parametrize(
    ("finding", "title"),
    [("chest_pain", "Possible acute coronary syndrome"), ("carpopedal_spasm", "Tetany")],
)
@pytest.mark.parametrize("viewport", [TABLET, PHONE], ids=["tablet", "phone"])
def test_an_emergency_answer_shows_the_emergency_in_view_before_save(
    chromium: None, live_server: Any, ward: dict[str, Any], browser: Any, finding: str, title: str, viewport: Any
) -> None:
    from playwright.sync_api import expect

    episode = {"timing": "after_dialysis", "sites": ["neck"], "kind": "spasm"}
    workup = new_workup(ward, episode=episode)
    page = browser.new_context(viewport=viewport).new_page()
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/workups/{workup.public_id}/steps/redflags/")
    label = page.locator(f"label[for=id_{finding}_0]")
    label.scroll_into_view_if_needed()
    label.click()
    emergency = page.locator("#emergency-live section", has_text=title)
    expect(emergency).to_be_in_viewport(timeout=1000)
    expect(emergency).to_contain_text("Do first:")
    assert page.url.endswith("/steps/redflags/")  # nothing was submitted: the step is still open
    workup.refresh_from_db()
    assert workup.answers["redflags"][finding] is True


class Taps:
    """Counts what a nurse does with a finger: each click or each field focused to type in is one tap."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.count = 0
        self.log: list[str] = []

    def tap(self, locator: Any, why: str) -> None:
        # The field being typed in loses focus first, as when a finger lifts off a tablet's on-screen keyboard:
        # on the phone the dialysis step's Save moved between mouse-down and mouse-up when the blur came inside
        # the click (the click then landed on the form).
        self.page.evaluate("document.activeElement && document.activeElement.blur()")
        locator.click()
        self.count += 1
        self.log.append(why)

    def type(self, locator: Any, text: str, why: str) -> None:
        locator.fill(text)
        self.count += 1
        self.log.append(why)


# The neck-spasm journey measured on the wizard before this round (every red-flag answer tapped, each lab "Use"d,
# target and dry weight typed): the same steps and answers as below.
TAPS_BEFORE = 48
TAPS_TARGET = 25


@pytest.mark.parametrize("viewport", [TABLET, PHONE], ids=["tablet", "phone"])
def test_neck_spasm_journey_counts_taps_and_checks_every_step(
    chromium: None, live_server: Any, ward: dict[str, Any], browser: Any, viewport: Any
) -> None:
    from tests.web.test_browser_workup import check_page

    size = "tablet" if viewport == TABLET else "phone"
    page = browser.new_context(viewport=viewport).new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, live_server.url)
    assert page.url.endswith("/worklist/")  # a nurse's home: her drafts and the plans returned to her
    page.goto(f"{live_server.url}/patients/")  # the journey's taps are counted from the patient list
    check_page(page, f"journey-{size}-01-patients", errors)
    taps = Taps(page)
    taps.tap(page.get_by_role("link", name="Kowalski, Walter"), "patient")
    check_page(page, f"journey-{size}-02-patient", errors)
    taps.tap(page.get_by_role("button", name="Start cramp workup"), "start")

    page.wait_for_url(re.compile(r"/steps/episode/$"))
    taps.tap(page.get_by_text("After dialysis (same day)", exact=True), "timing")
    taps.type(page.get_by_label("Hours after dialysis (hours)"), "2", "hours")
    taps.tap(page.get_by_label("Neck"), "neck")
    taps.tap(page.get_by_text("Spasm", exact=True), "spasm")
    taps.tap(page.locator("label[for=id_severity_0_10_7]"), "severity 6")
    check_page(page, f"journey-{size}-03-episode", errors)
    taps.tap(page.get_by_role("button", name="Save and continue"), "save")

    page.wait_for_url(re.compile(r"/steps/redflags/$"))
    shown = page.locator("form > .finding-group")
    for index in range(shown.count()):
        taps.tap(shown.nth(index).get_by_role("button", name="None of these"), "none of these")
    page.wait_for_timeout(300)
    for code in ("chest_pain", "carpopedal_spasm", "torticollis", "neck_stiffness", "hand_clumsiness"):
        assert page.locator(f"#id_{code}_1").is_checked(), code  # No, visibly
    check_page(page, f"journey-{size}-04-redflags", errors)
    taps.tap(page.get_by_role("button", name="Save and continue"), "save")

    page.wait_for_url(re.compile(r"/steps/vitals/$"))
    taps.type(page.get_by_label("Pre-dialysis systolic blood pressure (mmHg)"), "150", "sbp")
    taps.type(page.get_by_label("Lowest systolic blood pressure (mmHg)"), "130", "nadir")
    check_page(page, f"journey-{size}-05-vitals", errors)
    taps.tap(page.get_by_role("button", name="Save and continue"), "save")

    page.wait_for_url(re.compile(r"/steps/labs/$"))
    taps.tap(page.get_by_role("button", name="Use all"), "use all")
    page.locator("#preview-potassium").get_by_text("4.8 mmol/L", exact=False).wait_for(timeout=5000)
    assert page.locator("#id_potassium__value").input_value() == "4.8"
    assert page.locator("#id_magnesium__value").input_value() == ""  # stale: marked, not pre-selected
    assert page.locator("#lab-magnesium").get_by_text("Stale").is_visible()
    check_page(page, f"journey-{size}-06-labs", errors)
    taps.tap(page.get_by_role("button", name="Save and continue"), "save")

    page.wait_for_url(re.compile(r"/steps/dialysis/$"))
    assert page.get_by_label("Target (dry) weight (kg)").input_value() == "70"  # as written, not 70.0
    taps.type(page.get_by_label("Pre-dialysis weight (kg)"), "73", "pre")
    taps.type(page.get_by_label("Previous post-dialysis weight (kg)"), "70.4", "prev")
    taps.type(page.get_by_label("Session length (minutes)"), "240", "minutes")
    page.get_by_label("Session length (minutes)").press("Tab")
    page.locator("#derived-panel").get_by_text("mL/kg/h", exact=True).wait_for(timeout=5000)
    check_page(page, f"journey-{size}-07-dialysis", errors)
    taps.tap(page.get_by_role("button", name="Save and continue"), "save")

    page.wait_for_url(re.compile(r"/steps/medications/$"))
    check_page(page, f"journey-{size}-08-medications", errors)
    taps.tap(page.get_by_role("button", name="Save and continue"), "save")
    page.wait_for_url(re.compile(r"/steps/review/$"))
    check_page(page, f"journey-{size}-09-review", errors)
    taps.tap(page.get_by_role("button", name="Make care plan"), "plan")
    page.wait_for_url(re.compile(r"/plan/$"))
    check_page(page, f"journey-{size}-10-plan", errors)
    if page.locator(".do-now").count():  # the engine's do-now list, when the plan has one, is on the first screen
        from playwright.sync_api import expect

        expect(page.locator("#start-heading")).to_be_in_viewport()
        assert page.locator(".do-now li").count() <= 5  # the engine caps the list

    where = f"{viewport['width']}x{viewport['height']}"
    print(f"\nNeck-spasm journey at {where}: {taps.count} taps (before: {TAPS_BEFORE})")
    print("  " + ", ".join(taps.log))
    assert taps.count <= TAPS_TARGET, taps.log
    workup = Workup.objects.get()
    assert workup.answers["redflags"]["torticollis"] is False
    assert "asterixis" not in workup.answers["redflags"]  # not shown, not answered: stays not assessed
    assert {lab["analyte"] for lab in workup.answers["labs"]["labs"]} == {
        code for code, *_rest in LABS_ON_FILE if code != "magnesium"
    }
    assert workup.answers["dialysis"]["target_weight_kg"] == 70.0


def test_none_of_these_sets_a_groups_unanswered_questions_to_no_visibly(
    chromium: None, live_server: Any, ward: dict[str, Any], browser: Any
) -> None:
    workup = new_workup(ward, episode={"timing": "after_dialysis", "sites": ["neck"], "kind": "spasm"})
    page = browser.new_context(viewport=TABLET).new_page()
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/workups/{workup.public_id}/steps/redflags/")
    assert not page.locator("#id_asterixis_2").is_visible()  # behind "more questions"
    page.locator("label[for=id_palpitations_0]").click()  # Yes, before "none of these"
    screen = page.locator(".finding-group").first
    screen.get_by_role("button", name="None of these").click()
    assert page.locator("#id_fever_1").is_checked()  # No, on screen
    assert page.locator("#id_palpitations_0").is_checked()  # the Yes given is kept
    page.locator("label[for=id_fever_0]").click()  # still changeable
    page.wait_for_timeout(1200)
    workup.refresh_from_db()
    saved = workup.answers["redflags"]
    assert saved["fever"] is True and saved["palpitations"] is True and saved["seizure"] is False
    assert "asterixis" not in saved and "torticollis" not in saved  # not shown or not in the group: not assessed
    page.get_by_text("more questions", exact=False).click()
    assert page.locator("#id_asterixis_2").is_checked()  # one tap away, still "not assessed"
    from tests.web.browser import screenshot

    screenshot(page, "ux-redflags-more-open")


def test_medicines_are_found_by_brand_or_generic_name_and_shown_as_chips(
    chromium: None, live_server: Any, ward: dict[str, Any], browser: Any
) -> None:
    from playwright.sync_api import expect

    workup = new_workup(ward, episode={"timing": "between_sessions"})
    page = browser.new_context(viewport=PHONE).new_page()
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/workups/{workup.public_id}/steps/medications/")
    assert page.locator("input[type=checkbox][name=medications]").count() == 0  # the checkbox wall is gone
    chips = page.locator("#med-chips")
    expect(chips).to_contain_text("Sevelamer")  # from the record
    page.get_by_label("Add a medicine", exact=False).fill("Liores")
    page.get_by_role("button", name="Lioresal (Baclofen)").click()
    expect(chips).to_contain_text("Baclofen")
    page.get_by_label("Add a medicine", exact=False).fill("Zzyzzomab")
    page.get_by_role("button", name="Add “Zzyzzomab” as written").click()
    assert "Zzyzzomab" in page.get_by_label("Other medicines (as written)").input_value()
    page.get_by_role("button", name="Remove Sevelamer").click()
    page.wait_for_timeout(1200)
    workup.refresh_from_db()
    saved = workup.answers.get("medications") or {}
    draft = workup.drafts.get("medications") or {}
    chosen = saved.get("medications", draft.get("medications"))
    assert chosen == ["baclofen"], (saved, draft)
    from tests.web.browser import screenshot
    from tests.web.test_browser_workup import check_page

    check_page(page, "medicines-phone", [])
    screenshot(page, "medicines-phone")


def test_a_value_typed_is_kept_by_a_reload_one_and_a_half_seconds_later(
    chromium: None, live_server: Any, ward: dict[str, Any], browser: Any
) -> None:
    workup = new_workup(ward)
    page = browser.new_context(viewport=TABLET).new_page()
    sign_in(page, live_server.url)
    url = f"{live_server.url}/workups/{workup.public_id}/steps/episode/"
    page.goto(url)
    field = page.get_by_label("Episodes in the last 4 weeks")
    field.click()
    page.keyboard.type("6")  # typed, never left: no change event from the field itself
    page.wait_for_timeout(1500)
    page.reload()
    assert page.get_by_label("Episodes in the last 4 weeks").input_value() == "6"
    workup.refresh_from_db()
    assert workup.drafts["episode"]["episodes_last_4_weeks"] == ["6"]  # kept as typed (the step is not complete)


def test_back_and_forward_show_the_saved_answers_not_the_browsers_copy(
    chromium: None, live_server: Any, ward: dict[str, Any], browser: Any
) -> None:
    workup = new_workup(ward, episode={"timing": "after_dialysis", "sites": ["neck"]})
    page = browser.new_context(viewport=TABLET).new_page()
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/workups/{workup.public_id}/steps/redflags/")
    page.goto(f"{live_server.url}/workups/{workup.public_id}/steps/labs/")
    workup.answers = {**workup.answers, "redflags": {"fever": True}}  # saved meanwhile, e.g. in another tab
    workup.save(update_fields=["answers"])
    page.go_back()
    page.wait_for_url(re.compile(r"/steps/redflags/$"))
    assert page.locator("#id_fever_0").is_checked()
