"""FHIR export of a signed care plan: CarePlan and DocumentReference validate with fhir.resources (R4B)."""

from __future__ import annotations

import base64
import importlib.util
import json
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.documentreference import DocumentReference

from clinic.accounts.models import Unit, User
from clinic.audit.models import Action, AuditEvent
from clinic.engine import evaluate, load_knowledge, plan_to_dict
from clinic.patients.models import Patient
from clinic.workups.models import SignedPlan, Status, Workup
from tests.cases import typical_case

pytestmark = pytest.mark.django_db


def _workup(patient: Patient, nurse: User, nephro: User | None) -> Workup:
    case = typical_case()
    plan = plan_to_dict(evaluate(case))
    workup = Workup.objects.create(
        patient=patient,
        created_by=nurse,
        case_json=case,
        plan_json=plan,
        status=Status.SIGNED if nephro else Status.AWAITING_REVIEW,
        submitted_by=nurse,
    )
    if nephro is not None:
        SignedPlan.objects.create(
            workup=workup,
            case_json=case,
            plan_json=plan,
            knowledge_version=plan["knowledge_version"],
            knowledge_hash=load_knowledge().content_hash,
            signed_by=nephro,
            submitted_by=nurse,
        )
    return workup


def test_careplan_export_validates_and_carries_the_signed_plan(
    unit_a: Unit,
    nurse_a: User,
    nephro_a: User,
    make_patient: Callable[..., Patient],
    client_for: Callable[[User], Client],
) -> None:
    nephro_a.first_name, nephro_a.last_name = "Nora", "Nephro"
    nephro_a.save()
    patient = make_patient(unit_a, conditions=["heart_block"])
    workup = _workup(patient, nurse_a, nephro_a)
    url = reverse("interop:careplan", kwargs={"public_id": workup.public_id})
    response = client_for(nurse_a).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/fhir+json"
    data = json.loads(response.content)
    careplan = CarePlan.model_validate(data)
    assert careplan.status == "active" and careplan.intent == "plan"
    assert careplan.author.display == "Nora Nephro"
    assert data["subject"]["identifier"]["value"] == patient.mrn
    plan = workup.signed_plan.plan_json
    action_codes = {a["code"] for s in plan["steps"] for a in s["actions"]}
    texts = {a["text"] for s in plan["steps"] for a in s["actions"]}
    got = {act["detail"]["code"]["coding"][0]["code"] for act in data["activity"]}
    assert action_codes <= got
    assert texts <= {act["detail"]["code"]["text"] for act in data["activity"]}
    addressed = {a["reference"][1:] for a in data["addresses"]}
    contained = {c["id"]: c for c in data["contained"]}
    assert addressed == set(contained)
    assert {"esrd", "diabetes", "condition-heart-block"} <= addressed
    assert contained["condition-heart-block"]["code"]["coding"][0]["code"] == "233916004"
    assert data["extension"][0]["valueString"] == plan["knowledge_version"]
    assert plan["knowledge_version"] in data["note"][0]["text"]
    assert any("Baclofen" in n["text"] for n in data["note"] if n["text"].startswith("Drugs to avoid"))
    download = client_for(nurse_a).get(url + "?download=1")
    assert download["Content-Disposition"].startswith("attachment;")
    assert AuditEvent.objects.filter(action=Action.FHIR_EXPORT, patient_public_id=patient.public_id).count() == 2


def test_document_reference_validates_with_pdf(
    unit_a: Unit,
    nurse_a: User,
    nephro_a: User,
    make_patient: Callable[..., Patient],
    client_for: Callable[[User], Client],
) -> None:
    workup = _workup(make_patient(unit_a), nurse_a, nephro_a)
    url = reverse("interop:documentreference", kwargs={"public_id": workup.public_id})
    data = json.loads(client_for(nurse_a).get(url).content)
    document = DocumentReference.model_validate(data)
    attachment = data["content"][0]["attachment"]
    assert document.status == "current" and attachment["contentType"] == "application/pdf"
    if importlib.util.find_spec("clinic.printing") is None:  # the PDF renderer is optional for the export
        assert "data" not in attachment
    else:
        assert attachment["url"].endswith(f"/workups/{workup.public_id}/plan.pdf")
        assert base64.b64decode(attachment["data"]).startswith(b"%PDF")
    assert data["context"]["related"][0]["reference"] == f"CarePlan/{workup.public_id}"


def test_only_signed_plans_export_and_other_units_get_404(
    unit_a: Unit,
    nurse_a: User,
    nephro_a: User,
    nurse_b: User,
    make_patient: Callable[..., Patient],
    client_for: Callable[[User], Client],
) -> None:
    unsigned = _workup(make_patient(unit_a), nurse_a, None)
    signed = _workup(make_patient(unit_a), nurse_a, nephro_a)
    for name in ("interop:careplan", "interop:documentreference"):
        assert client_for(nurse_a).get(reverse(name, kwargs={"public_id": unsigned.public_id})).status_code == 404
        assert client_for(nurse_b).get(reverse(name, kwargs={"public_id": signed.public_id})).status_code == 404
    page = client_for(nurse_a).get(reverse("patients:detail", kwargs={"public_id": signed.patient.public_id}))
    assert reverse("interop:careplan", kwargs={"public_id": signed.public_id}) in page.content.decode()
