"""Wizard and care-plan views: thin. Parse the request, call one service, render a page or a fragment."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinic.audit.models import Action
from clinic.audit.services import note_subject, record
from clinic.core.jinja2env import fragment
from clinic.patients.models import Patient
from clinic.workups import lifecycle, merge, presenters, readable, services, step_data
from clinic.workups.forms import AcknowledgeForm, StepForm
from clinic.workups.glance import plan_glance
from clinic.workups.models import Acknowledgement, AckReason, SignedPlan, Status, Workup
from clinic.workups.steps import BY_SLUG, STEPS, applicable, next_after, previous_before

SKIP_KEYS = {"csrfmiddlewaretoken", "version", "step_version", "editor", "base", "resolve", "confirm_return"}


def _workup_for(request: HttpRequest, public_id: object, *, acknowledgements: bool = True) -> Workup:
    """The workup, if it belongs to one of the user's units (404 otherwise). The htmx endpoints that never show
    or check emergency acknowledgements pass ``acknowledgements=False`` and save a query per keystroke."""
    queryset = Workup.objects.for_user(request.user).select_related("patient__unit", "created_by")
    if acknowledgements:
        queryset = queryset.prefetch_related("acknowledgements__user")
    workup = get_object_or_404(queryset, public_id=public_id)
    note_subject(request, workup.patient)  # audited as an access to this patient unless the view records more
    return workup


def _int(request: HttpRequest, name: str) -> int:
    try:
        return int(request.POST.get(name, ""))
    except ValueError:
        return -1


def _editor(request: HttpRequest) -> str:
    token = request.POST.get("editor", "")
    return token if token.isalnum() and len(token) <= 32 else ""


def _raw(request: HttpRequest) -> dict[str, list[str]]:
    return {key: values for key, values in request.POST.lists() if key not in SKIP_KEYS}


def _edit(request: HttpRequest, public_id: uuid.UUID | str, slug: str) -> services.StepEdit:
    """The page's part in a step save: the answers it was opened with, a choice settling a conflict, and the
    confirmation that saving returns a submitted plan to draft."""
    resolve = request.POST.get("resolve", "")
    return services.StepEdit(
        base=merge.read_base(request.POST.get("base", ""), public_id, slug),
        resolve=resolve if resolve in {"mine", "theirs"} else "",
        confirm_return=request.POST.get("confirm_return") == "yes",
    )


def _to_step(workup: Workup, slug: str | None) -> HttpResponse:
    return redirect("workups:step", public_id=workup.public_id, slug=slug or "review")


def _step_page(
    request: HttpRequest, workup: Workup, slug: str, form: StepForm, status: int = 200, **extra: Any
) -> HttpResponse:
    """The wizard page of one step, with the red-flag banner, the emergencies to acknowledge and the step's
    extras (recent labs, derived values, the review summary)."""
    plan = services.preview(workup)
    steps = applicable(workup.answers)
    slugs = [s.slug for s in steps]
    context = {
        "workup": workup,
        "patient": workup.patient,
        "step": BY_SLUG[slug],
        "steps": steps,
        "all_steps": STEPS,
        "step_number": slugs.index(slug) + 1 if slug in slugs else 1,
        "form": form,
        "previous": previous_before(workup.answers, slug),
        "flags": presenters.banner_flags(plan),
        "emergencies": services.unacknowledged_emergencies(workup, plan),
        "ack_reasons": AckReason.choices,
        "has_draft": slug in workup.drafts,
        "editor_token": uuid.uuid4().hex,
        "step_version": workup.step_version(slug),
        "base_token": _base_token(request, workup, slug, form),
        **step_data.step_extras(workup, slug, form),
        **extra,
    }
    return render(request, "workups/step.html", context, status=status)


def _base_token(request: HttpRequest, workup: Workup, slug: str, form: StepForm) -> str:
    """The answers this page's form extends, signed: those it was posted with (a page shown again keeps them,
    so a conflict stays a conflict), or those it is filled from."""
    posted = request.POST.get("base", "") if request.method == "POST" else ""
    if merge.read_base(posted, workup.public_id, slug) is not None:
        return posted
    return merge.sign_base(workup.public_id, slug, step_data.base_answers(workup, slug, form))


@require_GET
def resume_view(request: HttpRequest, public_id: str) -> HttpResponse:
    """Back to where the workup was left: the first step not saved yet (or the review)."""
    workup = _workup_for(request, public_id)
    if not workup.is_editable:
        return redirect("workups:plan", public_id=workup.public_id)
    pending = next((s for s in applicable(workup.answers) if s.slug not in workup.answers), None)
    return _to_step(workup, pending.slug if pending else None)


@require_POST
def workup_start(request: HttpRequest, public_id: str) -> HttpResponse:
    patient = get_object_or_404(Patient.objects.for_user(request.user).select_related("unit"), public_id=public_id)
    try:
        workup = services.start_workup(patient, request.user, request, instead_of=request.POST.get("instead_of", ""))
    except services.UnfinishedWorkup as exc:
        note_subject(request, patient)  # audited as an access to the patient, like the other pages
        offer = readable.resume_offer(exc.workup, request.user)
        return render(request, "workups/start_offer.html", {"patient": patient, "offer": offer})
    return _to_step(workup, STEPS[0].slug)


@require_http_methods(["GET", "POST"])
def step_view(request: HttpRequest, public_id: str, slug: str) -> HttpResponse:
    if slug not in BY_SLUG:
        raise Http404("No such step.")
    workup = _workup_for(request, public_id)
    if not workup.is_editable:
        messages.info(request, "This plan is signed and cannot be changed. Revise it to make a new version.")
        return redirect("workups:plan", public_id=workup.public_id)
    if slug not in {s.slug for s in applicable(workup.answers)}:
        following = next_after(workup.answers, slug)
        return _to_step(workup, following.slug if following else None)
    if request.method == "GET":
        return _step_page(request, workup, slug, step_data.step_form(workup, slug))
    return _post_step(request, workup, slug)


def _post_step(request: HttpRequest, workup: Workup, slug: str) -> HttpResponse:
    """Save a step and go on; an invalid form keeps what was typed as a draft and shows the errors; a plan
    awaiting review asks first (the typing is kept meanwhile); answers someone else changed too are shown side
    by side (409)."""
    form = step_data.step_form(workup, slug, request.POST)
    if not form.is_valid():
        return _keep_typing(request, workup, slug, form, status=400)
    try:
        step_version, edit = _int(request, "step_version"), _edit(request, workup.public_id, slug)
        answers = form.to_answers()
        workup = services.save_step(workup, slug, answers, step_version, request.user, request, _editor(request), edit)
    except services.ReturnsToDraft:
        return _keep_typing(request, workup, slug, form, status=200, confirm_return=True)
    except services.ConflictError as exc:
        conflict = readable.conflict_panel(exc, form.to_answers(), request.user)
        return _step_page(request, exc.current, exc.slug, form, status=409, conflict=conflict)
    except services.NotAllowed as exc:
        messages.error(request, str(exc))
        return redirect("workups:plan", public_id=workup.public_id)
    if kept := readable.merged_labels(form, workup.step_meta[slug].get("merged", [])):
        messages.info(request, f"Also kept, as saved meanwhile in {BY_SLUG[slug].title}: {kept}.")
    following = next_after(workup.answers, slug)
    return _to_step(workup, following.slug if following else None)


def _keep_typing(request: HttpRequest, workup: Workup, slug: str, form: StepForm, **extra: Any) -> HttpResponse:
    """Keep what was typed as the step's draft and show the page again (with its errors or a question)."""
    step_version = _int(request, "step_version")
    try:
        workup = services.autosave(workup, slug, _raw(request), step_version, request.user, _editor(request))
        read_at = workup.step_version(slug)  # this tab's own draft is now the version the answers extend
    except services.ConflictError as exc:
        # Someone else saved meanwhile: the page keeps the version the typed answers were read at, so the
        # corrected resubmission conflicts (and shows both) instead of silently overwriting theirs.
        workup, read_at = exc.current, step_version
    return _step_page(request, workup, slug, form, step_version=read_at, **extra)


