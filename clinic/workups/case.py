"""Build the engine's contract case from a patient record and a workup's saved answers.

The wizard, the CLI and the API all end in ``clinic.engine.evaluate`` with this same JSON shape, so a plan made
in the browser and one made through the API for the same facts are identical.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from clinic.engine.contract import CASE_SCHEMA
from clinic.patients.models import Patient
from clinic.workups.steps import applicable

PATIENT_RECORD_KEYS = ("diabetes", "hepatic_impairment")


def patient_section(patient: Patient, answers: Mapping[str, Any], on: dt.date) -> dict[str, Any]:
    meds = answers.get("medications", {})
    dialysis = answers.get("dialysis", {})
    section: dict[str, Any] = {"age_years": patient.age_years(on), "sex": patient.sex}
    vintage = patient.vintage_months(on)
    if vintage is not None:
        section["dialysis_vintage_months"] = vintage
    if patient.sessions_completed is not None:
        section["sessions_completed"] = patient.sessions_completed
    if patient.residual_urine_ml_per_day is not None:
        section["residual_urine_ml_per_day"] = patient.residual_urine_ml_per_day
    # Answers given in the wizard win over the record; the record fills what the wizard did not ask.
    dry_weight = dialysis.get("dry_weight_kg", patient.dry_weight_kg)
    if dry_weight is not None:
        section["dry_weight_kg"] = float(dry_weight)
    access = dialysis.get("access") or patient.access
    if access:
        section["access"] = access
    if "medications" in answers:
        if "diabetes" in meds:
            section["diabetes"] = meds["diabetes"]
        if meds.get("hepatic_impairment"):
            section["hepatic_impairment"] = meds["hepatic_impairment"]
        section["conditions"] = list(meds.get("conditions", []))
    else:
        if patient.diabetes is not None:
            section["diabetes"] = patient.diabetes
        if patient.hepatic_impairment:
            section["hepatic_impairment"] = patient.hepatic_impairment
        section["conditions"] = list(patient.conditions)
    return section


def build_case(patient: Patient, answers: Mapping[str, Any], on: dt.date | None = None) -> dict[str, Any]:
    """The contract case for the steps answered so far (a step not answered yet is simply not assessed)."""
    on = on or timezone.localdate()
    relevant = {step.slug for step in applicable(answers)}
    case: dict[str, Any] = {"schema": CASE_SCHEMA, "patient": patient_section(patient, answers, on)}
    if "episode" in answers:
        case["episode"] = dict(answers["episode"])
    if answers.get("redflags"):
        case["findings"] = dict(answers["redflags"])
    if "vitals" in relevant and answers.get("vitals"):
        case["vitals"] = dict(answers["vitals"])
    if answers.get("labs", {}).get("labs"):
        case["labs"] = [dict(lab) for lab in answers["labs"]["labs"]]
    dialysis = {k: v for k, v in answers.get("dialysis", {}).items() if k not in {"dry_weight_kg", "access"}}
    if dialysis:
        case["dialysis"] = dialysis
    if "medications" in answers:
        meds = answers["medications"]
        case["medications"] = [*meds.get("medications", []), *meds.get("other_medications", [])]
        if meds.get("failed_trials"):  # none ticked = not recorded: later treatment lines stay closed
            case["previous_trials"] = [{"drug": d, "outcome": "no_benefit"} for d in meds["failed_trials"]]
    else:
        case["medications"] = list(patient.medications)
    return case
