"""A rich ward for page-wide checks (visible text, axe-core, touch targets, screenshots), built through the real
views with Django's test client: labs on file in both unit systems, medicines with brand names (Lioresal) and free
text, missing inputs, emergency red flags, and a workup in every state (draft with a plan, returned, awaiting
review, signed). ``pages()`` lists every page a person can open, with who opens it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic.accounts.models import LabUnitSystem, Membership, Role, Unit, User
from clinic.patients.models import LabResult, Patient
from clinic.workups.decisions import decision_items
from clinic.workups.models import Acknowledgement, Status, Workup
from tests.web.browser import make_walter

PASSWORD = "pages-walk-password"

# Results on file, entered in the unit each lab reported them in: (analyte, value, unit, days ago). Several
# months of potassium and magnesium so the trend charts have something to draw.
LABS_ON_FILE = (
    ("potassium", "4.8", "mmol/L", 3),
    ("potassium", "5.6", "mEq/L", 40),
    ("potassium", "3.9", "mmol/L", 100),
    ("magnesium", "1.9", "mg/dL", 3),
    ("magnesium", "0.62", "mmol/L", 60),
    ("calcium_ionised", "1.10", "mmol/L", 3),
    ("sodium", "140", "mmol/L", 3),
    ("phosphate", "4.9", "mg/dL", 3),
    ("albumin", "3.8", "g/dL", 3),
    ("aluminium", "25", "µg/L", 3),
    ("glucose", "110", "mg/dL", 400),
)

EPISODE = {
    "timing": "after_dialysis",
    "hours_after_dialysis": "2",
    "sites": ["neck", "legs"],
    "kind": "spasm",
    "severity_0_10": "7",
    "episodes_last_4_weeks": "6",
    "duration_weeks": "3",
}
# Two emergencies (chest pain, carpopedal spasm), a No, everything else not assessed.
REDFLAGS = {"chest_pain": "yes", "carpopedal_spasm": "yes", "torticollis": "no", "fever": "no"}
VITALS = {"sbp_pre_mmhg": "150", "sbp_nadir_mmhg": "118", "heart_rate_bpm": "84"}
# Entered in both unit systems on one screen; dialysate temperature and more left out (missing inputs).
LABS = {
    "magnesium__value": "1.2",
    "magnesium__unit": "mg/dL",
    "potassium__value": "3.0",
    "potassium__unit": "mmol/L",
    "calcium_ionised__value": "1.05",
    "calcium_ionised__unit": "mmol/L",
    "sodium__value": "138",
    "sodium__unit": "mmol/L",
    "phosphate__value": "5.1",
    "phosphate__unit": "mg/dL",
    "aluminium__value": "60",
    "aluminium__unit": "µg/L",
}
DIALYSIS = {
    "pre_weight_kg": "73.5",
    "previous_post_weight_kg": "70.4",
    "target_weight_kg": "70",
    "session_minutes": "240",
    "sessions_per_week": "3",
    "dialysate_sodium_mmol_l": "138",
    "sodium_profiling": "no",
    "dialysate_potassium_mmol_l": "2",
    "dialysate_calcium_mmol_l": "1.25",
    "buffer": "bicarbonate",
    "blood_flow_ml_min": "350",
}
MEDICATIONS = {
    "medications": ["sevelamer", "baclofen", "statin"],
    "other_medications": "amlodipine 5 mg, Lioresal, Zzyzzomab",
    "conditions": ["heart_block"],
    "diabetes": "yes",
    "hepatic_impairment": "none",
    "failed_trials": ["vitamin_c"],
}


@dataclass
class Ward:
    unit: Unit
    nurse: User
    nephro: User
    admin: User
    patient: Patient
    draft: Workup  # made through the wizard, plan made, not submitted
    returned: Workup  # returned to the nurse with a comment
    awaiting: Workup  # submitted, on the nephrologist's worklist
    signed: Workup
    emergency: Workup  # chest pain answered Yes, not acknowledged yet: the step stops on it

    def client(self, user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client


def _user(username: str, unit: Unit, role: str, first: str, last: str) -> User:
    user = User.objects.create_user(username, password=PASSWORD, first_name=first, last_name=last)
    Membership.objects.create(user=user, unit=unit, role=role)
    return user


def _post(client: Client, url: str, data: dict[str, Any], expect: int = 302) -> Any:
    response = client.post(url, data)
    form = response.context.get("form") if response.context else None
    assert response.status_code == expect, (url, response.status_code, getattr(form, "errors", None))
    return response


def _step(client: Client, workup: Workup, slug: str, data: dict[str, Any]) -> None:
    workup.refresh_from_db()
    url = reverse("workups:step", args=[workup.public_id, slug])
    _post(client, url, {**data, "step_version": workup.step_version(slug)})


def _clone(workup: Workup) -> Workup:
    """The same answers and plan in another workup, with the same emergency acknowledgements."""
    clone = Workup.objects.create(
        patient=workup.patient,
        created_by=workup.created_by,
        updated_by=workup.created_by,
        answers=workup.answers,
        case_json=workup.case_json,
        plan_json=workup.plan_json,
        plan_made_at=timezone.now(),
    )
    for ack in workup.acknowledgements.all():
        Acknowledgement.objects.create(workup=clone, code=ack.code, reason=ack.reason, user=ack.user)
    return clone


def _submit(client: Client, workup: Workup) -> None:
    workup.refresh_from_db()
    _post(client, reverse("workups:submit", args=[workup.public_id]), {"version": workup.version})


def decisions_all_accepted(workup: Workup) -> dict[str, str]:
    workup.refresh_from_db()
    data = {"version": str(workup.version), "comment": "Review in 8 weeks."}
    for item in decision_items(workup.plan_json):
        data[item.field] = "accepted"
    return data


def build_ward(lab_units: str = LabUnitSystem.SI) -> Ward:
    unit = Unit.objects.create(
        code="north", name="Unit A (North)", lab_unit_system=lab_units, phone="020 7946 0321", hours="Mon–Sat 7–21"
    )
    nurse = _user("nurse.a", unit, Role.NURSE, "Amara", "Okafor")
    nephro = _user("nephro.a", unit, Role.NEPHROLOGIST, "Lukas", "Brandt")
    admin = _user("admin.a", unit, Role.UNIT_ADMIN, "Ines", "Moreau")
    patient = make_walter(
        unit,
        ["sevelamer", "amlodipine", "baclofen"],
        diabetes=True,
        residual_urine_ml_per_day=200,
        conditions=["heart_block"],
    )
    now = timezone.now()
    nurse_clinic = Client()
    nurse_clinic.force_login(nurse)
    for analyte, value, lab_unit, days in LABS_ON_FILE:
        lab = reverse("patients:lab-create", args=[patient.public_id])
        taken = (now - dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")
        _post(nurse_clinic, lab, {"analyte": analyte, "value": value, "unit": lab_unit, "taken_at": taken})
    assert LabResult.objects.filter(patient=patient).count() == len(LABS_ON_FILE)

    nurse_client, nephro_client = Client(), Client()
    nurse_client.force_login(nurse)
    nephro_client.force_login(nephro)
    _post(nurse_client, reverse("workups:start", args=[patient.public_id]), {})
    draft = Workup.objects.get(patient=patient)
    _step(nurse_client, draft, "episode", EPISODE)
    _step(nurse_client, draft, "redflags", REDFLAGS)
    review = reverse("workups:step", args=[draft.public_id, "review"])
    for flag in nurse_client.get(review).context["emergencies"]:
        ack = {"code": flag.code, "reason": "escalated_now", "step": "vitals"}
        _post(nurse_client, reverse("workups:acknowledge", args=[draft.public_id]), ack)
    _step(nurse_client, draft, "vitals", VITALS)
    _step(nurse_client, draft, "labs", LABS)
    _step(nurse_client, draft, "dialysis", DIALYSIS)
    _step(nurse_client, draft, "medications", MEDICATIONS)
    for flag in nurse_client.get(review).context["emergencies"]:  # baclofen on dialysis: a hard stop
        ack = {"code": flag.code, "reason": "already_managed", "step": "review"}
        _post(nurse_client, reverse("workups:acknowledge", args=[draft.public_id]), ack)
    draft.refresh_from_db()
    _post(nurse_client, reverse("workups:make-plan", args=[draft.public_id]), {"version": draft.version})
    draft.refresh_from_db()
    assert draft.plan_json and draft.plan_json["red_flags"] and draft.plan_json["missing"], draft.plan_json

    returned, awaiting, signed = _clone(draft), _clone(draft), _clone(draft)
    for workup in (returned, awaiting, signed):
        _submit(nurse_client, workup)
    returned.refresh_from_db()
    comment = {"version": returned.version, "comment": "Please re-weigh after the session."}
    _post(nephro_client, reverse("workups:return", args=[returned.public_id]), comment)
    _post(nephro_client, reverse("workups:sign", args=[signed.public_id]), decisions_all_accepted(signed))
    emergency = Workup.objects.create(
        patient=patient,
        created_by=nurse,
        updated_by=nurse,
        answers={"episode": {"timing": "during_dialysis", "sites": ["neck"]}, "redflags": {"chest_pain": True}},
    )
    for workup in (draft, returned, awaiting, signed):
        workup.refresh_from_db()
    assert (returned.status, awaiting.status, signed.status) == (Status.DRAFT, Status.AWAITING_REVIEW, Status.SIGNED)
    return Ward(unit, nurse, nephro, admin, patient, draft, returned, awaiting, signed, emergency)


@dataclass(frozen=True)
class Page:
    name: str
    user: str  # "nurse" | "nephro" | "admin"
    url: str
    method: str = "get"
    data: tuple[tuple[str, Any], ...] = ()
    fragment: bool = False  # an htmx fragment, not a whole page


def pages(ward: Ward) -> list[Page]:
    """Every page of the walk (whole pages first, then the htmx fragments), as the person who would open it."""
    p, d = ward.patient.public_id, ward.draft.public_id
    step = "workups:step"
    result = [
        Page("patient-list", "nurse", reverse("patients:list")),
        Page("patient-search", "nurse", reverse("patients:list") + "?q=Kowal"),
        Page("patient-new", "nurse", reverse("patients:create")),
        Page("patient", "nurse", reverse("patients:detail", args=[p])),
        Page("patient-edit", "nurse", reverse("patients:edit", args=[p])),
        Page("lab-history", "nurse", reverse("patients:lab-history", args=[p])),
        *(
            Page(f"step-{slug}", "nurse", reverse(step, args=[d, slug]))
            for slug in ("episode", "redflags", "vitals", "labs", "dialysis", "medications", "review")
        ),
        Page("step-emergency-stop", "nurse", reverse(step, args=[ward.emergency.public_id, "vitals"])),
        Page("start-workup-offer", "nurse", reverse("workups:start", args=[p]), "post"),
        Page("plan-nurse", "nurse", reverse("workups:plan", args=[d])),
        Page("plan-nephrologist", "nephro", reverse("workups:plan", args=[d])),
        Page("plan-returned-nurse", "nurse", reverse("workups:plan", args=[ward.returned.public_id])),
        Page("plan-signed-nurse", "nurse", reverse("workups:plan", args=[ward.signed.public_id])),
        Page("plan-signed-nephrologist", "nephro", reverse("workups:plan", args=[ward.signed.public_id])),
        Page("worklist-nurse", "nurse", reverse("workups:worklist")),
        Page("worklist-nephrologist", "nephro", reverse("workups:worklist")),
        Page("review", "nephro", reverse("workups:review", args=[ward.awaiting.public_id])),
        Page(
            "review-confirm",
            "nephro",
            reverse("workups:review", args=[ward.awaiting.public_id]),
            "post",
            tuple(decisions_all_accepted(ward.awaiting).items()),
        ),
        Page("print-plan", "nurse", reverse("printing:plan-print", args=[ward.signed.public_id]) + "?kind=plan"),
        Page("print-handout", "nurse", reverse("printing:plan-print", args=[ward.signed.public_id]) + "?kind=handout"),
        Page("print-plan-draft", "nurse", reverse("printing:plan-print", args=[d]) + "?kind=plan"),
        Page("print-handout-draft", "nurse", reverse("printing:plan-print", args=[d]) + "?kind=handout"),
        Page("start-resume-offer", "nurse", reverse("workups:start", args=[p]), "post"),  # a draft exists
        Page("step-awaiting-review", "nurse", reverse(step, args=[ward.awaiting.public_id, "dialysis"])),
        Page(
            "step-awaiting-review-confirm",
            "nurse",
            reverse(step, args=[ward.awaiting.public_id, "vitals"]),
            "post",
            (*VITALS.items(), ("step_version", ward.awaiting.step_version("vitals"))),
        ),
        Page("import-unit", "nurse", reverse("interop:import")),
        Page("import-patient", "nurse", reverse("interop:patient-import", args=[p])),
        Page("audit", "admin", reverse("audit")),
        Page("staff", "admin", reverse("staff")),
    ]
    fragments = [
        Page(
            "fragment-lab-preview",
            "nurse",
            reverse("workups:lab-preview", args=[d]),
            "post",
            (("analyte", "magnesium"), ("magnesium__value", "1.2"), ("magnesium__unit", "mg/dL")),
            fragment=True,
        ),
        Page(
            "fragment-dialysis-preview",
            "nurse",
            reverse("workups:dialysis-preview", args=[d]),
            "post",
            tuple(DIALYSIS.items()),
            fragment=True,
        ),
        Page(
            "fragment-medicine-search",
            "nurse",
            reverse("workups:medicine-search", args=[d]) + "?medicine_query=Liores",
            fragment=True,
        ),
        Page(
            "fragment-autosave-redflags",
            "nurse",
            reverse("workups:autosave", args=[d, "redflags"]),
            "post",
            (*REDFLAGS.items(), ("seizure", "yes"), ("step_version", ward.draft.step_version("redflags"))),
            fragment=True,
        ),
    ]
    return result + fragments
