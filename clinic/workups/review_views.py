"""The nephrologist's review screens: decide per recommendation, confirm (with the patient's handout as it will
print), sign; or return the plan to the nurse. Thin: forms and services are in clinic/workups/review.py."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from clinic.audit.models import Action
from clinic.audit.services import note_subject, record
from clinic.printing.context import unit_info
from clinic.printing.handout import build_handout
from clinic.workups import lifecycle, presenters, review, services
from clinic.workups.decisions import Item, decision_items
from clinic.workups.models import Status, Workup


def _workup(request: HttpRequest, public_id: object) -> Workup:
    queryset = Workup.objects.for_user(request.user).select_related(
        "patient__unit", "created_by", "submitted_by", "returned_by"
    )
    workup = get_object_or_404(queryset, public_id=public_id)
    note_subject(request, workup.patient)
    return workup


def _version(request: HttpRequest) -> int:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return -1


def _refuse(request: HttpRequest, workup: Workup) -> HttpResponse | None:
    """Only a nephrologist of the unit reviews, and only a plan awaiting review."""
    if not lifecycle.can_sign(request.user, workup):
        messages.error(request, "Only a nephrologist of this unit reviews and signs care plans.")
        return redirect("workups:plan", public_id=workup.public_id)
    if workup.status != Status.AWAITING_REVIEW or workup.plan_json is None:
        messages.info(request, "This plan is not awaiting review.")
        return redirect("workups:plan", public_id=workup.public_id)
    return None


def _context(workup: Workup, form: review.DecisionForm, return_form: review.ReturnForm | None = None) -> dict:
    plan = workup.plan_json or {}
    return {
        "workup": workup,
        "patient": workup.patient,
        "plan": plan,
        "view": presenters.plan_view(plan, "nephrologist"),
        "form": form,
        "return_form": return_form or review.ReturnForm(),
    }


def _handout(workup: Workup, decisions: dict[str, Any]) -> Any:
    return build_handout(
        workup.plan_json or {},
        signed=True,
        decisions=decisions,
        case=workup.case_json,
        unit=unit_info(workup.patient.unit),
    )


@require_http_methods(["GET", "POST"])
def review_view(request: HttpRequest, public_id: str) -> HttpResponse:
    """GET: the decision form. POST: check it; if complete, show the confirmation (what will be signed and what
    the handout will say); ``edit`` posts the same answers back into the form."""
    workup = _workup(request, public_id)
    refused = _refuse(request, workup)
    if refused:
        return refused
    items = decision_items(workup.plan_json)
    if request.method == "GET":
        record(
            Action.PLAN_VIEW,
            request=request,
            unit=workup.patient.unit,
            patient_public_id=workup.patient.public_id,
            detail={"workup": str(workup.public_id), "page": "review"},
        )
        return render(request, "workups/review.html", _context(workup, review.DecisionForm(items=items)))
    if request.POST.get("edit"):  # back from the confirmation: the answers given, without error messages
        initial = review.DecisionForm(initial=request.POST.dict(), items=items)
        return render(request, "workups/review.html", _context(workup, initial))
    form = review.DecisionForm(request.POST, items=items)
    if not form.is_valid():
        return render(request, "workups/review.html", _context(workup, form), status=400)
    return _confirmation(request, workup, form, items)


def _confirmation(request: HttpRequest, workup: Workup, form: review.DecisionForm, items: list[Item]) -> HttpResponse:
    """What will be signed, and the patient's handout as it will print with these decisions."""
    decisions = form.decisions()
    context = {
        **_context(workup, form),
        "decisions": [(item, decisions[item.code]) for item in items],
        "comment": form.cleaned_data["comment"],
        "handout": _handout(workup, decisions),
    }
    return render(request, "workups/review_confirm.html", context)


@require_POST
def sign_view(request: HttpRequest, public_id: str) -> HttpResponse:
    workup = _workup(request, public_id)
    refused = _refuse(request, workup)
    if refused:
        return refused
    form = review.DecisionForm(request.POST, items=decision_items(workup.plan_json))
    if not form.is_valid():
        return render(request, "workups/review.html", _context(workup, form), status=400)
    try:
        lifecycle.sign(
            workup,
            _version(request),
            request.user,
            request,
            decisions=form.decisions(),
            comment=form.cleaned_data["comment"],
        )
    except services.NotAllowed as exc:
        messages.error(request, str(exc))
        return redirect("workups:plan", public_id=workup.public_id)
    except services.ConflictError:
        messages.error(request, "The workup changed after you opened it. Review the new version, then sign.")
        return redirect("workups:review", public_id=workup.public_id)
    messages.success(request, "Care plan signed. The PDFs are stored with it.")
    return redirect("workups:plan", public_id=workup.public_id)


@require_POST
def return_view(request: HttpRequest, public_id: str) -> HttpResponse:
    workup = _workup(request, public_id)
    refused = _refuse(request, workup)
    if refused:
        return refused
    return_form = review.ReturnForm(request.POST)
    if not return_form.is_valid():
        items = decision_items(workup.plan_json)
        context = _context(workup, review.DecisionForm(items=items), return_form)
        return render(request, "workups/review.html", context, status=400)
    try:
        lifecycle.return_to_nurse(workup, request.user, return_form.cleaned_data["comment"], _version(request), request)
    except (services.NotAllowed, services.ConflictError) as exc:
        messages.error(
            request,
            str(exc) if isinstance(exc, services.NotAllowed) else "The workup changed; review it again.",
        )
        return redirect("workups:plan", public_id=workup.public_id)
    messages.success(request, "Returned to the nurse with your comment.")
    return redirect("home")
