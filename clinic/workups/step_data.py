"""What a wizard step shows and keeps besides its answers: the step's form (the draft, the saved answers or a
prefill from the record and the last workup), the recent lab results on file, the lab results a workup records
in the patient's record, the live UF-rate / weight-gain preview of the dialysis step, and the rest of what a
step's page shows (step_extras)."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from django.utils import timezone

from clinic.accounts.models import User
from clinic.engine import CaseError, evaluate
from clinic.patients.models import LabResult, LabSource, Patient
from clinic.workups import presenters, readable, relevance
from clinic.workups.case import build_case
from clinic.workups.forms import DialysisForm, StepForm
from clinic.workups.models import Workup
from clinic.workups.steps import BY_SLUG

logger = logging.getLogger(__name__)


# The prescription carries over from the last workup; this session's weights and counts do not.
SESSION_SPECIFIC = {
    "pre_weight_kg",
    "previous_post_weight_kg",
    "uf_volume_ml",
    "missed_or_shortened_sessions_last_month",
}


def prefill(workup: Workup, slug: str) -> dict[str, Any]:
    """Answers to offer for a step never saved in this workup: from the patient record and the last workup."""
    patient = workup.patient
    if slug == "medications":
        return {
            "medications": list(patient.medications),
            "conditions": list(patient.conditions),
            "diabetes": patient.diabetes,
            "hepatic_impairment": patient.hepatic_impairment,
        }
    if slug == "dialysis":
        base: dict[str, Any] = {"access": patient.access}
        last = (
            Workup.objects.filter(patient=patient, created_at__lt=workup.created_at)
            .exclude(pk=workup.pk)
            .order_by("-created_at")
            .values_list("answers", flat=True)
            .first()
        )
        if last and last.get("dialysis"):
            base.update({k: v for k, v in last["dialysis"].items() if k not in SESSION_SPECIFIC})
        base.pop("dry_weight_kg", None)  # one weight on the form: the target, from the current dry weight
        if patient.dry_weight_kg is not None:
            base["target_weight_kg"] = float(patient.dry_weight_kg)
        return base
    return {}


def _form_kwargs(workup: Workup) -> dict[str, Any]:
    patient = workup.patient
    record = {"dry_weight_kg": float(patient.dry_weight_kg)} if patient.dry_weight_kg is not None else {}
    return {"unit_system": patient.effective_lab_units(), "record": record}


def bind_flat(workup: Workup, slug: str, values: dict[str, Any]) -> StepForm:
    """The step's form bound to answers per form field (as a merge of two saves makes them), to validate them."""
    return BY_SLUG[slug].form_class.bound_to(values, **_form_kwargs(workup))


def base_answers(workup: Workup, slug: str, form: StepForm) -> dict[str, Any]:
    """The answers a step page's form was filled from, which its saves merge against: the saved ones, or else
    the suggestion from the record and the last workup the form shows (when it is a valid step), or else none
    (the form shows unfinished typing)."""
    if slug in workup.answers:
        return dict(workup.answers[slug])
    if form.is_bound or slug in workup.drafts or not form.initial:
        return {}
    suggested = BY_SLUG[slug].form_class.bound_to(form.initial, **_form_kwargs(workup))
    return suggested.to_answers() if suggested.is_valid() else {}


def step_form(workup: Workup, slug: str, data: Any = None) -> StepForm:
    """The step's form: bound to posted ``data``, or unbound showing the draft, the saved answers or what the
    patient record and the last workup suggest, in that order."""
    form_class = BY_SLUG[slug].form_class
    kwargs = _form_kwargs(workup)
    if data is not None:
        return form_class(data, **kwargs)
    if slug in workup.drafts:
        initial = {key: values if len(values) != 1 else values[0] for key, values in workup.drafts[slug].items()}
    elif slug in workup.answers:
        initial = form_class.initial_from(workup.answers[slug])
    else:
        initial = form_class.initial_from(prefill(workup, slug))
    return form_class(initial=initial, **kwargs)


