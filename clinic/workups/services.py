"""Workup orchestration: save steps (with an optimistic lock), preview red flags, make, submit, sign, return and
revise plans. Every change of a workup asks clinic/workups/transitions.py (the one table of states and allowed
actions) first. No HTTP objects here; views call these and render."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from clinic.accounts.models import User
from clinic.audit.models import Action
from clinic.audit.services import record
from clinic.engine import CarePlan, CaseError, evaluate, load_knowledge, plan_to_dict, validate_case
from clinic.patients.models import Patient
from clinic.workups import step_data
from clinic.workups.case import build_case
from clinic.workups.decisions import DECLINED, missing_decisions
from clinic.workups.merge import StepMerge, changed_fields, merge_step
from clinic.workups.models import Acknowledgement, SignedPlan, Status, Workup
from clinic.workups.presenters import banner_flags
from clinic.workups.step_data import record_workup_labs
from clinic.workups.steps import BY_SLUG, applicable
from clinic.workups.transitions import Act, NotAllowed, Transition, check

# NotAllowed is defined beside the transition table; views catch it as services.NotAllowed.


class ConflictError(Exception):
    """Someone else saved this workup since the form was opened and, for a step, changed an answer this save
    changes too (``merge`` says which, when the page sent the answers it was opened with); ``by`` is who saved."""

    def __init__(self, current: Workup, slug: str, merge: StepMerge | None = None, by: User | None = None) -> None:
        self.current = current
        self.slug = slug
        self.merge = merge
        self.by = by
        super().__init__(f"Workup {current.public_id} changed (now version {current.version}).")


class ReturnsToDraft(Exception):
    """Saving answers would send a plan awaiting review back to draft, and the user has not confirmed that."""


@dataclass(frozen=True)
class StepProblem:
    slug: str
    title: str
    errors: dict[str, list[str]]


def _audit(action: str, workup: Workup, user: User, request: Any, workup_id: Any = None, **detail: Any) -> None:
    """One audit event about a workup: its patient (opaque id), unit, and codes only in the detail."""
    record(
        action,
        request=request,
        user=user,
        unit=workup.patient.unit,
        patient_public_id=workup.patient.public_id,
        detail={"workup": str(workup_id or workup.public_id), **detail},
    )


class UnfinishedWorkup(Exception):
    """The patient already has a workup in draft (unfinished or returned): offer to resume it."""

    def __init__(self, workup: Workup) -> None:
        self.workup = workup
        super().__init__(f"Workup {workup.public_id} is unfinished.")


def start_workup(patient: Patient, user: User, request: Any = None, *, instead_of: str = "") -> Workup:
    """A new draft workup, unless the patient has an unfinished one (UnfinishedWorkup, to offer resuming it).
    ``instead_of`` is the public id of the newest unfinished workup the user was shown and chose not to resume;
    a second tap of the same choice finds the workup the first tap made and is offered that one. The patient's
    row is locked first, so two taps at once cannot both make a draft."""
    with transaction.atomic():
        Patient.objects.filter(pk=patient.pk).update(mrn=F("mrn"))  # lock (a row lock on PostgreSQL)
        unfinished = (
            Workup.objects.filter(patient=patient, status=Status.DRAFT)
            .select_related("patient__unit", "created_by", "updated_by", "returned_by")
            .order_by("-updated_at", "-id")
            .first()
        )
        if unfinished is not None and str(unfinished.public_id) != instead_of:
            raise UnfinishedWorkup(unfinished)
        workup = Workup.objects.create(patient=patient, created_by=user, updated_by=user, answers={})
        record(
            Action.WORKUP_CREATE,
            request=request,
            user=user,
            unit=patient.unit,
            patient_public_id=patient.public_id,
            detail={"workup": str(workup.public_id), **({"instead_of": instead_of} if unfinished else {})},
        )
    return workup


def _transition(workup: Workup, act: Act, user: User, emergency_pending: bool = False) -> Transition:
    return check(workup.status, act, role=user.role_in(workup.patient.unit_id), emergency_pending=emergency_pending)


def _locked_update(workup: Workup, expected_version: int, user: User, transition: Transition, **changes: Any) -> Workup:
    """Move the workup to ``transition.target`` and write ``changes``, only if nobody saved since
    ``expected_version`` and the state is still the one the transition was checked in; raise ConflictError (or
    NotAllowed, if it was signed meanwhile) otherwise."""
    updated = Workup.objects.filter(pk=workup.pk, version=expected_version, status=workup.status).update(
        status=transition.target, version=F("version") + 1, updated_by=user, updated_at=timezone.now(), **changes
    )
    fresh = Workup.objects.select_related("patient__unit").get(pk=workup.pk)
    if not updated:
        if fresh.is_signed:
            raise NotAllowed("This plan was signed meanwhile; revise it to make a new version.")
        raise ConflictError(fresh, "")
    return fresh


def lock_workup(pk: int) -> Workup:
    """Read a workup (with its patient and unit) holding its write lock until the transaction ends. On PostgreSQL
    one statement, ``SELECT ... FOR NO KEY UPDATE`` of the workup's row (the lock an UPDATE takes); SQLite has no
    row locks, so there an UPDATE that changes nothing takes the database's write lock before the read."""
    workups = Workup.objects.select_related("patient__unit")
    if connection.features.has_select_for_no_key_update:
        return workups.select_for_update(of=("self",), no_key=True).get(pk=pk)
    Workup.objects.filter(pk=pk).update(version=F("version"))
    return workups.get(pk=pk)


