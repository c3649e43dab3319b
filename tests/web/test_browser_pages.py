"""Every page at the chair, in real Chromium, on a 768x1024 tablet and a 390x844 phone: axe-core finds nothing
serious or critical, every touch target is at least 44 px, nothing is wider than the screen, the text the browser
shows (htmx fragments included) has no raw values, and a full-page screenshot of each goes to $CHAIRSIDE_SHOTS
(default /tmp/shots) to be looked at. Also: the step bar is one line on a phone, and the print views have a
viewport and Print and Back buttons in view (hidden when printed)."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from clinic.accounts.models import LabUnitSystem, User
from tests.web.browser import PHONE, TABLET, serious_axe_violations
from tests.web.pages import Page, Ward, build_ward, pages
from tests.web.visible_text import raw_values

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SIZES = [pytest.param(TABLET, id="tablet"), pytest.param(PHONE, id="phone")]
SHOTS = Path(os.environ.get("CHAIRSIDE_SHOTS") or Path(tempfile.gettempdir()) / "shots")

# Everything a finger taps (inline links in running text are exempt, as in WCAG 2.5.8).
SMALL_TARGETS_JS = """
() => Array.from(document.querySelectorAll(
  'button, .btn, select, summary, .nav-link, .print-toolbar a, '
  + 'input:not([type=hidden]):not([type=radio]):not([type=checkbox]), .form-check'
)).filter(el => !el.classList.contains('btn-link') && el.offsetParent !== null
               && getComputedStyle(el).visibility !== 'hidden')
  .map(el => [el.outerHTML.slice(0, 90), Math.round(el.getBoundingClientRect().height)])
  .filter(([, h]) => h < 44)
"""


@pytest.fixture
def chromium() -> Iterator[None]:
    from tests.web.browser import require_chromium

    require_chromium()
    yield


@pytest.fixture
def ward(transactional_db: None) -> Ward:
    return build_ward(LabUnitSystem.SI)


def signed_in(browser: Any, base: str, user: User, viewport: dict[str, int]) -> Any:
    """A browser context with the user's session cookie (the login form is tested elsewhere)."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport=viewport)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}])
    return context


def shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True, caret="initial", animations="disabled")


def check(page: Any, name: str, errors: list[str]) -> list[str]:
    """Screenshot, then everything wrong with the page as shown."""
    page.wait_for_load_state("networkidle")
    shoot(page, name)
    problems = [f"{name}: axe {v}" for v in serious_axe_violations(page)]
    problems += [f"{name}: under 44 px {small}" for small in page.evaluate(SMALL_TARGETS_JS)]
    problems += [f"{name}: {hit}" for hit in raw_values(page.locator("body").inner_text())]
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if width[0] > width[1]:
        problems.append(f"{name}: {width[0]} px wide on a {width[1]} px screen (scrolls sideways)")
    problems += [f"{name}: console {error}" for error in errors]
    errors.clear()
    return problems


BROWSER_FLOWS = {"review-confirm", "start-workup-offer"}  # posted pages the browser reaches by tapping


def open_page(page: Any, base: str, item: Page) -> None:
    if item.name == "review-confirm":  # the nephrologist's decisions, then the confirmation
        page.goto(base + item.url)
        for radio in page.locator("fieldset.decision input[type=radio][value=accepted]").all():
            radio.check()
        page.get_by_role("button", name="Continue: check what will be signed").click()
        page.get_by_role("heading", name="Confirm and sign").wait_for()
    elif item.name == "start-workup-offer":
        page.goto(base + item.url.replace("workups/new/", ""))
        page.get_by_role("button", name="Start cramp workup").click()
        page.wait_for_load_state("networkidle")
    else:
        page.goto(base + item.url)


@pytest.mark.parametrize("viewport", SIZES)
def test_every_page_passes_axe_touch_targets_and_shows_no_raw_values(
    chromium: None, live_server: Any, ward: Ward, browser: Any, viewport: dict[str, int]
) -> None:
    size = "tablet" if viewport == TABLET else "phone"
    users = {"nurse": ward.nurse, "nephro": ward.nephro, "admin": ward.admin}
    contexts = {role: signed_in(browser, live_server.url, user, viewport) for role, user in users.items()}
    errors: list[str] = []
    problems: list[str] = []
    walked = 0
    for item in pages(ward):
        if item.fragment or (item.method == "post" and item.name not in BROWSER_FLOWS):
            continue  # other posted pages are read by the server-side walk (tests/web/test_raw_values.py)
        page = contexts[item.user].new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        open_page(page, live_server.url, item)
        problems += check(page, f"{size}-{item.name}", errors)
        walked += 1
        page.close()
    for context in contexts.values():
        context.close()
    assert not problems, "\n".join(problems)
    assert walked >= 30


