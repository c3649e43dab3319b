"""Printed care plans and patient handouts: the PDFs themselves (pages, header on every page, red flags,
knowledge version, reading grade), the print view, the command, audit and access."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import textstat
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from clinic.accounts.models import Role, Unit, User
from clinic.audit.models import Action, AuditEvent
from clinic.engine import evaluate, load_knowledge, plan_to_dict
from clinic.patients.models import Patient
from clinic.printing.handout import build_handout, handout_text
from clinic.printing.pdf import StaticOnlyFetcher, render_case_pdf, render_plan_pdf
from clinic.workups.models import Workup
from tests.cases import baseline_case, typical_case
from tests.web.cases import worst_case
from tests.web.conftest import create_signed_workup

ROOT = Path(__file__).resolve().parents[2]
MAX_GRADE = 6.0


def pages_text(pdf: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(pdf))
    return [page.extract_text() for page in reader.pages]


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def plan_for(case: dict[str, Any]) -> dict[str, Any]:
    return plan_to_dict(evaluate(case))


@pytest.fixture
def signed_workup(
    db: None, unit_a: Unit, nurse_a: User, nephro_a: User, make_patient: Callable[..., Patient]
) -> Workup:
    patient = make_patient(unit_a, family_name="Kowalski", given_name="Walter", mrn="AN100361")
    workup = create_signed_workup(patient, nurse_a, nephro_a, typical_case())
    nephro_a.first_name, nephro_a.last_name = "Lukas", "Brandt"
    nephro_a.save()
    return workup


@pytest.mark.parametrize("paper", ["a4", "letter"])
# The contract example is two emergencies (a neck cramp with hypotension is the acute-coronary picture of
# facts.md §5, and baclofen with hypotension is possible toxicity): its plan leads with both pathways.
@pytest.mark.parametrize(("case", "max_pages"), [(baseline_case, 2), (typical_case, 3), (worst_case, 3)])
def test_plan_pdf_page_budget_and_content(case: Callable[[], dict[str, Any]], max_pages: int, paper: str) -> None:
    plan = plan_for(case())
    pages = pages_text(render_case_pdf(plan, "plan", paper))
    assert 1 <= len(pages) <= max_pages
    text = squash(" ".join(pages))
    for flag in plan["red_flags"]:
        assert squash(flag["title"]) in text, flag["code"]
    for page_number, page in enumerate(pages, start=1):
        page = squash(page)
        assert "PREVIEW" in page and f"Knowledge {plan['knowledge_version']}" in page
        assert f"Page {page_number} of {len(pages)}" in page


def test_worst_case_really_is_the_worst_case() -> None:
    assert len(plan_for(worst_case())["red_flags"]) >= 15


def test_saved_plan_pdf_has_the_identifying_header_on_every_page(signed_workup: Workup) -> None:
    pages = pages_text(render_plan_pdf(signed_workup, "plan", "letter"))
    for page in pages:
        page = squash(page)
        for field in (
            "KOWALSKI, Walter",
            "MRN AN100361",
            "DOB 17 May 1960",
            "Unit A (North)",
            "Signed by Lukas Brandt",
            f"Knowledge {load_knowledge().version}",
        ):
            assert field in page, field
        assert re.search(r"Workup \d{2} \w{3} \d{4} \d{2}:\d{2}", page)


@pytest.mark.parametrize("case", [baseline_case, typical_case, worst_case])
@pytest.mark.parametrize("signed", [True, False])
def test_handout_reads_at_grade_six_or_below(case: Callable[[], dict[str, Any]], signed: bool) -> None:
    plan = plan_for(case())
    handout = build_handout(plan, signed=signed)
    body = " ".join(handout.lines())
    assert textstat.flesch_kincaid_grade(body) <= MAX_GRADE
    text = squash(" ".join(pages_text(render_case_pdf(plan, "handout", "a4"))))
    assert textstat.flesch_kincaid_grade(text) <= MAX_GRADE
    for medicine in ("Baclofen", "Quinine", "magnesium or aluminium"):
        assert medicine in text


def test_every_text_block_reads_at_grade_six_or_below() -> None:
    text = handout_text()
    lines = [*text["intro"]["lines"], text["avoid"]["intro"], *text["avoid"]["items"].values(), text["avoid"]["outro"]]
    lines += [*text["help"]["always_emergency"], *text["baclofen"]["lines"], *text["next"].values()]
    lines += [line for block in text["stretch"].values() for line in block["lines"]]
    lines += [block["text"] for block in text["team"].values()]
    lines += [line for block in text["home"].values() for line in block["lines"]]
    lines += [flag["text"] for flag in text["help"]["flags"].values()]
    assert textstat.flesch_kincaid_grade(" ".join(lines)) <= MAX_GRADE


def test_every_red_flag_has_lay_help_text_and_team_blocks_are_real_codes() -> None:
    text = handout_text()
    knowledge = load_knowledge()
    assert set(text["help"]["flags"]) == set(knowledge.red_flags)
    assert set(text["team"]) <= set(knowledge.actions)
    assert {code for code in text["home"] if code != "always"} <= set(knowledge.actions)


def test_draft_handout_is_marked_and_shows_only_nurse_advice() -> None:
    plan = plan_for(typical_case())
    draft, signed = build_handout(plan, signed=False), build_handout(plan, signed=True)
    assert "Draft" in draft.notice and not draft.team_changes
    assert signed.team_changes, "a signed plan tells the patient what the team is changing"
    team_blocks = handout_text()["team"]
    assert not any(block["text"] in draft.home for block in team_blocks.values())


def test_handout_lists_emergencies_for_the_red_flags_raised() -> None:
    handout = build_handout(plan_for(worst_case()), signed=True)
    assert "Tingling lips or hands, or hands that lock up." in handout.emergency  # tetany
    assert "A cold, pale or painful hand on your access arm." in handout.unit  # access ischaemia


def test_fetcher_serves_only_project_static_files() -> None:
    fetcher = StaticOnlyFetcher()
    assert b"@page" in fetcher.fetch("https://chairside.invalid/static/css/print.css").read()
    for url in (
        "http://169.254.169.254/latest/meta-data",
        "file:///etc/passwd",
        "https://example.org/static/x.css",
        "https://chairside.invalid/etc/passwd",
        "https://chairside.invalid/static/../../settings.py",
    ):
        with pytest.raises(ValueError):
            fetcher.fetch(url)


@pytest.mark.django_db
def test_print_view_and_pdf_download_are_audited_and_scoped(
    signed_workup: Workup, nurse_a: User, nurse_b: User, client_for: Callable[[User], Client]
) -> None:
    client = client_for(nurse_a)
    page = client.get(reverse("printing:plan-print", args=[signed_workup.public_id]), {"kind": "plan"})
    html = page.content.decode()
    assert page.status_code == 200 and "KOWALSKI, Walter" in html
    # No application chrome, only the screen-only Print and Back toolbar (hidden in print, see print.css).
    assert 'aria-label="Main"' not in html and "Sign out" not in html
    assert html.count("<button") == 1 and 'class="screen-only print-toolbar"' in html
    response = client.get(
        reverse("printing:plan-pdf", args=[signed_workup.public_id]), {"kind": "handout", "paper": "letter"}
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "Kowalski" not in response["Content-Disposition"] and "AN100361" not in response["Content-Disposition"]
    assert pages_text(response.content)
    assert AuditEvent.objects.filter(action=Action.PLAN_PRINT).count() == 1
    event = AuditEvent.objects.get(action=Action.PLAN_PDF)
    assert event.detail["kind"] == "handout" and event.patient_public_id == signed_workup.patient.public_id
    outsider = client_for(nurse_b)
    assert outsider.get(reverse("printing:plan-pdf", args=[signed_workup.public_id])).status_code == 404
    assert outsider.get(reverse("printing:plan-print", args=[signed_workup.public_id])).status_code == 404
    assert (
        client.get(reverse("printing:plan-pdf", args=[signed_workup.public_id]), {"kind": "poster"}).status_code == 400
    )


@pytest.mark.django_db
def test_unsigned_plan_prints_as_draft(
    unit_a: Unit, nurse_a: User, make_patient: Callable[..., Patient], client_for: Callable[[User], Client]
) -> None:
    case = baseline_case()
    workup = Workup.objects.create(
        patient=make_patient(unit_a), created_by=nurse_a, case_json=case, plan_json=plan_for(case)
    )
    text = squash(" ".join(pages_text(render_plan_pdf(workup, "handout"))))
    assert "Draft. Your kidney doctor has not checked this plan yet." in text and "DRAFT – not signed" in text
    assert nurse_a.role_in(unit_a) == Role.NURSE


@pytest.mark.django_db
def test_careplan_pdf_command_from_a_case_and_from_a_workup(signed_workup: Workup, tmp_path: Path) -> None:
    case_file = tmp_path / "case.json"
    case_file.write_text(__import__("json").dumps(worst_case()))
    out = tmp_path / "preview.pdf"
    done = subprocess.run(
        [sys.executable, "manage.py", "careplan", "pdf", "--case", str(case_file), "--kind", "plan", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**__import__("os").environ, "DEBUG": "1"},
    )
    assert done.returncode == 0, done.stderr
    pages = pages_text(out.read_bytes())
    assert len(pages) <= 3 and all("PREVIEW, NOT SAVED" in squash(page) for page in pages)
    from django.core.management import call_command

    saved = tmp_path / "saved.pdf"
    call_command(
        "careplan", "pdf", str(signed_workup.public_id), "--kind", "handout", "--out", str(saved), stderr=io.StringIO()
    )
    assert "KOWALSKI" in pages_text(saved.read_bytes())[0]
    assert AuditEvent.objects.filter(action=Action.PLAN_PDF, detail__via="command").exists()
