"""Idle log-off in real Chromium (issue 15): a nurse stops mid-typing on the dialysis step; the page warns, saves
the field she was typing in a few seconds before the server's limit, signs out naming the step, and after signing
in again she is back on that step with her typing offered back. (One minute of idle time: the shortest setting.)"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.web.browser import PASSWORD, sign_in
from tests.web.test_browser_chairside import chromium, new_workup, ward  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_idle_log_off_saves_the_typing_and_returns_to_the_step(
    chromium: None,  # noqa: F811
    live_server: Any,
    ward: dict[str, Any],  # noqa: F811
    browser: Any,
    settings: Any,
) -> None:
    from playwright.sync_api import expect

    from tests.web.browser import screenshot

    settings.SESSION_IDLE_MINUTES = 1
    workup = new_workup(ward)
    step = f"/workups/{workup.public_id}/steps/dialysis/"
    page = browser.new_context(viewport={"width": 768, "height": 1024}).new_page()
    sign_in(page, live_server.url)
    page.goto(live_server.url + step)
    field = page.locator("#id_pre_weight_kg")
    field.fill("74.5")  # typed, not yet left: no change event, nothing saved yet
    warning = page.locator(".idle-warning")
    expect(warning).to_be_visible(timeout=60_000)
    expect(warning).to_contain_text("you will be signed out in")
    screenshot(page, "idle-warning")
    page.wait_for_url(re.compile(r"/login/\?next="), timeout=60_000)
    assert page.url.endswith("/login/?next=" + step.replace("/", "%2F")), page.url
    expect(page.get_by_text("You were signed out after 1 minute without activity")).to_be_visible()
    workup.refresh_from_db()
    saved = (
        workup.answers.get("dialysis", {}).get("pre_weight_kg"),
        workup.drafts.get("dialysis", {}).get("pre_weight_kg"),
    )
    assert saved in [(74.5, None), (None, ["74.5"])], (
        "the final save reached the server in time",
        saved,
        workup.answers,
    )

    page.get_by_label("Username").fill("nurse.a")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(re.escape(step) + "$"))
    expect(page.locator("#id_pre_weight_kg")).to_have_value("74.5")
    screenshot(page, "idle-back-on-the-step")
