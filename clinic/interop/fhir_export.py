"""FHIR R4 export of a SIGNED care plan: a CarePlan and a DocumentReference for its PDF.

Built from the immutable SignedPlan snapshot (the plan, the case it was made from and the knowledge version), so
an export always says exactly what the nephrologist signed. Each builder validates its output with
fhir.resources' R4B models before returning it.
"""

from __future__ import annotations

import base64
from html import escape
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.documentreference import DocumentReference

from clinic.engine import load_knowledge
from clinic.interop import conf
from clinic.interop.codes import ICD10_CM, LOINC, SNOMED, code_tables
from clinic.patients.models import Patient
from clinic.workups.models import SignedPlan, Workup

DISPLAY_MAX = 250  # a long display is cut at a word, never mid-word
XHTML = "http://www.w3.org/1999/xhtml"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
FHIR_JSON = "application/fhir+json"


def _system(name: str) -> str:
    return f"{conf.system_base()}/CodeSystem/{name}"


def patient_reference(patient: Patient) -> dict[str, Any]:
    return {
        "type": "Patient",
        "identifier": {"system": patient.mrn_system or conf.mrn_system(), "value": patient.mrn},
        "display": patient.display_name,
    }


def practitioner_reference(user: Any) -> dict[str, Any]:
    return {
        "type": "Practitioner",
        "identifier": {"system": f"{conf.system_base()}/staff", "value": user.get_username()},
        "display": user.get_full_name() or user.get_username(),
    }


def _condition(cid: str, patient: Patient, codings: list[dict[str, str]], text: str, onset: Any = None) -> dict:
    condition: dict[str, Any] = {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
        "category": [{"coding": [{"system": CONDITION_CATEGORY, "code": "problem-list-item"}]}],
        "code": {"coding": codings, "text": text},
        "subject": patient_reference(patient),
    }
    if onset is not None:
        condition["onsetDateTime"] = onset.isoformat()
    return condition


def _conditions(signed: SignedPlan, patient: Patient) -> list[dict[str, Any]]:
    """The conditions the plan addresses: ESRD on haemodialysis, diabetes, and the case's contract conditions."""
    knowledge = load_knowledge()
    case_patient = (signed.case_json or {}).get("patient", {})
    conditions = [
        _condition(
            "esrd",
            patient,
            [
                {"system": SNOMED, "code": "46177005", "display": "End-stage renal disease"},
                # N18.6 exists only in ICD-10-CM (WHO ICD-10 stops at N18.5).
                {"system": ICD10_CM, "code": "N18.6", "display": "End stage renal disease"},
            ],
            "End-stage renal disease on maintenance haemodialysis",
            patient.esrd_onset,
        )
    ]
    if case_patient.get("diabetes") is True:
        conditions.append(
            _condition(
                "diabetes",
                patient,
                [{"system": SNOMED, "code": "73211009", "display": "Diabetes mellitus"}],
                "Diabetes mellitus",
            )
        )
    snomed = code_tables().condition_snomed_for_export
    for code in case_patient.get("conditions") or []:
        name = knowledge.conditions.get(code, code)
        codings = [{"system": _system("condition"), "code": code, "display": name}]
        if code in snomed:
            codings.insert(0, {"system": SNOMED, "code": snomed[code]})
        conditions.append(_condition(f"condition-{code.replace('_', '-')}", patient, codings, name))
    return conditions


