"""The review round trip in a real browser: a nurse submits, the nephrologist finds the plan on her worklist,
declines gabapentin and accepts vitamin E, returns the plan once with a comment, the nurse resubmits, the
nephrologist signs after the confirmation; the stored handout then mentions vitamin E and not gabapentin.
Screenshots at 1280x800 of the worklist and the review page, and of every page of the signed PDFs (pdftoppm)."""

from __future__ import annotations

import copy
import datetime as dt
import io
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from pypdf import PdfReader

from clinic.engine import evaluate, plan_to_dict
from clinic.patients.models import Patient
from clinic.printing.handout import handout_text
from clinic.workups.models import SignedPlan, Status, Workup
from tests.cases import baseline_case
from tests.web.browser import (
    ARTIFACTS,
    DESKTOP,
    make_staff,
    require_chromium,
    screenshot,
    serious_axe_violations,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
VITAMIN_E, GABAPENTIN = "pharmacotherapy.vitamin_e", "pharmacotherapy.gabapentin_post_dialysis"


def case_offering_both() -> dict[str, Any]:
    """Frequent cramps after a failed vitamin C trial: the plan offers vitamin E (first line) and gabapentin (a later
    line, opened by the documented failed trial)."""
    case = copy.deepcopy(baseline_case())
    case["episode"]["episodes_last_4_weeks"] = 10
    case["episode"]["sites"] = ["legs"]
    case["previous_trials"] = [{"drug": "vitamin_c", "outcome": "no_benefit", "weeks": 8}]
    return case


@pytest.fixture
def ward(transactional_db: None) -> dict[str, Any]:
    unit, nurse, nephro = make_staff(phone="020 7946 0321", hours="Mon–Sat 7am–9pm")
    patient = Patient.objects.create(
        unit=unit,
        mrn="AN100362",
        family_name="Nowak",
        given_name="Irena",
        date_of_birth=dt.date(1966, 3, 2),
        sex="female",
        dialysis_started=dt.date(2019, 3, 1),
        dry_weight_kg=Decimal("80.0"),
        diabetes=False,
        access="fistula",
        medications=["sevelamer", "statin"],
    )
    case = case_offering_both()
    plan = plan_to_dict(evaluate(case))
    offered = {a["code"] for s in plan["steps"] for a in s["actions"]}
    assert {VITAMIN_E, GABAPENTIN} <= offered, offered
    # The plan as "Make care plan" stores it; the nurse submits it in the browser.
    workup = Workup.objects.create(
        patient=patient, created_by=nurse, case_json=case, plan_json=plan, plan_made_at=timezone.now()
    )
    return {"workup": workup, "nurse": nurse, "nephro": nephro}


def look(page: Any, name: str, errors: list[str]) -> None:
    page.wait_for_load_state("networkidle")
    screenshot(page, name)
    violations = serious_axe_violations(page)
    assert not violations, f"{name}: {violations}"
    assert not errors, f"{name}: {errors}"


def decide(page: Any, code: str, decision: str, note: str = "") -> None:
    card = page.locator(f'fieldset.decision[data-code="{code}"]')
    card.locator(f"input[type=radio][value={decision}]").check()
    if note:
        card.locator("input[type=text]").fill(note)


def test_review_round_trip_declines_gabapentin_and_the_handout_follows(
    live_server: Any, ward: dict[str, Any], browser: Any
) -> None:
    require_chromium()
    base, workup = live_server.url, ward["workup"]
    errors: list[str] = []

    def open_page(context: Any) -> Any:
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    nurse_ctx, nephro_ctx = browser.new_context(viewport=DESKTOP), browser.new_context(viewport=DESKTOP)
    nurse, nephro = open_page(nurse_ctx), open_page(nephro_ctx)

    # The nurse submits the plan.
    sign_in(nurse, base, "nurse.a")
    nurse.goto(f"{base}/workups/{workup.public_id}/plan/")
    nurse.get_by_role("button", name="Submit for nephrologist review").click()
    nurse.get_by_text("Awaiting nephrologist review", exact=False).first.wait_for()

    # The nephrologist finds it on her worklist (home), with the count in the navigation.
    sign_in(nephro, base, "nephro.a")
    assert nephro.url.endswith("/worklist/"), nephro.url  # her home after signing in
    assert nephro.get_by_test_id("nav-worklist").inner_text().strip().endswith("1")
    row = nephro.locator(f'#awaiting-table tr[data-workup="{workup.public_id}"]')
    assert "Nowak, Irena" in row.inner_text() and "Amara Okafor" in row.inner_text()
    look(nephro, "review-01-worklist-nephrologist", errors)
    row.get_by_role("link", name="Nowak, Irena").click()
    nephro.wait_for_url(re.compile(r"/review/$"))
    look(nephro, "review-02-review-page", errors)

    # She returns it once with a comment.
    nephro.get_by_label("What should the nurse check or change?").fill("Please re-weigh after the session.")
    nephro.get_by_role("button", name="Return to the nurse").click()
    nephro.wait_for_url(re.compile(r"/worklist/$"))
    assert Workup.objects.get(pk=workup.pk).status == Status.DRAFT

    # The nurse sees it returned, with the comment, and submits again.
    nurse.goto(f"{base}/worklist/")
    returned = nurse.locator(f'.returned-list li[data-workup="{workup.public_id}"]')
    assert "Please re-weigh after the session." in returned.inner_text()
    look(nurse, "review-03-worklist-nurse-returned", errors)
    returned.get_by_role("link", name="Nowak, Irena").click()
    assert nurse.locator(".returned-note").get_by_text("Please re-weigh after the session.").is_visible()
    nurse.get_by_role("button", name="Submit for nephrologist review").click()
    nurse.get_by_text("Awaiting nephrologist review", exact=False).first.wait_for()

    # The nephrologist declines gabapentin, accepts vitamin E and everything else, checks the handout, signs.
    nephro.goto(f"{base}/worklist/")
    nephro.locator(f'#awaiting-table tr[data-workup="{workup.public_id}"]').get_by_role("link").first.click()
    nephro.wait_for_url(re.compile(r"/review/$"))
    for radio in nephro.locator("fieldset.decision input[type=radio][value=accepted]").all():
        radio.check()
    decide(nephro, GABAPENTIN, "declined", "Try vitamin E first.")
    decide(nephro, VITAMIN_E, "accepted")
    nephro.get_by_label("Comment for the signed plan (optional)").fill("Review in 8 weeks.")
    nephro.get_by_role("button", name="Continue: check what will be signed").click()
    nephro.get_by_role("heading", name="Confirm and sign").wait_for()
    team = handout_text()["team"]
    preview = nephro.locator(".handout-preview").inner_text()
    assert team[VITAMIN_E]["text"] in preview and "gabapentin" not in preview.lower()
    assert "Phone your unit on 020 7946 0321." in preview
    look(nephro, "review-04-confirm", errors)
    nephro.get_by_role("button", name="Sign care plan").click()
    nephro.get_by_text("Signed by Lukas Brandt", exact=False).wait_for()
    look(nephro, "review-05-signed", errors)

    snapshot = SignedPlan.objects.get(workup=workup)
    assert snapshot.decisions[GABAPENTIN] == {"decision": "declined", "note": "Try vitamin E first."}
    assert snapshot.decisions[VITAMIN_E]["decision"] == "accepted" and snapshot.comment == "Review in 8 weeks."

    # The handout the browser downloads is the one stored at signing; it mentions vitamin E and not gabapentin.
    with nephro.expect_download() as download:
        nephro.get_by_role("link", name="Handout PDF").click()
    handout = Path(download.value.path()).read_bytes()
    assert handout == bytes(snapshot.handout_pdf)
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(handout)).pages))
    assert "vitamin E" in text and "gabapentin" not in text.lower()
    assert "Phone your unit on 020 7946 0321." in text and "Calf: sit with your leg out straight." in text
    for kind, pdf in (("plan", bytes(snapshot.plan_pdf)), ("handout", handout)):
        render_pages(pdf, f"review-pdf-{kind}")
    nurse_ctx.close()
    nephro_ctx.close()


def render_pages(pdf: bytes, name: str) -> None:
    """Every page of a PDF as a PNG beside the screenshots (pdftoppm from poppler-utils)."""
    if shutil.which("pdftoppm") is None:
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-r", "70", "-png", "-", str(ARTIFACTS / name)], input=pdf, check=True)
    assert list(ARTIFACTS.glob(f"{name}-*.png"))
