"""Print view (HTML for the browser's print) and PDF download of a saved workup's plan or handout."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from clinic.audit.models import Action
from clinic.audit.services import note_subject, record
from clinic.printing.context import KINDS, PAPERS, workup_print_context
from clinic.printing.pdf import render_snapshot_pdf, stored_pdf
from clinic.printing.stored import find_stored_pdf
from clinic.workups.models import SignedPlan, Workup


def _options(request: HttpRequest, default_paper: str) -> tuple[str, str] | None:
    kind = request.GET.get("kind", "plan")
    paper = request.GET.get("paper", default_paper).lower()
    if kind not in KINDS or paper not in PAPERS:
        return None
    return kind, paper


def _workup(request: HttpRequest, public_id: str, with_pdfs: bool) -> Workup:
    queryset = Workup.objects.for_user(request.user).select_related("patient__unit", "signed_plan__signed_by")
    # Only the stored PDF the request can use is read from the database (each is ~100 KB).
    kind = request.GET.get("kind", "plan")
    unused = ["signed_plan__plan_pdf", "signed_plan__handout_pdf"] if not with_pdfs else []
    if with_pdfs:
        unused = ["signed_plan__handout_pdf"] if kind == "plan" else ["signed_plan__plan_pdf"]
    queryset = queryset.defer(*unused)
    workup = get_object_or_404(queryset, public_id=public_id)
    note_subject(request, workup.patient)
    return workup


Printable = tuple[str, str, Workup, Mapping[str, Any], SignedPlan | None]


def _printable(request: HttpRequest, public_id: str, doing: str) -> Printable | HttpResponse:
    """(kind, paper, workup, plan, signed snapshot) for a print or PDF request, or the answer to give instead:
    400 for bad options, 404 outside the user's units, back to the review step when there is no plan yet."""
    workup = _workup(request, public_id, with_pdfs=doing == "downloading")
    options = _options(request, workup.patient.unit.default_paper)
    if options is None:
        return HttpResponseBadRequest("kind must be plan or handout, and paper a4 or letter.")
    plan, signed = workup.current_plan()
    if plan is None:
        messages.info(request, f"Make the care plan before {doing} it.")
        return redirect("workups:step", public_id=workup.public_id, slug="review")
    return (*options, workup, plan, signed)


def _audit(request: HttpRequest, action: str, workup: Workup, kind: str, paper: str) -> None:
    record(
        action,
        request=request,
        unit=workup.patient.unit,
        patient_public_id=workup.patient.public_id,
        detail={"workup": str(workup.public_id), "kind": kind, "paper": paper},
    )


@require_GET
def plan_print(request: HttpRequest, public_id: str) -> HttpResponse:
    printable = _printable(request, public_id, "printing")
    if isinstance(printable, HttpResponse):
        return printable
    kind, paper, workup, plan, signed = printable
    _audit(request, Action.PLAN_PRINT, workup, kind, paper)
    context = workup_print_context(workup, signed, plan, kind, paper)
    template = "printing/handout.html" if kind == "handout" else "printing/plan.html"
    back_url = reverse("workups:plan", args=[workup.public_id])
    return TemplateResponse(request, template, {**context, "for_pdf": False, "back_url": back_url})


def _pdf_response(pdf: bytes, kind: str, created_at: dt.datetime, public_id: str) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    # No name or MRN in the file name: downloads folders are not access-controlled.
    name = f"chairside-{kind}-{created_at:%Y%m%d}-{str(public_id)[:8]}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


def _signed_pdf(request: HttpRequest, public_id: str) -> HttpResponse | None:
    """A signed plan's PDF as stored at signing (one query, nothing rendered); None when this request is not for
    a stored PDF (a draft, another paper size, bad options, another unit's or no workup): the full path answers."""
    kind = request.GET.get("kind", "plan")
    units = {m.unit_id: m.unit for m in request.user.cached_memberships()}
    stored = find_stored_pdf(public_id, kind, units) if kind in KINDS else None
    if stored is None or request.GET.get("paper", stored.default_paper).lower() != stored.paper:
        return None
    detail = {"workup": str(public_id), "kind": kind, "paper": stored.paper}
    record(
        Action.PLAN_PDF, request=request, unit=stored.unit_id, patient_public_id=stored.patient_public_id, detail=detail
    )
    return _pdf_response(stored.pdf, kind, stored.created_at, public_id)


@require_GET
def plan_pdf(request: HttpRequest, public_id: str) -> HttpResponse:
    # A signed plan's PDF was rendered once at signing: serving it is a read.
    served = _signed_pdf(request, public_id)
    if served is not None:
        return served
    printable = _printable(request, public_id, "downloading")
    if isinstance(printable, HttpResponse):
        return printable
    kind, paper, workup, plan, signed = printable
    # Drafts (and a signed plan on the other paper size) render on demand.
    pdf = stored_pdf(signed, kind, paper) or render_snapshot_pdf(workup, signed, plan, kind, paper)
    _audit(request, Action.PLAN_PDF, workup, kind, paper)
    return _pdf_response(pdf, kind, workup.created_at, str(workup.public_id))