@require_POST
def autosave_view(request: HttpRequest, public_id: str, slug: str) -> HttpResponse:
    if slug not in BY_SLUG or slug == "review":
        raise Http404("No such step.")
    version, edit = (_int(request, "step_version"), _editor(request)), _edit(request, public_id, slug)
    try:  # one read of the workup, scoped and locked, and one transaction (services.autosave_page)
        saved = services.autosave_page(
            request.user, public_id, slug, request.POST, _raw(request), version, edit, request
        )
    except Workup.DoesNotExist:
        raise Http404("No such workup.") from None
    note_subject(request, saved.workup.patient)  # audited as an access to this patient unless a save was recorded
    if saved.state == "signed":
        return HttpResponse("This plan is signed; changes are not saved.", status=409)
    return _autosave_response(request, slug, saved)


def _autosave_response(request: HttpRequest, slug: str, saved: services.Autosaved) -> HttpResponse:
    """The step page's status line after an autosave: saved, kept as typing, or the conflict panel (409), with the
    live red flags of the answers on the page."""
    workup, form, state = saved.workup, saved.form, saved.state
    mine = form.to_answers() if saved.conflict and form.is_valid() else {}
    conflict = readable.conflict_panel(saved.conflict, mine, request.user) if saved.conflict else None
    overlay = {slug: form.to_answers()} if form.is_valid() else None
    context = {
        "workup": workup,
        "step": BY_SLUG[slug],
        "state": state,
        "conflict": conflict,
        "step_version": workup.step_version(slug),
        # What this page's form now shows is its base; answers kept from another save are not on it.
        "base_token": merge.sign_base(workup.public_id, slug, overlay[slug]) if overlay and state == "saved" else "",
        "kept": readable.merged_labels(form, workup.step_meta[slug].get("merged", [])) if state == "saved" else "",
        **services.live_red_flags(workup, overlay),
    }
    response = render(request, "workups/step.html#autosave-response", context, status=409 if conflict else 200)
    if conflict:
        response["HX-Reswap"] = "innerHTML"
    elif state == "saved" and request.POST.get("resolve") == "theirs":
        response["HX-Refresh"] = "true"  # the form shows the answers kept from the other save
    return response


