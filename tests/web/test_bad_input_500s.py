"""Inputs that answered 500 (issue 15), each now a clear message: NUL in the patient search, names and the audit
filter (PostgreSQL cannot store NUL; the query must not reach it), the audit log's last possible day, and an age
the patient form accepted but the engine refused at "Make care plan". Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic.accounts.models import Role, Unit, User
from clinic.engine import CaseError, evaluate
from clinic.engine.validation import MAX_AGE_YEARS, age_on, age_problem
from clinic.patients.forms import PatientForm
from clinic.patients.models import Patient
from clinic.workups.models import Workup
from tests.cases import typical_case
from tests.web.test_fuzz_forms import GOOD_PATIENT
from tests.web.test_workups import complete

pytestmark = pytest.mark.django_db


@pytest.fixture
def unit_admin(nurse_a: User, client_for: Callable[[User], Client]) -> Client:
    nurse_a.memberships.update(role=Role.UNIT_ADMIN)
    return client_for(nurse_a)


def test_nul_in_the_patient_search_is_a_message_not_a_query(
    unit_a: Unit, nurse_a: User, make_patient: Callable[..., Patient], client_for: Callable[[User], Client]
) -> None:
    make_patient(unit_a, family_name="Example")
    client = client_for(nurse_a)
    response = client.post(reverse("patients:list"), {"q": "Exa\x00mple"})
    assert response.status_code == 400
    assert "The search cannot contain control characters" in response.content.decode()
    live = client.post(reverse("patients:list"), {"q": "\x00"}, headers={"HX-Request": "true"})
    assert live.status_code == 200, "htmx swaps only 2xx answers: the live search shows the message"
    assert "cannot contain control characters" in live.content.decode()
    assert client.post(reverse("patients:list"), {"q": "Example"}).context["page"].paginator.count == 1


@pytest.mark.parametrize("field", ["given_name", "family_name", "mrn"])
def test_nul_in_a_patient_name_is_refused_on_the_field(
    field: str, unit_a: Unit, nurse_a: User, make_patient: Callable[..., Patient], client_for: Callable[[User], Client]
) -> None:
    client = client_for(nurse_a)
    created = client.post(reverse("patients:create"), {**GOOD_PATIENT, "unit": unit_a.pk, field: "Ad\x00a"})
    assert created.status_code == 400 and field in created.context["form"].errors
    patient = make_patient(unit_a)
    edited = client.post(reverse("patients:edit", args=[patient.public_id]), {**GOOD_PATIENT, field: "Ad\x00a"})
    assert edited.status_code == 400 and field in edited.context["form"].errors
    assert not Patient.objects.filter(**{f"{field}__contains": "Ad"}).exclude(pk=patient.pk).exists()


def test_nul_in_the_audit_filter_is_a_message(unit_admin: Client) -> None:
    response = unit_admin.get(reverse("audit"), {"user": "nurse\x00.a"})
    assert response.status_code == 200
    assert "The username cannot contain control characters." in response.context["problems"]
    for key in ("patient", "day", "action", "page"):
        assert unit_admin.get(reverse("audit"), {key: "x\x00"}).status_code == 200, key


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "9998-12-31", "1900-01-01"])
def test_the_audit_log_takes_any_real_day(unit_admin: Client, day: str) -> None:
    response = unit_admin.get(reverse("audit"), {"day": day})
    assert response.status_code == 200
    assert not response.context["problems"]
    assert list(response.context["page"].object_list) == []


def test_the_audit_log_day_filter_still_finds_today(unit_admin: Client) -> None:
    today = timezone.localdate().isoformat()
    response = unit_admin.get(reverse("audit"), {"day": today, "action": "login"})
    assert response.status_code == 200 and len(response.context["page"].object_list) >= 1


# --- one age rule ---------------------------------------------------------------------------------------------

ON = dt.date(2026, 6, 15)


def _case_accepted(age: int) -> bool:
    case = typical_case()
    case["patient"]["age_years"] = age
    try:
        evaluate(case)
    except CaseError:
        return False
    return True


@pytest.mark.parametrize(
    "birth",
    [
        dt.date(1901, 1, 1),
        dt.date(1906, 6, 14),  # 120 years and a day: refused
        dt.date(1906, 6, 15),  # exactly 120: accepted
        dt.date(1906, 6, 16),
        dt.date(2008, 6, 15),  # 18 today: accepted
        dt.date(2008, 6, 16),  # 17: refused
        dt.date(1960, 5, 17),
        dt.date(2026, 6, 16),  # tomorrow
    ],
)
def test_the_form_and_the_engine_apply_the_same_age_rule(birth: dt.date) -> None:
    problem = age_problem(birth, ON)
    if birth <= ON:
        assert (problem is None) == _case_accepted(age_on(birth, ON)), (birth, problem)
    else:
        assert problem and "future" in problem


def test_the_form_refuses_1901_with_the_engines_message(nurse_a: User, unit_a: Unit) -> None:
    form = PatientForm({**GOOD_PATIENT, "unit": unit_a.pk, "date_of_birth": "1901-01-01"}, user=nurse_a)
    assert not form.is_valid()
    assert f"over {MAX_AGE_YEARS}" in " ".join(form.errors["date_of_birth"])


def test_make_care_plan_for_an_age_the_engine_refuses_says_why(
    unit_a: Unit, nurse_a: User, make_patient: Callable[..., Patient], client_for: Callable[[User], Client]
) -> None:
    """A patient saved before the shared rule (born 1901) reached the engine at "Make care plan": a 500."""
    patient = make_patient(
        unit_a, date_of_birth=dt.date(1901, 1, 1), medications=["sevelamer", "baclofen"], conditions=["heart_block"]
    )
    client = client_for(nurse_a)
    client.post(reverse("workups:start", args=[patient.public_id]))
    workup = Workup.objects.get(patient=patient)
    complete(client, workup)
    workup.refresh_from_db()
    response = client.post(reverse("workups:make-plan", args=[workup.public_id]), {"version": workup.version})
    assert response.status_code == 302
    shown = " ".join(str(m) for m in response.wsgi_request._messages)
    assert "age 125" in shown and "120" in shown, shown
    workup.refresh_from_db()
    assert workup.plan_json is None


def test_age_on_counts_completed_years() -> None:
    cases: list[tuple[Any, ...]] = [
        (dt.date(2000, 2, 29), dt.date(2018, 2, 28), 17),
        (dt.date(2000, 2, 29), dt.date(2018, 3, 1), 18),
        (dt.date(1960, 5, 17), dt.date(2026, 5, 17), 66),
    ]
    assert [age_on(b, on) for b, on, _ in cases] == [expected for *_, expected in cases]