@pytest.mark.parametrize("viewport", SIZES)
def test_htmx_fragments_show_no_raw_values(
    chromium: None, live_server: Any, ward: Ward, browser: Any, viewport: dict[str, int]
) -> None:
    """The live parts of the wizard as the browser shows them after htmx swaps them in."""
    from playwright.sync_api import expect

    size = "tablet" if viewport == TABLET else "phone"
    base, d = live_server.url, ward.draft.public_id
    page = signed_in(browser, base, ward.nurse, viewport).new_page()
    problems: list[str] = []
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    page.goto(f"{base}/workups/{d}/steps/labs/")
    page.locator("#id_urea__unit").select_option("mg/dL BUN")
    page.locator("#id_urea__value").fill("56")
    expect(page.locator("#preview-urea")).to_contain_text("mmol/L", timeout=5000)
    page.locator("#lab-glucose").get_by_role("button", name="Use").click()  # the result on file, re-used
    expect(page.locator("#preview-glucose")).to_contain_text("mmol/L", timeout=5000)
    problems += check(page, f"{size}-fragment-labs", errors)

    page.goto(f"{base}/workups/{d}/steps/dialysis/")
    page.get_by_label("Pre-dialysis weight (kg)").fill("74")
    page.get_by_label("Pre-dialysis weight (kg)").press("Tab")
    expect(page.locator("#derived-panel")).to_contain_text("mL/kg/h", timeout=5000)
    problems += check(page, f"{size}-fragment-dialysis", errors)

    page.goto(f"{base}/workups/{d}/steps/medications/")
    page.get_by_label("Add a medicine", exact=False).fill("Liores")
    page.get_by_role("button", name="Lioresal (Baclofen)").wait_for()
    problems += check(page, f"{size}-fragment-medicine-search", errors)

    page.goto(f"{base}/workups/{d}/steps/redflags/")
    label = page.locator("label[for=id_seizure_0]")
    label.scroll_into_view_if_needed()
    label.click()
    expect(page.locator("#emergency-live section").first).to_be_in_viewport(timeout=2000)
    problems += check(page, f"{size}-fragment-redflag-emergency", errors)
    assert not problems, "\n".join(problems)


def test_the_step_bar_is_one_line_on_a_phone_and_whole_on_a_tablet(
    chromium: None, live_server: Any, ward: Ward, browser: Any
) -> None:
    url = f"{live_server.url}/workups/{ward.draft.public_id}/steps/labs/"
    phone = signed_in(browser, live_server.url, ward.nurse, PHONE).new_page()
    phone.goto(url)
    bar = phone.get_by_role("navigation", name="Workup steps")
    assert bar.inner_text().strip() == "Step 4 of 7 · Labs"  # what is shown: the full bar is hidden
    height = bar.bounding_box()["height"]
    assert height <= 40, f"the step bar is {height} px high on a phone"
    assert not bar.get_by_role("link").first.is_visible()
    tablet = signed_in(browser, live_server.url, ward.nurse, TABLET).new_page()
    tablet.goto(url)
    bar = tablet.get_by_role("navigation", name="Workup steps")
    assert bar.get_by_role("link", name=re.compile("Episode")).is_visible()  # every step, one tap away
    assert bar.locator("[aria-current=step]").inner_text().strip() == "4. Labs"
    assert not bar.locator(".step-compact").is_visible()


@pytest.mark.parametrize("viewport", SIZES)
@pytest.mark.parametrize("kind", ["plan", "handout"])
def test_print_views_have_print_and_back_in_view_and_hide_them_in_print(
    chromium: None, live_server: Any, ward: Ward, browser: Any, viewport: dict[str, int], kind: str
) -> None:
    from playwright.sync_api import expect

    base, signed = live_server.url, ward.signed.public_id
    page = signed_in(browser, base, ward.nurse, viewport).new_page()
    page.add_init_script("window.print = () => { window.printed = true; };")
    page.goto(f"{base}/workups/{signed}/print/?kind={kind}")
    viewport_meta = page.locator("meta[name=viewport]")
    assert viewport_meta.get_attribute("content") == "width=device-width, initial-scale=1"
    # The layout follows the device: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    print_button = page.get_by_role("button", name="Print")
    back = page.get_by_role("link", name="Back to the care plan")
    for control in (print_button, back):
        expect(control).to_be_in_viewport()
        box = control.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, box
    page.mouse.wheel(0, 3000)  # still in reach after scrolling down the plan
    expect(print_button).to_be_in_viewport()
    print_button.click()
    assert page.evaluate("window.printed") is True
    page.emulate_media(media="print")
    expect(print_button).to_be_hidden()
    expect(back).to_be_hidden()
    page.emulate_media(media="screen")
    back.click()
    page.wait_for_url(re.compile(rf"/workups/{signed}/plan/$"))