@require_POST
def lab_preview_view(request: HttpRequest, public_id: str) -> HttpResponse:
    _workup_for(request, public_id, acknowledgements=False)  # scope check
    analyte = request.POST.get("analyte", "")
    if analyte not in presenters.load_knowledge().analytes:
        return HttpResponse("Unknown test.", status=400, content_type="text/plain")
    preview = presenters.lab_preview(
        analyte, request.POST.get(f"{analyte}__value", ""), request.POST.get(f"{analyte}__unit", "")
    )
    return render(request, "workups/step.html#lab-preview", {"preview": preview})


@require_POST
def dialysis_preview_view(request: HttpRequest, public_id: str) -> HttpResponse:
    workup = _workup_for(request, public_id, acknowledgements=False)
    derived = presenters.derived_values(step_data.derived_preview(workup, request.POST, {}))
    note = presenters.weight_note(workup.patient, request.POST.get("target_weight_kg", ""))
    return render(request, "workups/step.html#derived", {"derived": derived, "weight_note": note})


@require_GET
def medicine_search_view(request: HttpRequest, public_id: str) -> HttpResponse:
    """Type-ahead for the medicines step: coded medicines and their brand and generic names."""
    _workup_for(request, public_id, acknowledgements=False)  # scope check
    query = request.GET.get("medicine_query", "")[:80].strip()
    return render(request, "workups/_medicines.html#results", {"query": query, **presenters.medicine_search(query)})


@require_POST
def acknowledge_view(request: HttpRequest, public_id: str) -> HttpResponse:
    workup = _workup_for(request, public_id)
    form = AcknowledgeForm(request.POST)
    back = request.POST.get("step", "review")
    back = back if back in BY_SLUG else "review"
    pending = services.pending_emergencies(workup)
    if not form.is_valid():
        messages.error(request, "Choose what you have done about this emergency before continuing.")
        return _to_step(workup, back)
    if form.cleaned_data["code"] not in pending:
        messages.info(request, "That red flag is no longer raised or was already acknowledged.")
        return _to_step(workup, back)
    try:
        services.acknowledge(workup, form.cleaned_data["code"], form.cleaned_data["reason"], request.user, request)
    except services.NotAllowed as exc:
        messages.error(request, str(exc))
        return redirect("workups:plan", public_id=workup.public_id)
    if form.cleaned_data["reason"] == AckReason.ENTERED_IN_ERROR:
        messages.info(request, "Correct the answer that raised the red flag.")
        return _to_step(workup, "redflags")
    return _to_step(workup, back)