def _save_step_state(
    workup: Workup,
    slug: str,
    step_version: int,
    editor: str,
    user: User,
    answers: dict[str, Any] | None,
    draft: dict[str, list[str]] | None,
    edit: StepEdit,
) -> Workup:
    """Store a step's answers (or its unfinished draft) under a per-step optimistic lock. Answers posted with the
    page's base are merged with what others saved since (only the same answer changed on both sides conflicts);
    without a base, any save by another tab or person since is a conflict. Answers for a plan awaiting review send
    it back to draft, so they are refused (ReturnsToDraft) unless that was confirmed. Runs in the caller's one
    transaction (save_step's also records the labs; no savepoint inside it), which holds the workup's lock."""
    # Take the write lock before reading, so two saves of different steps merge instead of one overwriting
    # the other.
    locked = lock_workup(workup.pk)
    transition = _transition(locked, Act.EDIT if answers is not None else Act.AUTOSAVE, user)
    if transition.target != locked.status and not edit.confirm_return:
        raise ReturnsToDraft(f"Saving returns this plan ({locked.get_status_display().lower()}) to draft.")
    meta = locked.step_meta.get(slug, {})
    current = int(meta.get("version", 0))
    others_saved = current != step_version and not (editor and meta.get("editor") == editor)
    taken: tuple[str, ...] = ()
    form_class, stored = BY_SLUG[slug].form_class, locked.answers.get(slug)
    written_by = dict(meta.get("by", {}))  # form field -> the tab (editor token) that last changed it
    if answers is not None and edit.base is not None:
        bind = partial(step_data.bind_flat, locked, slug)
        own = {field for field, by in written_by.items() if editor and by == editor}
        merged = merge_step(
            form_class, edit.base, edit.base if stored is None else stored, answers, bind, edit.resolve, own
        )
        if merged.answers is None:
            raise ConflictError(locked, slug, merged, User.objects.filter(pk=meta.get("user")).first())
        answers, taken = merged.answers, merged.taken
    elif others_saved:
        raise ConflictError(locked, slug, None, User.objects.filter(pk=meta.get("user")).first())
    if answers is not None:
        written_by |= dict.fromkeys(changed_fields(form_class, stored or {}, answers), editor)
        locked.answers = {**locked.answers, slug: answers}
        locked.drafts = {k: v for k, v in locked.drafts.items() if k != slug}
    locked.status = transition.target  # edited answers send a submitted plan back to draft
    if draft is not None:
        locked.drafts = {**locked.drafts, slug: draft}
    now = timezone.now()
    locked.step_meta = {
        **locked.step_meta,
        slug: {
            "version": current + 1,
            "editor": editor,
            "user": user.pk,
            "at": now.isoformat(),
            "merged": list(taken),
            "by": written_by,
        },
    }
    locked.version += 1
    locked.updated_by = user
    locked.save(update_fields=["answers", "drafts", "status", "step_meta", "version", "updated_by", "updated_at"])
    return locked


@dataclass(frozen=True)
class StepEdit:
    """How a step page saves: the answers it was opened with (``base``, to merge with others' saves), how to
    settle answers both sides changed (``resolve``: "mine" or "theirs"), and whether the user confirmed that
    saving returns a submitted plan to draft."""

    base: dict[str, Any] | None = None
    resolve: str = ""
    confirm_return: bool = False


def save_step(
    workup: Workup,
    slug: str,
    answers: dict[str, Any],
    step_version: int,
    user: User,
    request: Any = None,
    editor: str = "",
    edit: StepEdit | None = None,
) -> Workup:
    with transaction.atomic():
        fresh = _save_step_state(workup, slug, step_version, editor, user, answers, None, edit or StepEdit())
        if slug == "labs":
            record_workup_labs(fresh, fresh.answers[slug].get("labs", []), user)
    merged = fresh.step_meta[slug]["merged"]
    _audit(Action.STEP_SAVE, workup, user, request, step=slug, **({"merged": merged} if merged else {}))
    return fresh


