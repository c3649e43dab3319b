"""Two tabs, one nurse, in real Chromium: different answers of one step merge without a word; the same answer
changed in both shows a conflict panel, in view, with answer names, values and "you, in another tab"; "Start cramp
workup" on a patient with an unfinished workup offers to resume it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from clinic.workups.models import Workup
from tests.web.browser import sign_in
from tests.web.test_browser_chairside import PHONE, TABLET, chromium, new_workup, ward  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
EPISODE = {"timing": "after_dialysis", "sites": ["neck"], "kind": "spasm"}
DIALYSIS = {"target_weight_kg": 70.0, "session_minutes": 240, "blood_flow_ml_min": 350, "sessions_per_week": 3}


def two_tabs(browser: Any, live_server: Any, workup: Workup, viewport: dict[str, int]) -> tuple[Any, Any]:
    context = browser.new_context(viewport=viewport)  # one browser, one sign-in: the same nurse in both tabs
    first = context.new_page()
    sign_in(first, live_server.url)
    second = context.new_page()
    for page in (first, second):
        page.goto(f"{live_server.url}/workups/{workup.public_id}/steps/dialysis/")
    return first, second


def change(page: Any, label: str, value: str, expect_status: str) -> None:
    from playwright.sync_api import expect

    field = page.get_by_label(label)
    field.fill(value)
    field.press("Tab")  # leaves the field: its change is autosaved
    expect(page.locator("#autosave-status")).to_contain_text(expect_status, timeout=5000)


def test_two_tabs_editing_different_answers_both_keep_theirs(
    chromium: None,  # noqa: F811
    live_server: Any,
    ward: dict[str, Any],  # noqa: F811
    browser: Any,
) -> None:
    from playwright.sync_api import expect

    workup = new_workup(ward, episode=EPISODE, dialysis=DIALYSIS)
    first, second = two_tabs(browser, live_server, workup, TABLET)
    change(first, "Target (dry) weight (kg)", "72.5", "Saved")
    change(second, "Blood flow (mL/min)", "300", "Saved")
    expect(second.locator("#autosave-status")).to_contain_text("also kept from a save made meanwhile")
    for page in (first, second):
        expect(page.locator(".conflict-panel")).to_have_count(0)
    workup.refresh_from_db()
    assert workup.answers["dialysis"]["target_weight_kg"] == 72.5
    assert workup.answers["dialysis"]["blood_flow_ml_min"] == 300
    # Saving the second tab goes on to the next step and keeps the first tab's target.
    second.get_by_role("button", name="Save and continue").click()
    second.wait_for_url("**/steps/medications/")
    workup.refresh_from_db()
    assert workup.answers["dialysis"]["target_weight_kg"] == 72.5
    second.goto(f"{live_server.url}/workups/{workup.public_id}/steps/dialysis/")
    assert float(second.get_by_label("Target (dry) weight (kg)").input_value()) == 72.5
    assert float(second.get_by_label("Blood flow (mL/min)").input_value()) == 300


@pytest.mark.parametrize("viewport", [TABLET, PHONE], ids=["tablet", "phone"])
def test_the_same_answer_in_two_tabs_shows_a_readable_conflict_in_view(
    chromium: None,  # noqa: F811
    live_server: Any,
    ward: dict[str, Any],  # noqa: F811
    browser: Any,
    viewport: dict[str, int],
) -> None:
    from playwright.sync_api import expect

    workup = new_workup(ward, episode=EPISODE, dialysis=DIALYSIS)
    first, second = two_tabs(browser, live_server, workup, viewport)
    change(first, "Target (dry) weight (kg)", "73", "Saved")
    change(second, "Target (dry) weight (kg)", "72.5", "Not saved")
    conflict = second.locator("#conflict-live .conflict-panel")
    expect(conflict).to_be_in_viewport(timeout=1000)
    title = re.compile(r"Not saved: this answer was saved differently at \d\d:\d\d by you, in another tab")
    expect(conflict).to_contain_text(title)
    expect(conflict).to_contain_text("Target (dry) weight: 73 kg saved by you, in another tab · 72.5 kg on this page")
    shown = conflict.inner_text()
    for raw in ("target_weight_kg", "True", "False", "73.0", "['"):
        assert raw not in shown, raw
    size = f"{viewport['width']}x{viewport['height']}"
    second.screenshot(path=f"/tmp/conflict-panel-{size}.png")
    workup.refresh_from_db()
    assert workup.answers["dialysis"]["target_weight_kg"] == 73
    # Keeping this page's answer saves it; the panel goes.
    second.get_by_role("button", name="Keep this page's answer").click()
    expect(second.locator("#autosave-status")).to_contain_text("Saved")
    expect(second.locator(".conflict-panel")).to_have_count(0)
    workup.refresh_from_db()
    assert workup.answers["dialysis"]["target_weight_kg"] == 72.5


@pytest.mark.parametrize("viewport", [TABLET, PHONE], ids=["tablet", "phone"])
def test_start_cramp_workup_offers_to_resume_the_unfinished_one(
    chromium: None,  # noqa: F811
    live_server: Any,
    ward: dict[str, Any],  # noqa: F811
    browser: Any,
    viewport: dict[str, int],
) -> None:
    from playwright.sync_api import expect

    from tests.web.browser import serious_axe_violations

    unfinished = new_workup(ward, episode=EPISODE)
    page = browser.new_context(viewport=viewport).new_page()
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/patients/{ward['patient'].public_id}/")
    page.get_by_role("button", name="Start cramp workup").click()
    offer = page.locator(".resume-offer")
    expect(offer).to_be_in_viewport()
    expect(offer).to_contain_text("This patient has an unfinished workup")
    expect(offer).to_contain_text("1 of 6 steps done; next: Red-flag screen")
    assert serious_axe_violations(page) == []
    for button in (page.get_by_role("link", name="Resume this workup"), page.get_by_role("button", name="Start a new")):
        assert button.bounding_box()["height"] >= 44
    page.screenshot(path=f"/tmp/resume-offer-{viewport['width']}x{viewport['height']}.png")
    assert Workup.objects.count() == 1
    page.get_by_role("link", name="Resume this workup").click()
    page.wait_for_url(f"**/workups/{unfinished.public_id}/steps/redflags/")
    assert Workup.objects.count() == 1
