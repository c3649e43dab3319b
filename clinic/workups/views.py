"""Wizard and care-plan views: thin. Parse, validate a form, call services, render a page or a fragment."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinic.audit.models import Action
from clinic.audit.services import record
from clinic.engine import CaseError, evaluate
from clinic.patients.models import Patient
from clinic.workups import presenters, services
from clinic.workups.case import build_case
from clinic.workups.forms import AcknowledgeForm, DialysisForm
from clinic.workups.models import Acknowledgement, AckReason, Status, Workup
from clinic.workups.steps import BY_SLUG, STEPS, applicable, next_after, previous_before

logger = logging.getLogger(__name__)
PLAN_BODY_CACHE_SECONDS = 60 * 60
SKIP_KEYS = {"csrfmiddlewaretoken", "version", "step_version", "editor"}


def _workup_for(request: HttpRequest, public_id: object, *, acknowledgements: bool = True) -> Workup:
    """The workup, if it belongs to one of the user's units (404 otherwise). The htmx endpoints that never show
    or check emergency acknowledgements pass ``acknowledgements=False`` and save a query per keystroke."""
    queryset = Workup.objects.for_user(request.user).select_related("patient__unit", "created_by")
    if acknowledgements:
        queryset = queryset.prefetch_related("acknowledgements__user")
    return get_object_or_404(queryset, public_id=public_id)


def _step_version(request: HttpRequest) -> int:
    try:
        return int(request.POST.get("step_version", ""))
    except ValueError:
        return -1


def _version(request: HttpRequest) -> int:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return -1


def _editor(request: HttpRequest) -> str:
    token = request.POST.get("editor", "")
    return token if token.isalnum() and len(token) <= 32 else ""


def _raw(request: HttpRequest) -> dict[str, list[str]]:
    return {key: values for key, values in request.POST.lists() if key not in SKIP_KEYS}


def _initial_from_raw(raw: dict[str, list[str]]) -> dict[str, Any]:
    return {key: values if len(values) != 1 else values[0] for key, values in raw.items()}


def _form(workup: Workup, slug: str, data: Any = None) -> Any:
    step = BY_SLUG[slug]
    kwargs: dict[str, Any] = {}
    if slug == "labs":
        kwargs["unit_system"] = workup.patient.effective_lab_units()
    if data is not None:
        return step.form_class(data, **kwargs)
    if slug in workup.drafts:
        initial = _initial_from_raw(workup.drafts[slug])
    elif slug in workup.answers:
        initial = step.form_class.initial_from(workup.answers[slug])
    else:
        initial = step.form_class.initial_from(services.prefill(workup, slug))
    return step.form_class(initial=initial, **kwargs)


def _step_context(request: HttpRequest, workup: Workup, slug: str, form: Any, **extra: Any) -> dict[str, Any]:
    plan = services.preview(workup)
    steps = applicable(workup.answers)
    previous = previous_before(workup.answers, slug)
    context = {
        "workup": workup,
        "patient": workup.patient,
        "step": BY_SLUG[slug],
        "steps": steps,
        "all_steps": STEPS,
        "step_number": [s.slug for s in steps].index(slug) + 1 if slug in {s.slug for s in steps} else 1,
        "form": form,
        "previous": previous,
        "flags": presenters.banner_flags(plan),
        "emergencies": services.unacknowledged_emergencies(workup, plan),
        "ack_reasons": AckReason.choices,
        "has_draft": slug in workup.drafts,
        "editor_token": uuid.uuid4().hex,
        "step_version": workup.step_version(slug),
    }
    if slug == "labs":
        recent = _recent_labs(workup.patient)
        context["lab_rows"] = [
            (code, name, form[f"{code}__value"], form[f"{code}__unit"], form[f"{code}__when"], recent.get(code))
            for code, name in form.rows
        ]
    if slug == "dialysis":
        context["derived"] = _derived_for(workup, form.data if form.is_bound else None, form.initial)
    if slug == "review":
        context["summary"] = _summary(workup)
    context.update(extra)
    return context


def _role(request: HttpRequest, workup: Workup) -> str | None:
    return request.user.role_in(workup.patient.unit_id)


def _recent_labs(patient: Patient) -> dict[str, Any]:
    latest: dict[str, Any] = {}
    for lab in patient.lab_results.all()[:60]:
        latest.setdefault(lab.analyte, lab)
    return latest


def _derived_for(workup: Workup, data: Any, initial: dict[str, Any]) -> list[presenters.DerivedValue]:
    form = DialysisForm(data if data is not None else services.bound_form("dialysis", initial, "SI").data)
    answers = dict(workup.answers)
    answers["dialysis"] = form.to_answers() if form.is_valid() else {}
    try:
        plan = evaluate(build_case(workup.patient, answers, workup.created_at.date()))
    except CaseError as exc:
        logger.warning("derived preview: case invalid for workup %s: %s", workup.public_id, exc.errors)
        return presenters.derived_values({})
    return presenters.derived_values(
        {"uf_rate_ml_kg_h": plan.derived.uf_rate_ml_kg_h, "idwg_percent": plan.derived.idwg_percent}
    )


def _summary(workup: Workup) -> list[dict[str, Any]]:
    rows = []
    for step in applicable(workup.answers):
        if step.slug == "review":
            continue
        saved = workup.answers.get(step.slug)
        form = (
            services.bound_form(step.slug, step.form_class.initial_from(saved), workup.patient.effective_lab_units())
            if saved is not None
            else None
        )
        items: list[tuple[str, str]] = []
        if form is not None and form.is_valid():
            for name, field in form.fields.items():
                value = form.cleaned_data.get(name)
                if value in (None, "", [], ()):
                    continue
                if step.slug == "labs" and not name.endswith("__value"):
                    continue
                if hasattr(field, "choices") and not isinstance(value, list | float | int):
                    value = dict(field.choices).get(value, value)
                elif isinstance(value, list) and hasattr(field, "choices"):
                    labels = dict(field.choices)
                    value = ", ".join(str(labels.get(v, v)) for v in value)
                if step.slug == "labs":
                    code = name.removesuffix("__value")
                    value = f"{value:g} {form.cleaned_data[code + '__unit']}"
                items.append((str(field.label), str(value)))
        rows.append({"step": step, "saved": saved is not None, "items": items})
    return rows


@require_GET
def resume_view(request: HttpRequest, public_id: str) -> HttpResponse:
    """Back to where the workup was left: the first step not saved yet (or the review)."""
    workup = _workup_for(request, public_id)
    if not workup.is_editable:
        return redirect("workups:plan", public_id=workup.public_id)
    pending = next((s for s in applicable(workup.answers) if s.slug not in workup.answers), None)
    return redirect("workups:step", public_id=workup.public_id, slug=pending.slug if pending else "review")


@require_POST
def workup_start(request: HttpRequest, public_id: str) -> HttpResponse:
    patient = get_object_or_404(Patient.objects.for_user(request.user).select_related("unit"), public_id=public_id)
    workup = services.start_workup(patient, request.user, request)
    return redirect("workups:step", public_id=workup.public_id, slug=STEPS[0].slug)


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
        return redirect("workups:step", public_id=workup.public_id, slug=following.slug if following else "review")
    if request.method == "GET":
        return render(request, "workups/step.html", _step_context(request, workup, slug, _form(workup, slug)))

    form = _form(workup, slug, request.POST)
    if not form.is_valid():
        try:
            workup = services.autosave(
                workup, slug, _raw(request), _step_version(request), request.user, _editor(request)
            )
        except services.ConflictError as exc:
            workup = exc.current
        context = _step_context(request, workup, slug, form)
        return render(request, "workups/step.html", context, status=400)
    try:
        workup = services.save_step(
            workup, slug, form.to_answers(), _step_version(request), request.user, request, _editor(request)
        )
    except services.ConflictError as exc:
        return _conflict(request, exc, form)
    except services.NotAllowed as exc:
        messages.error(request, str(exc))
        return redirect("workups:plan", public_id=workup.public_id)
    following = next_after(workup.answers, slug)
    return redirect("workups:step", public_id=workup.public_id, slug=following.slug if following else "review")


def _conflict(request: HttpRequest, exc: services.ConflictError, form: Any) -> HttpResponse:
    current = exc.current
    theirs = current.answers.get(exc.slug, {})
    mine = form.to_answers()
    changed = sorted({key for key in set(theirs) | set(mine) if theirs.get(key) != mine.get(key)})
    differences = [
        (key.replace("_", " "), theirs.get(key, "not answered"), mine.get(key, "not answered")) for key in changed
    ]
    context = _step_context(
        request,
        current,
        exc.slug,
        form,
        conflict={"by": current.updated_by, "at": current.updated_at, "differences": differences},
    )
    return render(request, "workups/step.html", context, status=409)


@require_POST
def autosave_view(request: HttpRequest, public_id: str, slug: str) -> HttpResponse:
    if slug not in BY_SLUG or slug == "review":
        raise Http404("No such step.")
    workup = _workup_for(request, public_id, acknowledgements=False)
    if not workup.is_editable:
        return HttpResponse("This plan is signed; changes are not saved.", status=409)
    form = _form(workup, slug, request.POST)
    status = 200
    try:
        if form.is_valid():
            workup = services.save_step(
                workup, slug, form.to_answers(), _step_version(request), request.user, request, _editor(request)
            )
            state = "saved"
        else:
            workup = services.autosave(
                workup, slug, _raw(request), _step_version(request), request.user, _editor(request)
            )
            state = "draft"
    except services.ConflictError as exc:
        workup, state, status = exc.current, "conflict", 409
    plan = services.preview(workup)
    context = {
        "workup": workup,
        "state": state,
        "step_version": workup.step_version(slug),
        "flags": presenters.banner_flags(plan),
    }
    response = render(request, "workups/step.html#autosave-response", context, status=status)
    if status == 409:
        response["HX-Reswap"] = "innerHTML"
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
    return render(request, "workups/step.html#derived", {"derived": _derived_for(workup, request.POST, {})})


@require_POST
def acknowledge_view(request: HttpRequest, public_id: str) -> HttpResponse:
    workup = _workup_for(request, public_id)
    form = AcknowledgeForm(request.POST)
    back = request.POST.get("step", "review")
    if back not in BY_SLUG:
        back = "review"
    plan = services.preview(workup)
    pending = {flag.code for flag in services.unacknowledged_emergencies(workup, plan)}
    if not form.is_valid() or form.cleaned_data["code"] not in pending:
        if form.is_valid():
            messages.info(request, "That red flag is no longer raised or was already acknowledged.")
        else:
            messages.error(request, "Choose what you have done about this emergency before continuing.")
        return redirect("workups:step", public_id=workup.public_id, slug=back)
    services.acknowledge(workup, form.cleaned_data["code"], form.cleaned_data["reason"], request.user, request)
    if form.cleaned_data["reason"] == AckReason.ENTERED_IN_ERROR:
        messages.info(request, "Correct the answer that raised the red flag.")
        return redirect("workups:step", public_id=workup.public_id, slug="redflags")
    return redirect("workups:step", public_id=workup.public_id, slug=back)


@require_POST
def make_plan_view(request: HttpRequest, public_id: str) -> HttpResponse:
    workup = _workup_for(request, public_id)
    if not workup.is_editable:
        return redirect("workups:plan", public_id=workup.public_id)
    problems = services.revalidate(workup)
    if problems:
        messages.error(request, f"Please complete or correct: {', '.join(p.title for p in problems)}.")
        return redirect("workups:step", public_id=workup.public_id, slug=problems[0].slug)
    try:
        services.make_plan(workup, _version(request), request.user, request)
    except services.ConflictError:
        messages.error(
            request, "Someone else changed this workup just now. Check the review, then make the plan again."
        )
        return redirect("workups:step", public_id=workup.public_id, slug="review")
    return redirect("workups:plan", public_id=workup.public_id)


# The care plan page shows the plan, never the answers. Its one workup query loads only the columns the page
# reads (the plan, the signed snapshot and the names in its header): Django compiles the SQL of every query on
# every request, and with every column of five joined tables that compilation was a quarter of the page's CPU.
# The query budget test fails if a field used later is missing here (it would cost a query of its own).
PLAN_PAGE_FIELDS = (
    *("public_id", "status", "version", "created_at", "plan_json", "revises_id", "patient", "created_by"),
    *(f"patient__{name}" for name in ("public_id", "unit", "given_name", "family_name", "mrn", "date_of_birth")),
    *(f"created_by__{name}" for name in ("username", "first_name", "last_name")),
    *(f"signed_plan__{name}" for name in ("workup", "plan_json", "signed_at", "signed_by")),
    *(f"signed_plan__signed_by__{name}" for name in ("username", "first_name", "last_name")),
)


@require_GET
def plan_view(request: HttpRequest, public_id: str) -> HttpResponse:
    queryset = (
        Workup.objects.for_user(request.user)
        .select_related("patient__unit", "created_by", "signed_plan__signed_by")
        .only(*PLAN_PAGE_FIELDS)
    )
    workup = get_object_or_404(queryset, public_id=public_id)
    signed = getattr(workup, "signed_plan", None) if workup.is_signed else None
    plan = signed.plan_json if signed else workup.plan_json
    if plan is None:
        messages.info(request, "Finish the steps and make the care plan first.")
        return redirect("workups:step", public_id=workup.public_id, slug="review")
    role = _role(request, workup)
    record(
        Action.PLAN_VIEW,
        request=request,
        unit=workup.patient.unit,
        patient_public_id=workup.patient.public_id,
        detail={"workup": str(workup.public_id)},
    )
    acknowledgements = _titled(Acknowledgement.objects.filter(workup=workup).select_related("user"))
    context = {
        "workup": workup,
        "patient": workup.patient,
        "signed": signed,
        "plan": plan,
        "role": role,
        "can_sign": services.can_sign(request.user, workup) and workup.status != Status.SIGNED,
        "can_submit": workup.status == Status.DRAFT,
        "acknowledgements": acknowledgements,
    }
    # The body (red flags, steps, drugs, derived values, missing) depends only on the plan, the role, the
    # acknowledgements and the knowledge base: render it once per version and keep it in the process cache.
    key = ":".join(
        [
            "plan-body",
            f"{workup.public_id}:signed" if signed else f"{workup.public_id}:v{workup.version}",
            str(role),
            str(len(acknowledgements)),
            presenters.load_knowledge().content_hash[:12],
        ]
    )
    plan_body = cache.get(key)
    if plan_body is None:
        body_context = {**context, "view": presenters.plan_view(plan, role)}
        plan_body = render_to_string("workups/plan.html#plan-body", body_context, request=request)
        cache.set(key, plan_body, PLAN_BODY_CACHE_SECONDS)
    context["plan_body"] = mark_safe(plan_body)  # rendered by our own template above, autoescaped
    return render(request, "workups/plan.html", context)


def _titled(acknowledgements: Any) -> list[Any]:
    red_flags = presenters.load_knowledge().red_flags
    for ack in acknowledgements:
        ack.title = red_flags[ack.code].title if ack.code in red_flags else ack.code
    return list(acknowledgements)


@require_POST
def submit_view(request: HttpRequest, public_id: str) -> HttpResponse:
    workup = _workup_for(request, public_id)
    try:
        services.submit(workup, _version(request), request.user, request)
        messages.success(request, "Submitted. The plan now awaits nephrologist review.")
    except (services.NotAllowed, services.ConflictError) as exc:
        messages.error(
            request,
            str(exc) if isinstance(exc, services.NotAllowed) else "The workup changed; check it and submit again.",
        )
    return redirect("workups:plan", public_id=workup.public_id)


@require_POST
def sign_view(request: HttpRequest, public_id: str) -> HttpResponse:
    workup = _workup_for(request, public_id)
    try:
        services.sign(workup, _version(request), request.user, request)
        messages.success(request, "Care plan signed.")
    except services.NotAllowed as exc:
        messages.error(request, str(exc))
        return redirect("workups:plan", public_id=workup.public_id)
    except services.ConflictError:
        messages.error(request, "The workup changed after you opened it. Review the new version, then sign.")
    return redirect("workups:plan", public_id=workup.public_id)


@require_POST
def revise_view(request: HttpRequest, public_id: str) -> HttpResponse:
    workup = _workup_for(request, public_id)
    try:
        new = services.revise(workup, request.user, request)
    except services.NotAllowed as exc:
        messages.error(request, str(exc))
        return redirect("workups:plan", public_id=workup.public_id)
    messages.info(request, "A new version was started from the signed plan. The signed version stays as it was.")
    return redirect("workups:step", public_id=new.public_id, slug="review")