def autosave(
    workup: Workup, slug: str, raw: dict[str, list[str]], step_version: int, user: User, editor: str = ""
) -> Workup:
    """Keep exactly what was typed (valid or not) so an interruption loses nothing. NUL characters are the one
    exception: nobody types them, and PostgreSQL cannot store them in JSON (a 500 before)."""
    draft = {key.replace("\x00", ""): [value.replace("\x00", "") for value in values] for key, values in raw.items()}
    with transaction.atomic():
        return _save_step_state(workup, slug, step_version, editor, user, None, draft, StepEdit())


def preview(workup: Workup, overlay: dict[str, Any] | None = None) -> CarePlan | None:
    """The plan for the answers so far (for live red-flag banners); None if the answers cannot be evaluated.
    ``overlay`` replaces steps' answers with ones just posted but not saved (a conflict must not hide an
    emergency the nurse has just reported)."""
    answers = {**workup.answers, **(overlay or {})}
    try:
        return evaluate(build_case(workup.patient, answers, workup.created_at.date()))
    except CaseError:
        return None


def live_red_flags(workup: Workup, overlay: dict[str, Any] | None = None) -> dict[str, Any]:
    """The wizard's live red flags after an autosave: the banner's list and the emergencies not yet
    acknowledged (shown in the action bar, in view, before the step is saved)."""
    plan = preview(workup, overlay)
    return {"flags": banner_flags(plan), "emergencies": unacknowledged_emergencies(workup, plan)}


def unacknowledged_emergencies(workup: Workup, plan: CarePlan | None) -> list[Any]:
    if plan is None:
        return []
    acknowledged = {ack.code for ack in workup.acknowledgements.all()}
    return [flag for flag in plan.red_flags if flag.urgency == "emergency" and flag.code not in acknowledged]


def pending_emergencies(workup: Workup, plan: CarePlan | None = None) -> set[str]:
    """Emergency red flags nobody has acknowledged: those in ``plan`` (the plan being made) or, without one, those
    the current answers raise and those in the stored plan (what would be submitted or signed)."""
    if plan is not None:
        return {flag.code for flag in unacknowledged_emergencies(workup, plan)}
    stored = {
        flag.get("code")
        for flag in (workup.plan_json or {}).get("red_flags", [])
        if isinstance(flag, dict) and flag.get("urgency") == "emergency"
    }
    acknowledged = {ack.code for ack in workup.acknowledgements.all()}
    return {flag.code for flag in unacknowledged_emergencies(workup, preview(workup))} | (stored - acknowledged)


def acknowledge(workup: Workup, code: str, reason: str, user: User, request: Any = None) -> Acknowledgement:
    with transaction.atomic():
        locked = lock_workup(workup.pk)  # no signing in between
        _transition(locked, Act.ACKNOWLEDGE, user)
        ack = Acknowledgement.objects.create(workup=locked, code=code, reason=reason, user=user)
    _audit(Action.RED_FLAG_ACK, workup, user, request, code=code, reason=reason)
    return ack


def revalidate(workup: Workup) -> list[StepProblem]:
    """Re-check every applicable step's saved answers with its form before the engine is called."""
    problems: list[StepProblem] = []
    for step in applicable(workup.answers):
        if step.slug == "review":
            continue
        saved = workup.answers.get(step.slug)
        if saved is None:
            problems.append(StepProblem(step.slug, step.title, {"__all__": ["This step has not been saved yet."]}))
            continue
        form = step.form_class.from_answers(saved, unit_system=workup.patient.effective_lab_units())
        if not form.is_valid():
            problems.append(StepProblem(step.slug, step.title, dict(form.errors)))
    if not problems:
        problems = case_problems(workup)
    return problems


# The "step" of a problem that is corrected on the patient's record, not in the wizard (an impossible age).
PATIENT_RECORD = "patient"
# Where an engine error about the whole case is corrected: case section -> wizard step.
_STEP_OF_SECTION = {
    "episode": "episode",
    "findings": "redflags",
    "vitals": "vitals",
    "labs": "labs",
    "dialysis": "dialysis",
    "medications": "medications",
}


