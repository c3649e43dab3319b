"""Patient screens. Every lookup goes through ``Patient.objects.for_user`` so another unit's patient is a 404."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from clinic.audit.models import Action
from clinic.audit.services import note_subject, record
from clinic.core import codes
from clinic.core.jinja2env import fragment
from clinic.patients.forms import LabResultForm, PatientForm
from clinic.patients.models import Patient
from clinic.patients.services import lab_rows, latest_labs
from clinic.patients.trends import trend_charts

PAGE_SIZE = 25
LAB_HISTORY = 50
WORKUP_HISTORY = 20


def _patient_for(request: HttpRequest, public_id: object) -> Patient:
    patient = get_object_or_404(Patient.objects.for_user(request.user).select_related("unit"), public_id=public_id)
    note_subject(request, patient)
    return patient


@require_http_methods(["GET", "POST"])
def patient_list(request: HttpRequest) -> HttpResponse:
    if not request.user.unit_ids():  # removed from every unit (or never added): no patient pages at all
        return render(request, "accounts/no_unit.html", status=403)
    # Searches are POSTed so names and MRNs never appear in URLs, browser history or access logs.
    query = request.POST.get("q", "").strip()[:100] if request.method == "POST" else ""
    page_number = request.POST.get("page") if request.method == "POST" else request.GET.get("page")
    patients = Patient.objects.for_user(request.user).select_related("unit")
    problem = ""
    if "\x00" in query:  # PostgreSQL text cannot hold NUL: refuse before the query, with a message
        problem = "The search cannot contain control characters. Type the name or MRN again."
        query, patients = query.replace("\x00", ""), patients.none()
    elif query:
        patients = patients.matching(query)
    page = Paginator(patients, PAGE_SIZE).get_page(page_number)
    # That a search happened and how many it found; never the terms (names and MRNs).
    record(
        Action.PATIENT_LIST,
        request=request,
        detail={"search": bool(query), "results": page.paginator.count, "page": page.number},
    )
    context = {"page": page, "query": query, "problem": problem, "multi_unit": len(request.user.unit_ids()) > 1}
    results = fragment("patients/results.html", context, request)
    if request.htmx:  # htmx swaps only 2xx answers into the page (base.html): the live search's message is a 200
        response = HttpResponse(results)
    else:
        status = 400 if problem else 200
        response = render(request, "patients/list.html", {**context, "results": results}, status=status)
    response["Vary"] = "HX-Request"
    return response


@require_GET
def patient_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    patient = _patient_for(request, public_id)
    record(Action.PATIENT_VIEW, request=request, unit=patient.unit, patient_public_id=patient.public_id)
    return render(request, "patients/detail.html", _detail_context(patient, LabResultForm(patient=patient)))


def _detail_context(patient: Patient, lab_form: LabResultForm) -> dict[str, object]:
    labs = list(patient.lab_results.all()[:LAB_HISTORY])
    workups = list(
        patient.workups.select_related("created_by").only(
            "public_id",
            "created_at",
            "status",
            "severity",
            "revises_id",
            "created_by__username",
            "created_by__first_name",
            "created_by__last_name",
            "uf_rate_ml_kg_h",
            "idwg_percent",
            "plan_made_at",
        )[:WORKUP_HISTORY]
    )
    return {
        "patient": patient,
        "workups": workups,
        "trends": trend_charts(patient, workups),
        "lab_count": len(labs),
        "latest": latest_labs(labs),
        "condition_names": codes.names("conditions", patient.conditions),
        "medication_names": codes.names("medications", patient.medications),
        "lab_form": lab_form,
    }


@require_GET
def lab_history(request: HttpRequest, public_id: str) -> HttpResponse:
    """The patient's most recent results, newest first: the patient page fetches it (htmx) when its list is opened."""
    patient = _patient_for(request, public_id)
    record(
        Action.PATIENT_VIEW,
        request=request,
        unit=patient.unit,
        patient_public_id=patient.public_id,
        detail={"section": "lab history"},
    )
    context = {"patient": patient, "labs": lab_rows(patient.lab_results.all()[:LAB_HISTORY])}
    template = "patients/lab_history.html#table" if request.htmx else "patients/lab_history.html"
    response = render(request, template, context)
    response["Vary"] = "HX-Request"
    return response


@require_http_methods(["GET", "POST"])
def patient_create(request: HttpRequest) -> HttpResponse:
    if not request.user.unit_ids():
        messages.error(request, "You are not a member of any unit yet. Ask your unit admin to add you.")
        return redirect("patients:list")
    # Bind on every POST, even an empty one: an empty submission must show what is missing, not a blank form.
    form = PatientForm(request.POST if request.method == "POST" else None, user=request.user)
    if request.method == "POST" and form.is_valid():
        patient = form.save(commit=False)
        patient.created_by = request.user
        patient.save()
        record(Action.PATIENT_CREATE, request=request, unit=patient.unit, patient_public_id=patient.public_id)
        messages.success(request, "Patient added.")
        return redirect("patients:detail", public_id=patient.public_id)
    return render(request, "patients/form.html", {"form": form, "patient": None}, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def patient_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    patient = _patient_for(request, public_id)
    form = PatientForm(request.POST if request.method == "POST" else None, instance=patient, user=request.user)
    if request.method == "POST" and form.is_valid():
        changed = sorted(form.changed_data)
        form.save()
        record(
            Action.PATIENT_EDIT,
            request=request,
            unit=patient.unit,
            patient_public_id=patient.public_id,
            detail={"fields": changed},
        )
        messages.success(request, "Patient details saved.")
        return redirect("patients:detail", public_id=patient.public_id)
    status = 400 if form.errors else 200
    return render(request, "patients/form.html", {"form": form, "patient": patient}, status=status)


@require_http_methods(["POST"])
def lab_create(request: HttpRequest, public_id: str) -> HttpResponse:
    patient = _patient_for(request, public_id)
    form = LabResultForm(request.POST, patient=patient)
    if form.is_valid():
        lab = form.save(commit=False)
        lab.entered_by = request.user
        lab.save()
        record(
            Action.LAB_CREATE,
            request=request,
            unit=patient.unit,
            patient_public_id=patient.public_id,
            detail={"analyte": lab.analyte},
        )
        messages.success(request, f"{codes.analyte_name(lab.analyte)} result saved.")
        return redirect("patients:detail", public_id=patient.public_id)
    return render(request, "patients/detail.html", _detail_context(patient, form), status=400)
