"""Issue 17 point 6 in the wizard: a pre- and a post-dialysis result of one test can both be entered, are both
saved and both reach the engine (post-dialysis hypokalaemia), and round-trip through the saved answers."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from clinic.workups.forms import LabsForm
from clinic.workups.models import Workup
from clinic.workups.services import preview
from tests.web.test_workups import acknowledge_all, complete, nurse, patient, step_url, workup  # noqa: F401

pytestmark = pytest.mark.django_db

PRE_AND_POST = {
    "potassium__value": "4.2",
    "potassium__unit": "mmol/L",
    "potassium__when": "pre_dialysis",
    "potassium__post_value": "2.5",
}


def _form(data: dict[str, Any]) -> LabsForm:
    return LabsForm(data, unit_system="SI")


def test_form_keeps_both_results() -> None:
    form = _form(PRE_AND_POST)
    assert form.is_valid(), form.errors
    assert form.to_answers()["labs"] == [
        {"analyte": "potassium", "value": 4.2, "unit": "mmol/L", "when": "pre_dialysis"},
        {"analyte": "potassium", "value": 2.5, "unit": "mmol/L", "when": "post_dialysis"},
    ]
    again = LabsForm.from_answers(form.to_answers(), unit_system="SI")
    assert again.is_valid() and again.to_answers() == form.to_answers()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({**PRE_AND_POST, "potassium__when": "post_dialysis"}, "potassium__post_value", "already post-dialysis"),
        ({**PRE_AND_POST, "potassium__post_value": "0.2"}, "potassium__post_value", "not possible"),
        (
            {"calcium_ionised__post_value": "3.2", "calcium_ionised__unit": "mmol/L"},
            "calcium_ionised__post_value",
            "did you mean mg/dL",
        ),
    ],
)
def test_form_refuses_bad_second_results_on_their_field(data: dict[str, Any], field: str, message: str) -> None:
    form = _form(data)
    assert not form.is_valid()
    assert message in " ".join(form.errors[field])


def test_wizard_saves_both_and_the_plan_reads_the_post_dialysis_value(nurse: Client, workup: Workup) -> None:  # noqa: F811
    complete(nurse, workup, labs=PRE_AND_POST)
    workup.refresh_from_db()
    assert [lab["when"] for lab in workup.answers["labs"]["labs"]] == ["pre_dialysis", "post_dialysis"]
    plan = preview(workup)
    assert plan is not None
    hypok = next(r for r in plan.red_flags if r.code == "redflag.hypokalaemia")
    assert hypok.urgency == "urgent" and "(post-dialysis)" in hypok.why
    acknowledge_all(nurse, workup)  # the baclofen emergency would otherwise stand in front of the step
    response = nurse.get(step_url(workup, "labs"))
    assert response.status_code == 200, response.get("Location")
    page = response.content.decode()
    assert 'name="potassium__post_value"' in page and 'value="2.5"' in page
