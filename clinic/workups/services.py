"""Workup steps: start a workup, save steps (with an optimistic lock and a three-way merge), preview red flags,
acknowledge emergencies, and re-check the answers before a plan is made; the plan's lifecycle after that is in
lifecycle.py. Every change of a workup asks the one table of states and actions first (guards.py). No HTTP objects
here; views call these and render."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from clinic.accounts.models import User
from clinic.audit.models import Action
from clinic.audit.services import record
from clinic.engine import CarePlan, CaseError, evaluate, validate_case
from clinic.patients.models import Patient
from clinic.workups import step_data
from clinic.workups.case import build_case
from clinic.workups.forms import StepForm
from clinic.workups.guards import ConflictError, audit_workup, transition_for
from clinic.workups.merge import changed_fields, merge_step
from clinic.workups.models import Acknowledgement, Status, Workup
from clinic.workups.presenters import banner_flags
from clinic.workups.step_data import record_workup_labs
from clinic.workups.steps import BY_SLUG, applicable
from clinic.workups.transitions import Act
from clinic.workups.transitions import NotAllowed as NotAllowed

# NotAllowed is defined beside the transition table; views catch it as services.NotAllowed.


class ReturnsToDraft(Exception):
    """Saving answers would send a plan awaiting review back to draft, and the user has not confirmed that."""


@dataclass(frozen=True)
class StepProblem:
    slug: str
    title: str
    errors: dict[str, list[str]]


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


def lock_workup(pk: int) -> Workup:
    """Read a workup (with its patient and unit) holding its write lock until the transaction ends."""
    return _locked(Workup.objects.all(), pk=pk)


def lock_workup_of(user: User, public_id: Any) -> Workup:
    """The user's workup (one of their units' patients) with its write lock, in one read: the unit scope and the
    lock of ``lock_workup`` together. Workup.DoesNotExist when the user may not see it."""
    return _locked(Workup.objects.for_user(user), public_id=public_id)


def _locked(workups: QuerySet[Workup], **lookup: Any) -> Workup:
    """The one workup ``lookup`` finds among ``workups`` (with its patient and unit), holding its write lock until
    the transaction ends. On PostgreSQL one statement, ``SELECT ... FOR NO KEY UPDATE`` of the workup's row (the
    lock an UPDATE takes). SQLite has no row locks, and a transaction that reads first and then writes fails with
    "database is locked" when another one is writing: there an UPDATE that changes nothing takes the database's
    write lock first, then the row is read."""
    if connection.features.has_select_for_no_key_update:
        return workups.select_related("patient__unit").select_for_update(of=("self",), no_key=True).get(**lookup)
    if not workups.filter(**lookup).update(version=F("version")):
        raise Workup.DoesNotExist
    return workups.select_related("patient__unit").get(**lookup)


def _save_step_state(
    locked: Workup,
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
    transaction (save_step's also records the labs; no savepoint inside it), which holds the workup's lock:
    ``locked`` was read with it (lock_workup), so two saves of different steps merge instead of one overwriting
    the other."""
    transition = transition_for(locked, Act.EDIT if answers is not None else Act.AUTOSAVE, user)
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
        fresh = _save_answers(lock_workup(workup.pk), slug, answers, step_version, editor, user, edit or StepEdit())
    _audit_step_save(fresh, slug, user, request)
    return fresh


def _save_answers(
    locked: Workup, slug: str, answers: dict[str, Any], step_version: int, editor: str, user: User, edit: StepEdit
) -> Workup:
    """A step's answers saved (merged with others' saves); the labs step's results also go on the patient's record."""
    fresh = _save_step_state(locked, slug, step_version, editor, user, answers, None, edit)
    if slug == "labs":
        record_workup_labs(fresh, fresh.answers[slug].get("labs", []), user)
    return fresh


def _audit_step_save(fresh: Workup, slug: str, user: User, request: Any) -> None:
    merged = fresh.step_meta[slug]["merged"]
    audit_workup(Action.STEP_SAVE, fresh, user, request, step=slug, **({"merged": merged} if merged else {}))


def autosave(
    workup: Workup, slug: str, raw: dict[str, list[str]], step_version: int, user: User, editor: str = ""
) -> Workup:
    """Keep exactly what was typed (valid or not) so an interruption loses nothing. NUL characters are the one
    exception: nobody types them, and PostgreSQL cannot store them in JSON (a 500 before)."""
    with transaction.atomic():
        return _keep_draft(lock_workup(workup.pk), slug, raw, step_version, editor, user)


def _keep_draft(
    locked: Workup, slug: str, raw: dict[str, list[str]], step_version: int, editor: str, user: User
) -> Workup:
    draft = {key.replace("\x00", ""): [value.replace("\x00", "") for value in values] for key, values in raw.items()}
    return _save_step_state(locked, slug, step_version, editor, user, None, draft, StepEdit())


@dataclass(frozen=True)
class Autosaved:
    """What an autosave from a step page did: ``state`` is "saved" (the answers, merged with others' saves),
    "held" (a plan awaiting review: only the typing was kept), "draft" (not valid yet: the typing was kept),
    "conflict" (nothing saved; ``conflict`` says what differs) or "signed" (nothing saved)."""

    workup: Workup
    form: StepForm
    state: str
    conflict: ConflictError | None = None


def autosave_page(
    user: User,
    public_id: Any,
    slug: str,
    data: Any,
    raw: dict[str, list[str]],
    version: tuple[int, str],
    edit: StepEdit,
    request: Any = None,
) -> Autosaved:
    """Autosave a step page's form (``data``): the answers when they are valid, else what was typed (``raw``).
    ``version`` is the step version the page read and its editor token. The workup is read once, scoped to the
    user's units and with its write lock (Workup.DoesNotExist otherwise), and saved in the same transaction."""
    step_version, editor = version
    with transaction.atomic():
        locked = lock_workup_of(user, public_id)
        form = step_data.step_form(locked, slug, data)
        if not locked.is_editable:
            return Autosaved(locked, form, "signed")
        try:
            if not form.is_valid():
                return Autosaved(_keep_draft(locked, slug, raw, step_version, editor, user), form, "draft")
            try:
                fresh = _save_answers(locked, slug, form.to_answers(), step_version, editor, user, edit)
            except ReturnsToDraft:  # raised before anything changed: keep only the typing
                return Autosaved(_keep_draft(locked, slug, raw, step_version, editor, user), form, "held")
        except ConflictError as exc:  # raised before anything changed
            return Autosaved(exc.current, form, "conflict", exc)
    _audit_step_save(fresh, slug, user, request)
    return Autosaved(fresh, form, "saved")


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
    """The plan's emergency red flags nobody has acknowledged. The acknowledgements are read only when the plan
    raises an emergency (an autosave without one makes no query for them)."""
    emergencies = [flag for flag in plan.red_flags if flag.urgency == "emergency"] if plan is not None else []
    if not emergencies:
        return []
    acknowledged = {ack.code for ack in workup.acknowledgements.all()}
    return [flag for flag in emergencies if flag.code not in acknowledged]


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
        transition_for(locked, Act.ACKNOWLEDGE, user)
        ack = Acknowledgement.objects.create(workup=locked, code=code, reason=reason, user=user)
    audit_workup(Action.RED_FLAG_ACK, workup, user, request, code=code, reason=reason)
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