def recent_labs(patient: Patient, workup: Workup | None = None) -> dict[str, Any]:
    """The latest result on file per analyte (among the 60 most recent), offered for re-use on the labs step.
    A result retracted at its source (entered in error) is never offered, nor one this workup itself recorded."""
    results = patient.lab_results.filter(retracted_at=None)
    if workup is not None:
        results = results.exclude(source=LabSource.WORKUP, source_ref__startswith=_lab_ref(workup, ""))
    latest: dict[str, Any] = {}
    for lab in results[:60]:
        latest.setdefault(lab.analyte, lab)
    return latest


def _lab_ref(workup: Workup, analyte: str) -> str:
    return f"workup:{workup.public_id}:{analyte}"


def record_workup_labs(workup: Workup, labs: list[dict[str, Any]], user: User) -> None:
    """Results typed into a workup go to the patient's lab record, with the workup as their source (one row per
    analyte, updated when the step is saved again, removed when the value is cleared). A value re-used unchanged
    from the record is not recorded twice."""
    on_file = recent_labs(workup.patient, workup)
    kept: set[str] = set()
    for lab in labs:
        if lab.get("when") == "post_dialysis" and any(
            other["analyte"] == lab["analyte"] and other.get("when") != "post_dialysis" for other in labs
        ):
            continue  # the record holds one result per analyte and workup (no sampling time): the pre-HD one
        previous = on_file.get(lab["analyte"])
        if previous is not None and float(previous.value) == lab["value"] and previous.unit == lab["unit"]:
            continue
        ref = _lab_ref(workup, lab["analyte"])
        kept.add(ref)
        existing = LabResult.objects.filter(patient=workup.patient, source=LabSource.WORKUP, source_ref=ref).first()
        result = existing or LabResult(patient=workup.patient, source=LabSource.WORKUP, source_ref=ref)
        result.analyte, result.unit = lab["analyte"], lab["unit"]
        result.value = Decimal(str(lab["value"]))
        result.taken_at, result.entered_by = workup.created_at, user
        result.save()
    LabResult.objects.filter(
        patient=workup.patient, source=LabSource.WORKUP, source_ref__startswith=_lab_ref(workup, "")
    ).exclude(source_ref__in=kept).delete()


def derived_preview(workup: Workup, data: Any, initial: dict[str, Any]) -> dict[str, float | str | None]:
    """UF rate and weight gain for the dialysis step as typed (``data``) or as shown (``initial``), with the
    other steps' saved answers; empty when the case cannot be evaluated yet."""
    form = DialysisForm(data) if data is not None else DialysisForm.bound_to(initial)
    answers = {**workup.answers, "dialysis": form.to_answers() if form.is_valid() else {}}
    try:
        plan = evaluate(build_case(workup.patient, answers, workup.created_at.date()))
    except CaseError as exc:
        logger.warning("derived preview: case invalid for workup %s: %s", workup.public_id, exc.errors)
        return {}
    d = plan.derived
    return {
        "uf_rate_ml_kg_h": d.uf_rate_ml_kg_h,
        "uf_rate_band": d.uf_rate_band,
        "idwg_percent": d.idwg_percent,
        "idwg_band": d.idwg_band,
    }


def step_extras(workup: Workup, slug: str, form: StepForm) -> dict[str, Any]:
    """What the step's page shows besides its form: medicine chips, the red-flag questions that apply, the recent
    labs on file, the live UF-rate and weight preview, the review summary."""
    extras: dict[str, Any] = {}
    if slug == "medications":
        extras["medicine_chips"] = presenters.medicine_chips(form)
    if slug == "redflags":
        shown = relevance.shown_findings(workup.answers, workup.patient, workup.created_at.date())
        extras["redflags"] = presenters.redflag_layout(form, shown)
    if slug == "labs":
        recent = recent_labs(workup.patient, workup)
        extras["lab_rows"] = presenters.lab_rows(form, recent, workup.patient.unit.lab_fresh_days, timezone.now())
        extras["lab_fresh_days"] = workup.patient.unit.lab_fresh_days
        extras["lab_rows_fresh"] = sum(1 for row in extras["lab_rows"] if row[5] is not None and not row[6])
    if slug == "dialysis":
        derived = derived_preview(workup, form.data if form.is_bound else None, form.initial)
        extras["derived"] = presenters.derived_values(derived)
        extras["weight_note"] = presenters.weight_note(workup.patient, form["target_weight_kg"].value())
    if slug == "review":
        extras["summary"] = readable.answer_summary(workup.answers, workup.patient.effective_lab_units())
    return extras
