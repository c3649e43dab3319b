"""The plan's lifecycle after the steps: make the plan, submit it for review, sign it with the nephrologist's
decisions (the PDFs rendered once, onto the immutable snapshot), return it to the nurse, revise a signed plan.
Each asks the transition table first (clinic/workups/guards.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from clinic.accounts.models import User
from clinic.audit.models import Action
from clinic.engine import evaluate, load_knowledge, plan_to_dict
from clinic.workups.case import build_case
from clinic.workups.decisions import DECLINED, missing_decisions
from clinic.workups.guards import audit_workup, locked_update, transition_for
from clinic.workups.models import SignedPlan, Workup
from clinic.workups.services import pending_emergencies
from clinic.workups.transitions import Act, NotAllowed

SIGN_COMMENT_MAX = 2000
RETURN_COMMENT_MAX = 2000


def make_plan(workup: Workup, expected_version: int, user: User, request: Any = None) -> Workup:
    case = build_case(workup.patient, workup.answers, workup.created_at.date())
    plan = evaluate(case)  # answers were re-validated by the forms; CaseError here is a programming error
    transition = transition_for(workup, Act.MAKE_PLAN, user, bool(pending_emergencies(workup, plan)))
    fresh = locked_update(
        workup,
        expected_version,
        user,
        transition,
        case_json=case,
        plan_json=plan_to_dict(plan),
        plan_made_at=timezone.now(),
        severity=workup.answers.get("episode", {}).get("severity_0_10"),
        uf_rate_ml_kg_h=plan.derived.uf_rate_ml_kg_h,
        idwg_percent=plan.derived.idwg_percent,
    )
    audit_workup(Action.PLAN_MAKE, workup, user, request, red_flags=[f.code for f in plan.red_flags])
    return fresh


def submit(workup: Workup, expected_version: int, user: User, request: Any = None) -> Workup:
    transition = transition_for(workup, Act.SUBMIT, user, bool(pending_emergencies(workup)))
    if workup.plan_json is None:
        raise NotAllowed("Make the care plan before submitting it for review.")
    fresh = locked_update(workup, expected_version, user, transition, submitted_by=user, submitted_at=timezone.now())
    audit_workup(Action.PLAN_SUBMIT, workup, user, request)
    return fresh


def can_sign(user: User, workup: Workup) -> bool:
    """Whether to offer "Sign": a nephrologist of the unit, on a plan awaiting review (emergencies aside)."""
    try:
        transition_for(workup, Act.SIGN, user)
    except NotAllowed:
        return False
    return True


@transaction.atomic
def sign(
    workup: Workup,
    expected_version: int,
    user: User,
    request: Any = None,
    *,
    decisions: Mapping[str, Mapping[str, str]],
    comment: str = "",
) -> SignedPlan:
    """Sign with the nephrologist's decision on every nephrologist-scope recommendation (a hard-stop item declined
    only with a note). The snapshot holds the decisions and the PDFs, rendered once here: the row is immutable,
    so they are written with it and every later download is a read."""
    transition = transition_for(workup, Act.SIGN, user, bool(pending_emergencies(workup)))
    if workup.plan_json is None or workup.case_json is None:
        raise NotAllowed("Make the care plan before signing it.")
    if missing_decisions(workup.plan_json, decisions):
        raise NotAllowed("Accept or decline every recommendation (with a note to decline a hard-stop item).")
    fresh = locked_update(workup, expected_version, user, transition)
    knowledge = load_knowledge()
    snapshot = SignedPlan(
        workup=fresh,
        case_json=fresh.case_json,
        plan_json=fresh.plan_json,
        knowledge_version=fresh.plan_json.get("knowledge_version", knowledge.version),
        knowledge_hash=knowledge.content_hash,
        signed_by=user,
        signed_at=timezone.now(),
        submitted_by=fresh.submitted_by,
        decisions={code: {"decision": d["decision"], "note": str(d.get("note", ""))} for code, d in decisions.items()},
        comment=comment.replace("\x00", "").strip()[:SIGN_COMMENT_MAX],
    )
    attach_pdfs(fresh, snapshot)
    snapshot.save()
    declined = sorted(code for code, d in decisions.items() if d["decision"] == DECLINED)
    audit_workup(Action.PLAN_SIGN, workup, user, request, declined=declined)
    return snapshot


def attach_pdfs(workup: Workup, snapshot: SignedPlan) -> None:
    """Render the plan and the handout once, in the unit's default paper size, onto the unsaved snapshot."""
    from clinic.printing.pdf import render_snapshot_pdf  # printing builds on workups, not the other way round

    paper = workup.patient.unit.default_paper
    snapshot.pdf_paper = paper
    snapshot.plan_pdf = render_snapshot_pdf(workup, snapshot, snapshot.plan_json, "plan", paper)
    snapshot.handout_pdf = render_snapshot_pdf(workup, snapshot, snapshot.plan_json, "handout", paper)


def return_to_nurse(workup: Workup, user: User, comment: str, expected_version: int, request: Any = None) -> Workup:
    """A nephrologist sends a plan awaiting review back to draft, saying what should change (kept on the workup;
    the audit event records only that it happened, never the comment's text)."""
    transition = transition_for(workup, Act.RETURN_TO_NURSE, user)
    comment = comment.replace("\x00", "").strip()
    if not comment:
        raise NotAllowed("Say what the nurse should check or change.")
    if len(comment) > RETURN_COMMENT_MAX:
        raise NotAllowed(f"Keep the comment under {RETURN_COMMENT_MAX} characters.")
    fresh = locked_update(
        workup,
        expected_version,
        user,
        transition,
        return_comment=comment,
        returned_by=user,
        returned_at=timezone.now(),
    )
    audit_workup(Action.PLAN_RETURN, workup, user, request)
    return fresh


def revise(workup: Workup, user: User, request: Any = None) -> Workup:
    """Changing a signed plan makes a new draft version; the signed one stays readable exactly as signed."""
    transition_for(workup, Act.REVISE, user)
    new = Workup.objects.create(
        patient=workup.patient, created_by=user, updated_by=user, answers=workup.answers, revises=workup
    )
    audit_workup(Action.PLAN_REVISE, workup, user, request, workup_id=new.public_id, revises=str(workup.public_id))
    return new
