"""The workup's state machine, edge by edge: every (state, action, acknowledgement) triple through the services,
and make-plan, submit, sign and acknowledge through HTTP POSTs sent straight to their endpoints (as an attacker
would, skipping every page that hides a button).

The expected outcomes are written out here by hand, independently of clinic/workups/transitions.py, so a change
to the table that nobody meant fails here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic.accounts.models import Unit, User
from clinic.engine import evaluate, load_knowledge, plan_to_dict
from clinic.patients.models import Patient
from clinic.workups import lifecycle, services, step_data
from clinic.workups.case import build_case
from clinic.workups.decisions import decision_items
from clinic.workups.models import Acknowledgement, SignedPlan, Status, Workup
from clinic.workups.transitions import TABLE, Act
from tests.web.test_workups import DIALYSIS, EPISODE

pytestmark = pytest.mark.django_db

DRAFT, REVIEW, SIGNED = Status.DRAFT, Status.AWAITING_REVIEW, Status.SIGNED
# (state, action) -> the state after it; a pair not listed is refused and changes nothing.
EXPECTED = {
    (DRAFT, Act.EDIT): DRAFT,
    (DRAFT, Act.AUTOSAVE): DRAFT,
    (DRAFT, Act.ACKNOWLEDGE): DRAFT,
    (DRAFT, Act.MAKE_PLAN): DRAFT,
    (DRAFT, Act.SUBMIT): REVIEW,
    (REVIEW, Act.EDIT): DRAFT,
    (REVIEW, Act.AUTOSAVE): REVIEW,
    (REVIEW, Act.ACKNOWLEDGE): REVIEW,
    (REVIEW, Act.MAKE_PLAN): DRAFT,
    (REVIEW, Act.SIGN): SIGNED,
    (REVIEW, Act.RETURN_TO_NURSE): DRAFT,
    (SIGNED, Act.REVISE): SIGNED,
}
# Refused while an emergency red flag is not acknowledged.
BLOCKED_BY_EMERGENCY = {Act.MAKE_PLAN, Act.SUBMIT, Act.SIGN}
# no emergency raised / an emergency raised and not acknowledged / raised and acknowledged
ACKS = ("none", "pending", "acknowledged")

# Wizard answers as the step forms store them (EPISODE, DIALYSIS from test_workups). Chest pain raises an
# emergency (acute coronary syndrome).
# The same step answers as the workup tests (one copy of the wizard's stored form data).


def answers_for(workup: Workup, emergency: bool) -> dict[str, Any]:
    posted = {
        "episode": EPISODE,
        "redflags": {"chest_pain": "yes" if emergency else "no", "speech_disturbance": "no"},
        "vitals": {"sbp_pre_mmhg": "150", "sbp_nadir_mmhg": "140"},
        "labs": {"magnesium__value": "0.9", "magnesium__unit": "mmol/L", "magnesium__when": "pre_dialysis"},
        "dialysis": DIALYSIS,
        "medications": {"medications": ["sevelamer"], "diabetes": "no", "hepatic_impairment": "none"},
    }
    answers = {}
    for slug, data in posted.items():
        form = step_data.step_form(workup, slug, data)
        assert form.is_valid(), (slug, form.errors)
        answers[slug] = form.to_answers()
    return answers


@pytest.fixture
def patient(unit_a: Unit, make_patient: Callable[..., Patient]) -> Patient:
    return make_patient(unit_a, medications=["sevelamer"], conditions=[])


@pytest.fixture
def make_workup(patient: Patient, nurse_a: User, nephro_a: User) -> Callable[[Status, str], Workup]:
    def make(state: Status, ack: str) -> Workup:
        workup = Workup.objects.create(patient=patient, created_by=nurse_a, answers={})
        workup.answers = answers_for(workup, emergency=ack != "none")
        case = build_case(patient, workup.answers, workup.created_at.date())
        plan = evaluate(case)
        emergencies = [flag.code for flag in plan.red_flags if flag.urgency == "emergency"]
        assert bool(emergencies) == (ack != "none"), emergencies
        workup.case_json, workup.plan_json, workup.plan_made_at = case, plan_to_dict(plan), timezone.now()
        workup.status = state
        workup.save()
        if ack == "acknowledged":
            for code in emergencies:
                Acknowledgement.objects.create(workup=workup, code=code, reason="escalated_now", user=nurse_a)
        if state == SIGNED:
            SignedPlan.objects.create(
                workup=workup,
                case_json=case,
                plan_json=workup.plan_json,
                knowledge_version=load_knowledge().version,
                signed_by=nephro_a,
            )
        return Workup.objects.select_related("patient__unit").get(pk=workup.pk)

    return make


def snapshot(workup: Workup) -> tuple[Any, ...]:
    fresh = Workup.objects.get(pk=workup.pk)
    return (
        fresh.status,
        fresh.version,
        fresh.answers,
        fresh.drafts,
        fresh.plan_json,
        Acknowledgement.objects.filter(workup=workup).count(),
        SignedPlan.objects.count(),
        Workup.objects.count(),
    )


def accept_all(workup: Workup) -> dict[str, dict[str, str]]:
    return {item.code: {"decision": "accepted", "note": ""} for item in decision_items(workup.plan_json or {})}


def run(act: Act, workup: Workup, nurse: User, nephro: User) -> None:
    """One action through its service, by the role that may do it (signing and returning: the nephrologist)."""
    version = workup.version
    if act == Act.EDIT:
        confirmed = services.StepEdit(confirm_return=True)  # a plan awaiting review goes back to draft
        services.save_step(
            workup, "episode", {**workup.answers["episode"], "severity_0_10": 3}, 0, nurse, edit=confirmed
        )
    elif act == Act.AUTOSAVE:
        services.autosave(workup, "episode", {"severity_0_10": ["3,5"]}, 0, nurse)
    elif act == Act.ACKNOWLEDGE:
        services.acknowledge(workup, "redflag.acute_coronary", "escalated_now", nurse)
    elif act == Act.MAKE_PLAN:
        lifecycle.make_plan(workup, version, nurse)
    elif act == Act.SUBMIT:
        lifecycle.submit(workup, version, nurse)
    elif act == Act.SIGN:
        lifecycle.sign(workup, version, nephro, decisions=accept_all(workup))
    elif act == Act.RETURN_TO_NURSE:
        lifecycle.return_to_nurse(workup, nephro, "Please re-weigh the patient.", version)
    elif act == Act.REVISE:
        lifecycle.revise(workup, nurse)
    else:  # pragma: no cover - a new action must be added here and to EXPECTED
        raise AssertionError(act)


def test_the_table_is_exactly_the_expected_one() -> None:
    assert {key: transition.target for key, transition in TABLE.items()} == EXPECTED
    assert {act for (_, act), transition in TABLE.items() if transition.blocked_by_emergency} == BLOCKED_BY_EMERGENCY


@pytest.mark.parametrize("ack", ACKS)
@pytest.mark.parametrize("act", list(Act))
@pytest.mark.parametrize("state", [DRAFT, REVIEW, SIGNED])
def test_every_state_action_and_acknowledgement(
    state: Status,
    act: Act,
    ack: str,
    make_workup: Callable[[Status, str], Workup],
    nurse_a: User,
    nephro_a: User,
) -> None:
    workup = make_workup(state, ack)
    before = snapshot(workup)
    allowed = (state, act) in EXPECTED and not (act in BLOCKED_BY_EMERGENCY and ack == "pending")
    if not allowed:
        with pytest.raises(services.NotAllowed):
            run(act, workup, nurse_a, nephro_a)
        assert snapshot(workup) == before, "a refused action changed nothing"
        return
    run(act, workup, nurse_a, nephro_a)
    after = Workup.objects.get(pk=workup.pk)
    assert after.status == EXPECTED[(state, act)]
    if act == Act.REVISE:
        new = Workup.objects.get(revises=workup)
        assert new.status == DRAFT and new.answers == workup.answers
    elif act == Act.SIGN:
        assert SignedPlan.objects.get(workup=workup).plan_json == workup.plan_json
    elif act == Act.RETURN_TO_NURSE:
        assert after.return_comment == "Please re-weigh the patient." and after.returned_by == nephro_a
    elif act == Act.ACKNOWLEDGE:
        assert Acknowledgement.objects.filter(workup=workup).count() == before[5] + 1
    else:
        assert after.version > workup.version


@pytest.mark.parametrize("act", [Act.SIGN, Act.RETURN_TO_NURSE])
def test_only_a_nephrologist_signs_or_returns(
    act: Act, make_workup: Callable[[Status, str], Workup], nurse_a: User
) -> None:
    workup = make_workup(REVIEW, "none")
    before = snapshot(workup)
    with pytest.raises(services.NotAllowed, match="nephrologist"):
        run(act, workup, nurse_a, nurse_a)
    assert snapshot(workup) == before


def test_returning_needs_a_comment(make_workup: Callable[[Status, str], Workup], nephro_a: User) -> None:
    workup = make_workup(REVIEW, "none")
    for comment in ("", "   ", "\x00", "x" * (lifecycle.RETURN_COMMENT_MAX + 1)):
        with pytest.raises(services.NotAllowed):
            lifecycle.return_to_nurse(workup, nephro_a, comment, workup.version)
    assert Workup.objects.get(pk=workup.pk).status == REVIEW


HTTP_ACTS = {
    Act.MAKE_PLAN: "workups:make-plan",
    Act.SUBMIT: "workups:submit",
    Act.SIGN: "workups:sign",
    Act.ACKNOWLEDGE: "workups:acknowledge",
}


@pytest.mark.parametrize("ack", ACKS)
@pytest.mark.parametrize("act", list(HTTP_ACTS))
@pytest.mark.parametrize("state", [DRAFT, REVIEW, SIGNED])
def test_posting_straight_to_the_endpoints(
    state: Status,
    act: Act,
    ack: str,
    make_workup: Callable[[Status, str], Workup],
    nurse_a: User,
    nephro_a: User,
    client_for: Callable[[User], Client],
) -> None:
    """The server enforces the table whatever the pages show: a crafted POST gets exactly what the table allows
    (acknowledging needs a red flag that is actually pending)."""
    workup = make_workup(state, ack)
    before = snapshot(workup)
    client = client_for(nephro_a if act == Act.SIGN else nurse_a)
    data = {"version": workup.version}
    if act == Act.SIGN:  # signing carries a decision on every recommendation
        data |= {f"decision__{code}": d["decision"] for code, d in accept_all(workup).items()}
    if act == Act.ACKNOWLEDGE:
        data = {"code": "redflag.acute_coronary", "reason": "escalated_now", "step": "review"}
    response = client.post(reverse(HTTP_ACTS[act], args=[workup.public_id]), data)
    assert response.status_code == 302
    after = Workup.objects.get(pk=workup.pk)
    if act == Act.ACKNOWLEDGE:
        allowed = state != SIGNED and ack == "pending"
    else:
        allowed = (state, act) in EXPECTED and not (act in BLOCKED_BY_EMERGENCY and ack == "pending")
    if not allowed:
        assert snapshot(workup) == before, (state, act, ack)
        return
    assert after.status == EXPECTED[(state, act)]
    assert snapshot(workup) != before
    if act == Act.SIGN:
        assert SignedPlan.objects.filter(workup=workup).exists()


def test_a_refused_make_plan_says_why(
    make_workup: Callable[[Status, str], Workup], nurse_a: User, client_for: Callable[[User], Client]
) -> None:
    workup = make_workup(DRAFT, "pending")
    client = client_for(nurse_a)
    response = client.post(reverse("workups:make-plan", args=[workup.public_id]), {"version": workup.version})
    review = reverse("workups:step", kwargs={"public_id": workup.public_id, "slug": "review"})
    assert response["Location"] == review
    page = client.get(review).content.decode()
    assert "Acknowledge every emergency red flag first" in page
