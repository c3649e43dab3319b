"""The care plan page at a glance, without a browser: the one-line section summaries, which sections are pinned
open (an emergency, a hard stop the patient takes), the nurse's own-medicine verdicts, and the page's markup for
each role. The browser half (lengths in screens, the do-now card in view, one tap to the table) is in
test_browser_plan_glance.py."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic.accounts.models import Unit, User
from clinic.engine import evaluate, plan_to_dict
from clinic.patients.models import Patient
from clinic.workups.glance import derived_section, plan_glance
from clinic.workups.models import Workup
from clinic.workups.presenters import DerivedValue, plan_view
from tests.cases import baseline_case


def glance_for(case: dict[str, Any], role: str) -> dict[str, Any]:
    plan = plan_to_dict(evaluate(case))
    return plan_glance(plan, plan_view(plan, role), role)


def case_with(**changes: Any) -> dict[str, Any]:
    case = copy.deepcopy(baseline_case())
    for key, value in changes.items():
        if value is None:
            case.pop(key, None)
        else:
            case[key] = value
    return case


def test_a_plan_without_emergency_or_hard_stop_folds_every_section_for_the_nephrologist() -> None:
    glance = glance_for(case_with(medications=["sevelamer", "gabapentin"]), "nephrologist")
    assert not any(glance[key].pinned for key in ("flags", "steps", "drugs", "derived", "missing"))
    assert glance["flags"].summary == "none raised by the answers given"
    assert re.fullmatch(r"\d+ actions? in \d+ steps?: .*for the nurse.*", glance["steps"].summary)
    assert re.fullmatch(r"\d+ to avoid, \d+ caution, \d+ usable", glance["drugs"].summary)
    assert glance["hard_stops"] == ["Baclofen", "Quinine", "Quinidine"]  # named in the summary, folded or not
    assert glance["own_drugs"] == []  # the nephrologist keeps the full table instead


def test_an_emergency_pins_the_red_flags_open_and_a_hard_stop_the_patient_takes_pins_the_medicines() -> None:
    case = case_with(medications=["baclofen"])
    case["findings"]["chest_pain"] = True
    glance = glance_for(case, "nephrologist")
    assert glance["flags"].alarm and glance["flags"].pinned
    assert glance["flags"].summary.startswith("1 emergency: ")
    assert glance["drugs"].alarm  # baclofen on the list: a hard stop for this patient
    assert not glance["steps"].pinned and not glance["derived"].pinned and not glance["missing"].pinned


def test_the_nurse_gets_her_patients_own_avoid_and_caution_verdicts_only() -> None:
    glance = glance_for(case_with(medications=["tizanidine", "gabapentin", "vitamin_e", "sevelamer"]), "nurse")
    own = {d["drug"]: d["verdict"] for d in glance["own_drugs"]}
    assert own == {"tizanidine": "avoid", "gabapentin": "caution"}  # vitamin E is usable; quinine not taken
    assert glance["drugs"].summary == "1 to avoid, 1 caution among this patient's medicines"
    assert glance["drugs"].open and not glance["drugs"].alarm  # the list is the glance; nothing to alarm
    for drug in glance["own_drugs"]:
        assert drug["why"] and drug["sources"] and drug["evidence"] in {"V", "S", "U"}


def test_the_nurses_medicines_are_not_assessed_when_no_list_was_given_and_unassessed_inputs_show() -> None:
    assert glance_for(case_with(medications=None), "nurse")["drugs"].summary == (
        "not assessed: no medication list was given"
    )
    glance = glance_for(case_with(medications=["levocarnitine"]), "nurse")  # usable, but free carnitine missing
    (carnitine,) = glance["own_drugs"]
    assert carnitine["verdict"] == "usable" and carnitine["not_assessed_text"]
    assert "1 not fully assessed" in glance["drugs"].summary


def test_the_do_now_card_has_at_most_five_lines_and_says_how_many_more() -> None:
    plan = plan_to_dict(evaluate(baseline_case()))
    view = plan_view(plan, "nephrologist")
    view["start_here"] = [{"shown_text": f"decision {i}", "who": "nephrologist"} for i in range(7)]
    glance = plan_glance(plan, view, "nephrologist")
    assert len(glance["start_here"]) == 5 and glance["start_more"] == 2


@pytest.fixture
def planned(unit_a: Unit, nurse_a: User, make_patient: Callable[..., Patient]) -> Workup:
    patient = make_patient(unit_a, medications=["tizanidine", "sevelamer"])
    case = case_with(medications=["tizanidine", "sevelamer"])
    return Workup.objects.create(
        patient=patient,
        created_by=nurse_a,
        case_json=case,
        plan_json=plan_to_dict(evaluate(case)),
        plan_made_at=timezone.now(),
    )


def sections(page: str) -> dict[str, str]:
    """data-section -> the element it is on (details: folded on load; section: cannot be folded)."""
    return {
        name: tag
        for tag, name in re.findall(r'<(details|section) class="plan-section[^"]*"[^>]*data-section="(\w+)"', page)
    }


def test_the_plan_page_folds_its_sections_and_the_nurse_sees_the_table_one_tap_away(
    planned: Workup, nurse_a: User, nephro_a: User, client_for: Callable[[User], Client]
) -> None:
    url = reverse("workups:plan", args=[planned.public_id])
    nurse = client_for(nurse_a).get(url).content.decode()
    folded = {"flags": "details", "steps": "details", "derived": "details", "missing": "details"}
    assert sections(nurse) == {**folded, "drugs": "section"}
    assert not re.search(r"<details[^>]*\bopen\b", nurse)  # nothing folded is opened on load
    assert nurse.count('class="own-drug') == 1 and "Tizanidine" in nurse
    assert '<details class="all-drugs' in nurse and nurse.count('<tr class="verdict-') == 23  # one tap away
    nephro = client_for(nephro_a).get(url).content.decode()
    assert sections(nephro) == {**folded, "drugs": "details"}
    assert 'class="own-drug' not in nephro and "all-drugs" not in nephro
    assert nephro.count('<tr class="verdict-') == 23
    # the printed plan is not folded: everything in full
    printed = client_for(nurse_a).get(reverse("printing:plan-print", args=[planned.public_id]) + "?kind=plan")
    assert "<details" not in printed.content.decode()


def test_the_calculated_values_summary_writes_numbers_as_people_do() -> None:
    view = {
        "derived": [
            DerivedValue("UF rate", 10.0, "mL/kg/h", "UF rate above 10 mL/kg/h", "warn"),
            DerivedValue("Weight gain since last session (IDWG)", None, "% of dry weight", None, "missing"),
        ],
        "labs_si": [{"badge": "low"}, {"badge": "normal"}, {"badge": None}],
    }
    assert (
        derived_section(view).summary
        == "UF rate 10 mL/kg/h (raised); IDWG not calculated; 3 lab results, 1 out of range"
    )