def case_problems(workup: Workup) -> list[StepProblem]:
    """Contradictions between steps (or with the patient record) that each step alone cannot see, such as 90
    minutes into a 60-minute session or 3 sessions after 120 months: the engine's message, on the step to fix."""
    try:
        validate_case(build_case(workup.patient, workup.answers, workup.created_at.date()))
    except CaseError as exc:
        titles = {step.slug: step.title for step in applicable(workup.answers)}
        out = []
        for error in exc.errors:
            path = error["field"]
            section = path.split(".", 1)[0].split("[", 1)[0]
            if path in ("patient.dry_weight_kg", "patient.access"):
                section = "dialysis"
            slug = _STEP_OF_SECTION.get(section)
            where = titles.get(slug, "") if slug else "Patient record"
            out.append(StepProblem(slug or PATIENT_RECORD, f"{where} ({error['message']})", {path: [error["message"]]}))
        return out
    return []


def make_plan(workup: Workup, expected_version: int, user: User, request: Any = None) -> Workup:
    case = build_case(workup.patient, workup.answers, workup.created_at.date())
    plan = evaluate(case)  # answers were re-validated by the forms; CaseError here is a programming error
    transition = _transition(workup, Act.MAKE_PLAN, user, bool(pending_emergencies(workup, plan)))
    fresh = _locked_update(
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
    _audit(Action.PLAN_MAKE, workup, user, request, red_flags=[f.code for f in plan.red_flags])
    return fresh


def submit(workup: Workup, expected_version: int, user: User, request: Any = None) -> Workup:
    transition = _transition(workup, Act.SUBMIT, user, bool(pending_emergencies(workup)))
    if workup.plan_json is None:
        raise NotAllowed("Make the care plan before submitting it for review.")
    fresh = _locked_update(workup, expected_version, user, transition, submitted_by=user, submitted_at=timezone.now())
    _audit(Action.PLAN_SUBMIT, workup, user, request)
    return fresh


def can_sign(user: User, workup: Workup) -> bool:
    """Whether to offer "Sign": a nephrologist of the unit, on a plan awaiting review (emergencies aside)."""
    try:
        _transition(workup, Act.SIGN, user)
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
    transition = _transition(workup, Act.SIGN, user, bool(pending_emergencies(workup)))
    if workup.plan_json is None or workup.case_json is None:
        raise NotAllowed("Make the care plan before signing it.")
    if missing_decisions(workup.plan_json, decisions):
        raise NotAllowed("Accept or decline every recommendation (with a note to decline a hard-stop item).")
    fresh = _locked_update(workup, expected_version, user, transition)
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
    _audit(Action.PLAN_SIGN, workup, user, request, declined=declined)
    return snapshot


def attach_pdfs(workup: Workup, snapshot: SignedPlan) -> None:
    """Render the plan and the handout once, in the unit's default paper size, onto the unsaved snapshot."""
    from clinic.printing.pdf import render_snapshot_pdf  # printing builds on workups, not the other way round

    paper = workup.patient.unit.default_paper
    snapshot.pdf_paper = paper
    snapshot.plan_pdf = render_snapshot_pdf(workup, snapshot, snapshot.plan_json, "plan", paper)
    snapshot.handout_pdf = render_snapshot_pdf(workup, snapshot, snapshot.plan_json, "handout", paper)


SIGN_COMMENT_MAX = 2000
RETURN_COMMENT_MAX = 2000


def return_to_nurse(workup: Workup, user: User, comment: str, expected_version: int, request: Any = None) -> Workup:
    """A nephrologist sends a plan awaiting review back to draft, saying what should change (kept on the workup;
    the audit event records only that it happened, never the comment's text)."""
    transition = _transition(workup, Act.RETURN_TO_NURSE, user)
    comment = comment.replace("\x00", "").strip()
    if not comment:
        raise NotAllowed("Say what the nurse should check or change.")
    if len(comment) > RETURN_COMMENT_MAX:
        raise NotAllowed(f"Keep the comment under {RETURN_COMMENT_MAX} characters.")
    fresh = _locked_update(
        workup,
        expected_version,
        user,
        transition,
        return_comment=comment,
        returned_by=user,
        returned_at=timezone.now(),
    )
    _audit(Action.PLAN_RETURN, workup, user, request)
    return fresh


def revise(workup: Workup, user: User, request: Any = None) -> Workup:
    """Changing a signed plan makes a new draft version; the signed one stays readable exactly as signed."""
    _transition(workup, Act.REVISE, user)
    new = Workup.objects.create(
        patient=workup.patient, created_by=user, updated_by=user, answers=workup.answers, revises=workup
    )
    _audit(Action.PLAN_REVISE, workup, user, request, workup_id=new.public_id, revises=str(workup.public_id))
    return new
