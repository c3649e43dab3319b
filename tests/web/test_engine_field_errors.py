"""Issue 17 point 7 in the wizard: the engine's cross-field checks show on the field (or step) to correct, and a
contradiction between steps stops 'make plan' with the engine's words instead of failing inside the engine."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from clinic.accounts.models import Unit, User
from clinic.patients.models import Patient
from clinic.workups import services
from clinic.workups.forms import DialysisForm
from clinic.workups.models import Workup

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({"pre_weight_kg": 78.0, "target_weight_kg": 70.0}, "pre_weight_kg"),
        ({"pre_weight_kg": 47.0, "target_weight_kg": 74.0}, "pre_weight_kg"),
        ({"previous_post_weight_kg": 79.0, "target_weight_kg": 70.0}, "previous_post_weight_kg"),
    ],
)
def test_dialysis_step_refuses_weights_far_apart_on_the_field(answers: dict[str, float], field: str) -> None:
    form = DialysisForm.bound_to(answers)
    assert not form.is_valid()
    assert "probably a typo" in " ".join(form.errors[field])


def test_dialysis_step_refuses_a_target_far_from_the_recorded_dry_weight() -> None:
    # The step has one weight field (the target); the dry weight it is checked against is the patient's.
    form = DialysisForm.bound_to({"target_weight_kg": 62.0}, record={"dry_weight_kg": 70.0})
    assert not form.is_valid()
    assert "probably a typo" in " ".join(form.errors["target_weight_kg"])


def test_dialysis_step_accepts_weights_exactly_7_kg_apart() -> None:
    form = DialysisForm.bound_to({"pre_weight_kg": 77.0, "target_weight_kg": 70.0})
    assert form.is_valid(), form.errors


def test_contradiction_between_steps_is_reported_on_the_step_to_fix(
    unit_a: Unit, nurse_a: User, make_patient: Callable[..., Patient]
) -> None:
    patient = make_patient(unit_a)
    answers = {
        "episode": {"timing": "during_dialysis", "ongoing": True, "minutes_into_session": 90, "kind": "cramp"},
        "dialysis": {"session_minutes": 60},
    }
    workup = Workup.objects.create(patient=patient, created_by=nurse_a, answers=answers)
    problems = services.case_problems(workup)
    assert [(p.slug, list(p.errors)) for p in problems] == [("episode", ["episode.minutes_into_session"])]
    assert "60-minute session" in problems[0].title


def test_patient_record_contradiction_is_named(
    unit_a: Unit, nurse_a: User, make_patient: Callable[..., Patient]
) -> None:
    patient = make_patient(unit_a, sessions_completed=3)  # on dialysis since 2015
    workup = Workup.objects.create(patient=patient, created_by=nurse_a, answers={})
    problems = services.case_problems(workup)
    assert len(problems) == 1 and problems[0].title.startswith("Patient record")
    assert "sessions completed" in problems[0].title
