"""The version a step form carries is always the one its answers were read at (issue 15): an invalid submission
made after someone else saved must not hand back the newer version, or the corrected resubmission would silently
overwrite the other person's answers."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from clinic.accounts.models import Unit, User
from clinic.patients.models import Patient
from clinic.workups.models import Workup
from tests.web.test_workups import EPISODE

pytestmark = pytest.mark.django_db


def hidden(html: str, name: str) -> str:
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', html)
    assert match, name
    return match.group(1)


@pytest.fixture
def workup(unit_a: Unit, make_patient: Callable[..., Patient], nurse_a: User) -> Workup:
    return Workup.objects.create(patient=make_patient(unit_a), created_by=nurse_a, answers={})


def step(workup: Workup) -> str:
    return reverse("workups:step", kwargs={"public_id": workup.public_id, "slug": "episode"})


def test_an_invalid_form_keeps_the_version_it_was_read_at_and_the_fix_conflicts(
    workup: Workup, nurse_a: User, nephro_a: User, client_for: Callable[[User], Client]
) -> None:
    nurse, nephrologist = client_for(nurse_a), client_for(nephro_a)
    page = nurse.get(step(workup)).content.decode()
    read_at, editor = hidden(page, "step_version"), hidden(page, "editor")
    assert read_at == "0"
    # Meanwhile the nephrologist saves the step.
    theirs = nephrologist.post(step(workup), {**EPISODE, "severity_0_10": "9", "step_version": "0"})
    assert theirs.status_code == 302
    # The nurse submits with a mistake: errors shown, and the page still carries version 0, not 1.
    mistake = nurse.post(
        step(workup), {**EPISODE, "severity_0_10": "eleven", "step_version": read_at, "editor": editor}
    )
    assert mistake.status_code == 400
    page = mistake.content.decode()
    assert hidden(page, "step_version") == read_at
    # Her corrected resubmission from that page is a conflict that shows both, and overwrites nothing.
    fixed = nurse.post(
        step(workup),
        {
            **EPISODE,
            "severity_0_10": "4",
            "step_version": hidden(page, "step_version"),
            "editor": hidden(page, "editor"),
        },
    )
    assert fixed.status_code == 409 and "Not saved: this answer was saved differently" in fixed.content.decode()
    workup.refresh_from_db()
    assert workup.answers["episode"]["severity_0_10"] == 9


def test_an_invalid_form_with_nobody_else_saving_goes_on_without_a_conflict(
    workup: Workup, nurse_a: User, client_for: Callable[[User], Client]
) -> None:
    nurse = client_for(nurse_a)
    page = nurse.get(step(workup)).content.decode()
    mistake = nurse.post(
        step(workup),
        {
            **EPISODE,
            "severity_0_10": "eleven",
            "step_version": hidden(page, "step_version"),
            "editor": hidden(page, "editor"),
        },
    )
    assert mistake.status_code == 400
    page = mistake.content.decode()
    assert hidden(page, "step_version") == "1"  # her own draft was kept as version 1: the fix extends it
    fixed = nurse.post(
        step(workup),
        {
            **EPISODE,
            "severity_0_10": "4",
            "step_version": hidden(page, "step_version"),
            "editor": hidden(page, "editor"),
        },
    )
    assert fixed.status_code == 302
    workup.refresh_from_db()
    assert workup.answers["episode"]["severity_0_10"] == 4 and "episode" not in workup.drafts
