"""The patient handout follows the nephrologist's decisions and the patient: only accepted options, stretches for
the sites involved, a baclofen user told not to stop it alone, the unit's phone number and hours, the next steps
booked, en-GB or en-US per unit. Checked in the PDF text (what the patient reads) and at reading grade <= 6 for
every combination of blocks."""

from __future__ import annotations

import copy
import io
import itertools
import re
from collections.abc import Callable
from typing import Any

import pytest
import textstat
from pypdf import PdfReader

from clinic.accounts.models import Locale, Unit, User
from clinic.engine import evaluate, plan_to_dict
from clinic.patients.models import Patient
from clinic.printing.handout import LOCALES, STRETCH_ORDER, UnitInfo, build_handout, handout_text
from clinic.printing.pdf import render_case_pdf, render_plan_pdf
from clinic.workups.decisions import decision_items
from clinic.workups.models import SignedPlan, Status, Workup
from tests.cases import baseline_case, frequent_cramps_case, typical_case
from tests.web.cases import worst_case

MAX_GRADE = 6.0
DO_NOT_STOP = "Do not stop it on your own; your team will lower the dose slowly."


def pdf_text(pdf: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


def with_sites(case: dict[str, Any], sites: list[str]) -> dict[str, Any]:
    case = copy.deepcopy(case)
    case["episode"]["sites"] = sites
    return case


def signed_workup(patient: Patient, nurse: User, nephro: User, case: dict[str, Any], decide: Callable) -> Workup:
    """A workup signed through the service (decisions, snapshot and stored PDFs), from a real engine plan."""
    from clinic.workups import lifecycle

    plan = plan_to_dict(evaluate(case))
    workup = Workup.objects.create(
        patient=patient, created_by=nurse, case_json=case, plan_json=plan, status=Status.AWAITING_REVIEW
    )
    decisions = {item.code: decide(item) for item in decision_items(plan)}
    lifecycle.sign(workup, workup.version, nephro, decisions=decisions, comment="Reviewed.")
    return Workup.objects.select_related("patient__unit", "signed_plan__signed_by").get(pk=workup.pk)


def test_baclofen_user_is_told_not_to_stop_it_and_never_just_to_stay_away() -> None:
    case = typical_case()
    assert "baclofen" in case["medications"]
    for signed in (False, True):
        text = pdf_text(render_case_pdf(plan_to_dict(evaluate(case)), "handout", "a4", case=case))
        assert DO_NOT_STOP in text
        assert "stay away" not in text.lower()
        handout = build_handout(plan_to_dict(evaluate(case)), signed=signed, case=case)
        assert not any(line.startswith("Baclofen, a muscle pill") for line in handout.avoid)


def test_the_do_not_stop_advice_is_printed_once_with_the_taper_accepted() -> None:
    """The baclofen user's signed handout, every recommendation (the taper included) accepted, says once not to stop
    baclofen on their own: the advice lives in one block of the handout text, not also in a team line."""
    case = typical_case()
    plan = plan_to_dict(evaluate(case))
    accepted = {item.code: {"decision": "accepted", "note": ""} for item in decision_items(plan)}
    assert "medications.taper_baclofen" in accepted
    lines = build_handout(plan, signed=True, decisions=accepted, case=case).lines()
    assert sum("not stop it on your own" in line.lower() for line in lines) == 1, lines
    assert sum("lower" in line.lower() and "baclofen" in line.lower() for line in lines) <= 1, lines


def test_a_patient_not_on_baclofen_is_told_to_avoid_it_without_the_taper_sentence() -> None:
    case = baseline_case()
    text = pdf_text(render_case_pdf(plan_to_dict(evaluate(case)), "handout", "a4", case=case))
    assert "Baclofen, a muscle pill." in text and DO_NOT_STOP not in text and "stay away" not in text.lower()


def test_neck_only_handout_has_no_calf_stretch() -> None:
    case = with_sites(baseline_case(), ["neck"])
    text = pdf_text(render_case_pdf(plan_to_dict(evaluate(case)), "handout", "a4", case=case))
    assert "Neck: sit up tall." in text
    for word in ("Calf", "calf", "toes", "Thigh", "Foot:"):
        assert word not in text, word


def test_leg_cramps_get_the_leg_stretches_only() -> None:
    case = with_sites(baseline_case(), ["legs"])
    handout = build_handout(plan_to_dict(evaluate(case)), signed=False, case=case)
    assert [line.split(":")[0] for line in handout.stretches] == ["Thigh", "Calf", "Foot"]


@pytest.mark.parametrize("site", ["neck", "shoulder", "back", "thigh", "calf", "foot", "hand"])
def test_each_site_has_its_own_stretch(site: str) -> None:
    handout = build_handout({"steps": [], "drugs": []}, signed=False, case={"episode": {"sites": [site]}})
    assert len(handout.stretches) == 1 and handout.stretches[0].lower().startswith(site)


@pytest.mark.django_db
def test_unit_phone_hours_and_next_steps_are_printed(
    unit_a: Unit, nurse_a: User, nephro_a: User, make_patient: Callable[..., Patient]
) -> None:
    unit_a.phone, unit_a.hours = "020 7946 0321", "Mon–Sat 7am–9pm"
    unit_a.save()
    case = typical_case()  # magnesium only on file: bloods are booked
    workup = Workup.objects.create(
        patient=make_patient(unit_a), created_by=nurse_a, case_json=case, plan_json=plan_to_dict(evaluate(case))
    )
    text = pdf_text(render_plan_pdf(workup, "handout"))
    assert "Phone your unit on 020 7946 0321." in text and "We are open Mon–Sat 7am–9pm." in text
    assert "We will take a blood test at your next session." in text
    assert "Draft." in text  # unsigned: still a draft, nurse-scope advice only
    unit_a.phone = ""
    unit_a.save()
    assert "Ask your nurse for the phone number of your unit." in pdf_text(render_plan_pdf(workup, "handout"))


def test_an_ecg_booked_is_in_the_next_steps() -> None:
    plan = plan_to_dict(evaluate(worst_case()))
    codes = {a["code"] for s in plan["steps"] for a in s["actions"]}
    assert "labs.ecg" in codes
    handout = build_handout(plan, signed=False, case=worst_case())
    assert "We will check your heart beat with a test called an ECG." in handout.next_steps


@pytest.mark.django_db
def test_only_accepted_options_reach_the_signed_handout(
    unit_a: Unit, nurse_a: User, nephro_a: User, make_patient: Callable[..., Patient]
) -> None:
    case = frequent_cramps_case()
    options = [item for item in decision_items(plan_to_dict(evaluate(case))) if item.drug_option]
    assert len(options) >= 2, "the case offers at least two drug options"
    accepted, declined = options[0].code, [item.code for item in options[1:]]
    workup = signed_workup(
        make_patient(unit_a),
        nurse_a,
        nephro_a,
        case,
        lambda item: {"decision": "accepted" if item.code not in declined else "declined", "note": ""},
    )
    team = handout_text()["team"]
    stored = pdf_text(bytes(workup.signed_plan.handout_pdf))
    assert squash_team(team[accepted]["text"]) in stored
    for code in declined:
        assert squash_team(team[code]["text"]) not in stored, code
    assert stored == pdf_text(render_plan_pdf(workup, "handout", workup.signed_plan.pdf_paper))


def squash_team(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.mark.django_db
def test_us_unit_gets_us_wording_and_letter_paper(
    unit_a: Unit, nurse_a: User, nephro_a: User, make_patient: Callable[..., Patient]
) -> None:
    unit_a.locale = Locale.EN_US
    unit_a.save()
    workup = signed_workup(
        make_patient(unit_a), nurse_a, nephro_a, baseline_case(), lambda item: {"decision": "accepted", "note": ""}
    )
    snapshot = SignedPlan.objects.get(workup=workup)
    assert snapshot.pdf_paper == "letter"
    reader = PdfReader(io.BytesIO(bytes(snapshot.handout_pdf)))
    assert round(float(reader.pages[0].mediabox.width)) == 612  # US Letter, 8.5 in
    text = pdf_text(bytes(snapshot.handout_pdf))
    assert "Call 911" in text and "dialysis center" in text and "999" not in text


def test_uk_wording_by_default() -> None:
    text = " ".join(build_handout(plan_to_dict(evaluate(baseline_case())), signed=False).lines())
    assert "Call 999 or go to A&E" in text and "center" not in text


def every_combination() -> list[tuple[str, bool, bool, tuple[str, ...]]]:
    sites = list(STRETCH_ORDER)
    site_sets = [combo for n in range(len(sites) + 1) for combo in itertools.combinations(sites, n)]
    return [
        (locale, signed, baclofen, site_set)
        for locale in LOCALES
        for signed in (False, True)
        for baclofen in (False, True)
        for site_set in site_sets
    ]


def test_every_combination_of_blocks_reads_at_grade_six_or_below() -> None:
    """Every locale x draft/signed x baclofen or not x every subset of stretch sites, on the worst case's plan
    with every team block accepted (the most blocks at once), with and without the unit's phone and hours."""
    plan = plan_to_dict(evaluate(worst_case()))
    plan_all = copy.deepcopy(plan)
    plan_all["steps"].append(
        {
            "code": "extra",
            "title": "",
            "actions": [{"code": code, "who": "nephrologist"} for code in handout_text()["team"]],
        }
    )
    plan_all["steps"].append(
        {"code": "next", "title": "", "actions": [{"code": code, "who": "nurse"} for code in handout_text()["next"]]}
    )
    combinations = every_combination()
    assert len(combinations) == 2 * 2 * 2 * 2 ** len(STRETCH_ORDER)
    worst = 0.0
    for locale, signed, baclofen, sites in combinations:
        case = {"episode": {"sites": list(sites)}, "medications": ["baclofen"] if baclofen else []}
        for unit in (UnitInfo(locale=locale), UnitInfo("Unit", "020 7946 0321", "Mon–Sat 7am–9pm", locale)):
            handout = build_handout(plan_all, signed=signed, case=case, unit=unit)
            grade = textstat.flesch_kincaid_grade(" ".join(line for line in handout.lines() if line))
            worst = max(worst, grade)
            assert grade <= MAX_GRADE, (locale, signed, baclofen, sites, unit.phone)
    assert worst > 0