@require_POST
def make_plan_view(request: HttpRequest, public_id: str) -> HttpResponse:
    workup = _workup_for(request, public_id)
    if not workup.is_editable:
        return redirect("workups:plan", public_id=workup.public_id)
    problems = services.revalidate(workup)
    if problems and problems[0].slug == services.PATIENT_RECORD:
        details = "; ".join(message for p in problems for messages_ in p.errors.values() for message in messages_)
        messages.error(request, f"Correct the patient's details before making the care plan: {details}.")
        return redirect("patients:edit", public_id=workup.patient.public_id)
    if problems:
        messages.error(request, f"Please complete or correct: {', '.join(p.title for p in problems)}.")
        return _to_step(workup, problems[0].slug)
    try:
        lifecycle.make_plan(workup, _int(request, "version"), request.user, request)
    except services.ConflictError:
        messages.error(
            request, "Someone else changed this workup just now. Check the review, then make the plan again."
        )
        return _to_step(workup, "review")
    except services.NotAllowed as exc:  # an emergency red flag not acknowledged yet
        messages.error(request, str(exc))
        return _to_step(workup, "review")
    return redirect("workups:plan", public_id=workup.public_id)


@require_GET
def plan_view(request: HttpRequest, public_id: str) -> HttpResponse:
    """The care plan (never the answers), ordered for the viewer's role."""
    workup = get_object_or_404(Workup.objects.for_user(request.user).for_plan_page(), public_id=public_id)
    note_subject(request, workup.patient)
    plan, signed = workup.current_plan()
    if plan is None:
        messages.info(request, "Finish the steps and make the care plan first.")
        return _to_step(workup, "review")
    role = request.user.role_in(workup.patient.unit_id)
    record(
        Action.PLAN_VIEW,
        request=request,
        unit=workup.patient.unit,
        patient_public_id=workup.patient.public_id,
        detail={"workup": str(workup.public_id)},
    )
    return render(request, "workups/plan.html", _plan_context(request, workup, plan, signed, role))


def _plan_context(
    request: HttpRequest, workup: Workup, plan: dict[str, Any], signed: SignedPlan | None, role: str | None
) -> dict[str, Any]:
    acknowledgements = Acknowledgement.objects.filter(workup=workup).select_related("user")
    view = presenters.plan_view(plan, role)
    context = {
        "workup": workup,
        "patient": workup.patient,
        "signed": signed,
        "plan": plan,
        "role": role,
        "can_sign": lifecycle.can_sign(request.user, workup) and workup.status != Status.SIGNED,
        "can_submit": workup.status == Status.DRAFT,
        "acknowledgements": presenters.titled_acknowledgements(acknowledgements),
        "view": view,
        "glance": plan_glance(plan, view, role),
    }
    return {**context, "plan_body": fragment("workups/plan_body.html", context, request)}


@require_POST
def submit_view(request: HttpRequest, public_id: str) -> HttpResponse:
    workup = _workup_for(request, public_id)
    try:
        lifecycle.submit(workup, _int(request, "version"), request.user, request)
        messages.success(request, "Submitted. The plan now awaits nephrologist review.")
    except services.NotAllowed as exc:
        messages.error(request, str(exc))
    except services.ConflictError:
        messages.error(request, "The workup changed; check it and submit again.")
    return redirect("workups:plan", public_id=workup.public_id)


@require_POST
def revise_view(request: HttpRequest, public_id: str) -> HttpResponse:
    workup = _workup_for(request, public_id)
    try:
        new = lifecycle.revise(workup, request.user, request)
    except services.NotAllowed as exc:
        messages.error(request, str(exc))
        return redirect("workups:plan", public_id=workup.public_id)
    messages.info(request, "A new version was started from the signed plan. The signed version stays as it was.")
    return _to_step(new, "review")
