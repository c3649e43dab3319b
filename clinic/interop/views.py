"""Interoperability screens and endpoints.

- FHIR import from the patient page (this patient only) or the patient list (new or existing patients of one of
  the user's units). Access is unit-scoped like every patient view: another unit's patient is a 404.
- FHIR export of a SIGNED care plan (CarePlan, DocumentReference), as JSON at a URL or as a download.
- CDS Hooks 2.0 endpoints live in clinic/interop/cds_views.py.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_http_methods

from clinic.audit.models import Action
from clinic.audit.services import note_subject, record
from clinic.interop.fhir_export import FHIR_JSON, build_careplan, build_document_reference
from clinic.interop.fhir_import import import_fhir
from clinic.interop.forms import FhirImportForm
from clinic.patients.models import Patient
from clinic.workups.models import Status, Workup


@require_http_methods(["GET", "POST"])
def patient_import(request: HttpRequest, public_id: str) -> HttpResponse:
    patient = get_object_or_404(Patient.objects.for_user(request.user).select_related("unit"), public_id=public_id)
    note_subject(request, patient)
    form = FhirImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "GET":
        record(Action.FHIR_IMPORT_VIEW, request=request, unit=patient.unit, patient_public_id=patient.public_id)
    if request.method == "POST" and form.is_valid():
        report = import_fhir(form.payloads(), unit=patient.unit, user=request.user, request=request, target=patient)
    status = 400 if form.errors or (report is not None and not report.ok) else 200
    context = {"form": form, "patient": patient, "report": report}
    return render(request, "interop/import.html", context, status=status)


@require_http_methods(["GET", "POST"])
def unit_import(request: HttpRequest) -> HttpResponse:
    units = request.user.units()
    form = FhirImportForm(request.POST or None, request.FILES or None, units=units)
    report = None
    if request.method == "GET":
        record(Action.FHIR_IMPORT_VIEW, request=request)
    if request.method == "POST" and form.is_valid():
        assert form.unit is not None
        report = import_fhir(form.payloads(), unit=form.unit, user=request.user, request=request)
    status = 400 if form.errors or (report is not None and not report.ok) else 200
    return render(request, "interop/import.html", {"form": form, "patient": None, "report": report}, status=status)


def _signed_workup(request: HttpRequest, public_id: str) -> Workup:
    """Only a signed plan exports; an unsigned one, or another unit's, is a 404."""
    return get_object_or_404(
        Workup.objects.for_user(request.user).select_related(
            "patient", "patient__unit", "signed_plan", "signed_plan__signed_by", "signed_plan__submitted_by"
        ),
        public_id=public_id,
        status=Status.SIGNED,
        signed_plan__isnull=False,
    )


def _fhir_response(request: HttpRequest, workup: Workup, resource: dict[str, Any], kind: str) -> HttpResponse:
    response = HttpResponse(json.dumps(resource, indent=2, ensure_ascii=False), content_type=FHIR_JSON)
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="{kind}-{workup.public_id}.json"'
    record(
        Action.FHIR_EXPORT,
        request=request,
        unit=workup.patient.unit,
        patient_public_id=workup.patient.public_id,
        detail={"workup": str(workup.public_id), "resource": kind},
    )
    return response


@require_GET
def careplan_export(request: HttpRequest, public_id: str) -> HttpResponse:
    workup = _signed_workup(request, public_id)
    return _fhir_response(request, workup, build_careplan(workup), "careplan")


@require_GET
def document_export(request: HttpRequest, public_id: str) -> HttpResponse:
    workup = _signed_workup(request, public_id)
    return _fhir_response(request, workup, build_document_reference(workup, request), "documentreference")
