"""Printouts never cut clinical text: every dose of the knowledge appears whole in the clinician PDF and in the
browser's print page, nothing is ellipsised, and a plan listing every drug still fits in three pages (the layout
changes, not the content)."""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.utils.html import escape
from pypdf import PdfReader

from clinic.engine import evaluate, load_knowledge, plan_to_dict
from clinic.printing.context import header_for_preview, print_context
from clinic.printing.pdf import render_case_pdf
from tests.cases import baseline_case, typical_case
from tests.web.cases import worst_case

ROOT = Path(__file__).resolve().parents[2]
ELLIPSES = ("…", "...", "\u22ef")
MAX_PAGES = 3


def pdf_text(pdf: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(pdf))
    return len(reader.pages), " ".join(page.extract_text() for page in reader.pages)


def no_space(text: str) -> str:
    """PDF text extraction breaks lines anywhere a line wraps; compare without whitespace."""
    return re.sub(r"\s+", "", text)


def plan_listing_every_drug() -> dict[str, Any]:
    """The worst case's plan (every red flag and step the cases raise), with every drug of the knowledge that has a
    dose offered with that dose: the longest printout the engine can produce."""
    plan = copy.deepcopy(plan_to_dict(evaluate(worst_case())))
    drugs = load_knowledge().drugs
    plan["drugs"] = [
        {**drug, "verdict": "caution", "dose": drugs[drug["drug"]].dose}
        if drugs[drug["drug"]].dose
        else {**drug, "dose": None}
        for drug in plan["drugs"]
    ]
    return plan


def knowledge_doses() -> dict[str, str]:
    return {code: drug.dose for code, drug in load_knowledge().drugs.items() if drug.dose}


def test_the_every_drug_plan_really_lists_every_drug_with_a_dose() -> None:
    plan = plan_listing_every_drug()
    doses = knowledge_doses()
    assert len(doses) >= 13  # every drug the app may offer has one
    assert {d["drug"] for d in plan["drugs"] if d["dose"]} == set(doses)
    assert {d["drug"] for d in plan["drugs"]} == set(load_knowledge().drugs)


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_every_dose_of_the_knowledge_is_printed_whole_within_three_pages(paper: str) -> None:
    pages, text = pdf_text(render_case_pdf(plan_listing_every_drug(), "plan", paper))
    assert pages <= MAX_PAGES
    flat = no_space(text)
    for code, dose in knowledge_doses().items():
        assert no_space(dose) in flat, f"{code}: dose cut or missing"
    for mark in ELLIPSES:
        assert mark not in text


@pytest.mark.parametrize("case", [baseline_case, typical_case, worst_case])
@pytest.mark.parametrize("kind", ["plan", "handout"])
def test_no_ellipsis_in_any_printed_plan(case: Callable[[], dict[str, Any]], kind: str) -> None:
    plan = plan_to_dict(evaluate(case()))
    _pages, text = pdf_text(render_case_pdf(plan, kind, "a4"))
    for mark in ELLIPSES:
        assert mark not in text
    if kind == "plan":
        flat = no_space(text)
        for drug in plan["drugs"]:
            if drug.get("dose"):
                assert no_space(drug["dose"]) in flat, drug["drug"]
            assert no_space(drug["why"]) in flat or (drug["verdict"] == "avoid" and not drug.get("tightened_by"))


def test_html_print_page_shows_every_dose_and_reason_whole() -> None:
    plan = plan_listing_every_drug()
    context = print_context(plan, header_for_preview(plan), "plan", "a4", signed=False)
    html = render_to_string("printing/plan.html", {**context, "for_pdf": False})
    for code, dose in knowledge_doses().items():
        assert escape(dose) in html, code
    for step in plan["steps"]:
        for action in step["actions"]:
            assert escape(action["text"]) in html
            assert escape(action["why"]) in html
    assert "…" not in html


def test_no_truncation_in_print_templates_or_css() -> None:
    """The cut-off had three mechanisms; none may come back in the printing templates or the print stylesheet."""
    sources = [*(ROOT / "templates" / "printing").glob("*.html"), ROOT / "static" / "css" / "print.css"]
    for path in sources:
        text = path.read_text()
        for banned in ("truncatewords", "truncatechars", "text-overflow", "line-clamp", "…"):
            assert banned not in text, f"{banned} in {path.name}"