def display(text: str, limit: int = DISPLAY_MAX) -> str:
    """A Coding.display no longer than `limit`, cut at the last whole word with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.") + "…"


def narrative(title: str, paragraphs: list[str], items: list[str] | None = None) -> dict[str, Any]:
    """Human-readable Narrative (status generated) from the same data as the structured elements; every text
    escaped, so the div is plain XHTML with no markup from data."""
    parts = [f"<h3>{escape(title)}</h3>"] + [f"<p>{escape(p)}</p>" for p in paragraphs if p]
    if items:
        parts.append("<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>")
    return {"status": "generated", "div": f'<div xmlns="{XHTML}">' + "".join(parts) + "</div>"}


def _activity(code: str, system: str, text: str, description: str, who: str | None = None) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "code": {"coding": [{"system": system, "code": code, "display": display(text)}], "text": text},
        "status": "not-started",
        "description": description,
    }
    if who:
        detail["extension"] = [{"url": f"{conf.system_base()}/StructureDefinition/performer-role", "valueCode": who}]
    return {"detail": detail}


def build_careplan(workup: Workup) -> dict[str, Any]:
    signed: SignedPlan = workup.signed_plan
    patient = workup.patient
    plan = signed.plan_json
    conditions = _conditions(signed, patient)
    activities = []
    for flag in plan.get("red_flags", []):
        actions = " ".join(flag.get("actions", []))
        description = f"{flag['title']} ({flag['urgency']}): {flag.get('why', '')}. {actions}".strip()
        activities.append(_activity(flag["code"], _system("red-flag"), flag["title"], description))
    for step in plan.get("steps", []):
        for action in step.get("actions", []):
            description = action["text"] + (f" Why: {action['why']}" if action.get("why") else "")
            activities.append(
                _activity(action["code"], _system("action"), action["text"], description, action.get("who"))
            )
    notes = [
        {
            "text": f"Made by Chairside with knowledge base version {signed.knowledge_version}"
            + (f" ({signed.knowledge_hash[:12]})" if signed.knowledge_hash else "")
            + ". Draft knowledge base: clinical review pending."
        }
    ]
    verdicts: dict[str, list[str]] = {}
    names = load_knowledge().drug_names
    for drug in plan.get("drugs", []):
        verdicts.setdefault(drug["verdict"], []).append(names.get(drug["drug"], drug["drug"]))
    for verdict in ("avoid", "caution"):
        if verdicts.get(verdict):
            notes.append({"text": f"Drugs to {verdict}: " + ", ".join(verdicts[verdict]) + "."})
    careplan: dict[str, Any] = {
        "resourceType": "CarePlan",
        "id": str(workup.public_id),
        "meta": {"lastUpdated": signed.signed_at.isoformat()},
        "text": narrative(
            "Muscle cramp and spasm care plan",
            [
                f"Patient: {patient.display_name} (MRN {patient.mrn}). Signed by "
                f"{signed.signed_by.get_full_name() or signed.signed_by.get_username()} on "
                f"{signed.signed_at:%Y-%m-%d %H:%M} UTC.",
                *[n["text"] for n in notes],
            ],
            [a["detail"]["description"] for a in activities],
        ),
        "extension": [
            {
                "url": f"{conf.system_base()}/StructureDefinition/knowledge-version",
                "valueString": signed.knowledge_version,
            }
        ],
        "contained": conditions,
        "identifier": [{"system": f"{conf.system_base()}/careplan", "value": str(workup.public_id)}],
        "status": "active",
        "intent": "plan",
        "category": [
            {
                "coding": [{"system": SNOMED, "code": "736690008", "display": "Dialysis care plan"}],
                "text": "Haemodialysis muscle cramp and spasm plan",
            }
        ],
        "title": "Muscle cramp and spasm care plan",
        "subject": patient_reference(patient),
        "period": {"start": signed.signed_at.isoformat()},
        "created": signed.signed_at.isoformat(),
        "author": practitioner_reference(signed.signed_by),
        "addresses": [{"reference": f"#{c['id']}", "display": c["code"]["text"]} for c in conditions],
        "activity": activities,
        "note": notes,
    }
    if signed.submitted_by is not None:
        careplan["contributor"] = [practitioner_reference(signed.submitted_by)]
    CarePlan.model_validate(careplan)
    return careplan


def build_document_reference(workup: Workup, request: HttpRequest | None = None) -> dict[str, Any]:
    """The signed plan's PDF. attachment.url points at the PDF download; the PDF itself is embedded (base64)
    when the printing module is installed."""
    signed: SignedPlan = workup.signed_plan
    attachment: dict[str, Any] = {
        "contentType": "application/pdf",
        "language": "en-GB",
        "title": "Muscle cramp and spasm care plan",
        "creation": signed.signed_at.isoformat(),
    }
    try:
        url = reverse("printing:plan-pdf", kwargs={"public_id": workup.public_id})
    except NoReverseMatch:
        url = ""
    if url:
        attachment["url"] = request.build_absolute_uri(url) if request is not None else url
    pdf = _pdf(workup)
    if pdf is not None:
        attachment["data"] = base64.b64encode(pdf).decode("ascii")
        attachment["size"] = len(pdf)
    signer = signed.signed_by.get_full_name() or signed.signed_by.get_username()
    document = {
        "resourceType": "DocumentReference",
        "id": f"{workup.public_id}-pdf",
        "text": narrative(
            "Signed care plan (PDF)",
            [
                f"Patient: {workup.patient.display_name} (MRN {workup.patient.mrn}).",
                f"Muscle cramp and spasm care plan signed by {signer} on {signed.signed_at:%Y-%m-%d %H:%M} UTC, "
                f"knowledge base {signed.knowledge_version}.",
                f"PDF: {attachment['url']}" if attachment.get("url") else "",
            ],
        ),
        "identifier": [{"system": f"{conf.system_base()}/careplan-pdf", "value": str(workup.public_id)}],
        "status": "current",
        "docStatus": "final",
        "type": {"coding": [{"system": LOINC, "code": "18776-5", "display": "Plan of care note"}]},
        "subject": patient_reference(workup.patient),
        "date": signed.signed_at.isoformat(),
        "author": [practitioner_reference(signed.signed_by)],
        "authenticator": practitioner_reference(signed.signed_by),
        "description": f"Signed care plan (knowledge base {signed.knowledge_version})",
        "content": [{"attachment": attachment}],
        "context": {"related": [{"reference": f"CarePlan/{workup.public_id}", "display": "Care plan (FHIR)"}]},
    }
    DocumentReference.model_validate(document)
    return document


def _pdf(workup: Workup) -> bytes | None:
    try:
        from clinic.printing.pdf import render_plan_pdf
    except ImportError:
        return None
    return render_plan_pdf(workup, kind="plan")
