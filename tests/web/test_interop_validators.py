"""Independent validators for every resource the FHIR export writes: HL7's official R4 JSON schema (vendored in
tests/fixtures/fhir-r4-schema, checked with `jsonschema`) and the R4 invariants of the elements Chairside writes,
evaluated with `fhirpathpy`. Neither is Chairside's own model code, so a resource fhir.resources accepts but the
specification does not is caught here. Each validator is also shown to refuse a broken resource."""

from __future__ import annotations

import copy
import functools
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fhirpathpy import evaluate as fhirpath
from fhirpathpy.models import models
from jsonschema import Draft6Validator

from clinic.accounts.models import Unit, User
from clinic.engine import evaluate, load_knowledge, plan_to_dict
from clinic.interop.fhir_export import DISPLAY_MAX, build_careplan, build_document_reference, display
from clinic.patients.models import Patient
from clinic.workups.models import SignedPlan, Status, Workup
from tests.cases import baseline_case, typical_case
from tests.web.cases import worst_case

pytestmark = pytest.mark.django_db

SCHEMA = Path(__file__).resolve().parents[1] / "fixtures" / "fhir-r4-schema" / "fhir.schema.json"
XHTML = "{http://www.w3.org/1999/xhtml}"
CONDITION_VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"

# R4 invariants (key, context, rule) of the resources and data types the export writes, as the specification
# states them in FHIRPath; each rule must hold for every node the context selects. dom-3 and ref-1 are written
# for what the export does (local '#id' references); ele-1 (every element has a value or children) and the
# Narrative's XHTML rules are checked on the JSON directly below, as fhirpathpy lacks hasValue() and
# htmlChecks().
INVARIANTS: dict[str, list[tuple[str, str, str]]] = {
    "DomainResource": [
        ("dom-2", "%resource", "contained.contained.empty()"),
        ("dom-3", "%resource.contained", "('#' + id) in %resource.descendants().reference"),
        ("dom-4", "%resource", "contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()"),
        ("dom-5", "%resource", "contained.meta.security.empty()"),
        ("dom-6", "%resource", "text.`div`.exists()"),
        ("ext-1", "%resource.descendants().extension", "extension.exists() != value.exists()"),
        (
            "ref-1",
            "%resource.descendants().ofType(Reference).where(reference.startsWith('#'))",
            "reference.substring(1) in %resource.contained.id",
        ),
        ("per-1", "%resource.descendants().period", "start.empty() or end.empty() or (start <= end)"),
    ],
    "CarePlan": [("cpl-3", "%resource.activity", "detail.empty() or reference.empty()")],
    "DocumentReference": [("att-1", "%resource.content.attachment", "data.empty() or contentType.exists()")],
    "Condition": [
        (
            "con-3",
            "%resource",
            f"clinicalStatus.exists() or verificationStatus.coding.where(system = '{CONDITION_VER}' and "
            "code = 'entered-in-error').exists()",
        ),
        (
            "con-4",
            "%resource",
            "abatement.empty() or clinicalStatus.coding.where(code = 'inactive' or code = 'resolved' or "
            "code = 'remission').exists()",
        ),
        (
            "con-5",
            "%resource",
            f"verificationStatus.coding.where(system = '{CONDITION_VER}' and code = 'entered-in-error').empty() or "
            "clinicalStatus.empty()",
        ),
    ],
}


@functools.cache
def _validator(rtype: str) -> Draft6Validator:
    definitions = json.loads(SCHEMA.read_text(encoding="utf-8"))["definitions"]
    assert rtype in definitions, f"{rtype} is not an R4 resource"
    return Draft6Validator({"$ref": f"#/definitions/{rtype}", "definitions": definitions})


def schema_errors(resource: dict[str, Any]) -> list[str]:
    """Errors of the resource against its definition in HL7's R4 JSON schema. Contained resources are checked
    against their own definitions (the schema's ResourceList is a oneOf over all 146 types, discriminated by
    resourceType: the same check, without trying 145 wrong branches)."""
    contained = resource.get("contained", [])
    outer = {k: v for k, v in resource.items() if k != "contained"}
    errors = [
        f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
        for e in _validator(resource["resourceType"]).iter_errors(outer)
    ]
    if not isinstance(contained, list):
        return [*errors, "contained: not an array"]
    for n, inner in enumerate(contained):
        errors += [f"contained/{n}/{e}" for e in schema_errors(inner)]
    return errors


def _ele_1(value: Any, path: str = "") -> Iterator[str]:
    if value in ({}, [], "", None):
        yield f"ele-1 {path or '/'}: an element with neither a value nor children"
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from _ele_1(child, f"{path}/{key}")
    elif isinstance(value, list):
        for n, child in enumerate(value):
            yield from _ele_1(child, f"{path}/{n}")


def _narrative(resource: dict[str, Any]) -> Iterator[str]:
    div = (resource.get("text") or {}).get("div")
    if div is None:
        return
    try:
        root = ET.fromstring(div)
    except ET.ParseError as exc:
        yield f"txt-1: the narrative is not well-formed XHTML ({exc})"
        return
    if root.tag != f"{XHTML}div":
        yield "txt-1: the narrative's root is not an XHTML div"
    for node in root.iter():
        if node.tag.removeprefix(XHTML) in ("script", "style", "form", "input", "iframe", "object", "embed"):
            yield f"txt-1: <{node.tag}> is not allowed in a narrative"
        if any(attr.startswith("on") for attr in node.attrib):
            yield "txt-1: event attributes are not allowed in a narrative"
    if not "".join(root.itertext()).strip():
        yield "txt-2: the narrative has no text"


def invariant_errors(resource: dict[str, Any], root: bool = True) -> list[str]:
    """R4 invariants that fail, on the resource and on each resource it contains."""
    errors = [*_ele_1(resource), *_narrative(resource)] if root else []
    kinds = ["DomainResource", resource["resourceType"]] if root else [resource["resourceType"]]
    context = {"resource": resource, "rootResource": resource}
    for kind in kinds:
        for key, where, rule in INVARIANTS.get(kind, []):
            result = fhirpath(resource, f"{where}.all({rule})", context, models["r4"])
            if result != [True]:
                errors.append(f"{key} ({resource['resourceType']}): {where}.all({rule}) is {result}")
    for contained in resource.get("contained", []):
        errors += invariant_errors(contained, root=False)
    return errors


def _signed(patient: Patient, case: dict[str, Any], nurse: User, nephro: User) -> Workup:
    plan = plan_to_dict(evaluate(case))
    workup = Workup.objects.create(
        patient=patient, created_by=nurse, case_json=case, plan_json=plan, status=Status.SIGNED, submitted_by=nurse
    )
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


CASES: list[Callable[[], dict[str, Any]]] = [typical_case, baseline_case, worst_case]


@pytest.fixture
def exported(unit_a: Unit, nurse_a: User, nephro_a: User, make_patient: Callable[..., Patient]) -> list[dict[str, Any]]:
    """Every kind of resource the export writes, for plans with and without red flags, conditions and drugs."""
    resources = []
    conditions = [["heart_block", "arrhythmia"], [], ["heart_failure", "glaucoma", "recent_myocardial_infarction"]]
    for make_case, patient_conditions in zip(CASES, conditions, strict=True):
        patient = make_patient(unit_a, conditions=patient_conditions, esrd_onset=None)
        case = make_case()
        case.setdefault("patient", {})["conditions"] = patient_conditions
        workup = _signed(patient, case, nurse_a, nephro_a)
        resources += [build_careplan(workup), build_document_reference(workup)]
    return resources


def test_every_exported_resource_passes_the_official_r4_schema_and_invariants(exported: list[dict[str, Any]]) -> None:
    checked = 0
    for resource in exported:
        assert schema_errors(resource) == [], resource["resourceType"]
        assert invariant_errors(resource) == [], resource["resourceType"]
        checked += 1 + len(resource.get("contained", []))
    assert checked >= 16  # 3 CarePlans with their contained Conditions, 3 DocumentReferences


def test_the_validators_refuse_what_the_specification_refuses(exported: list[dict[str, Any]]) -> None:
    careplan = next(r for r in exported if r["resourceType"] == "CarePlan")
    wrong_status = copy.deepcopy(careplan) | {"status": "has  two spaces"}  # not a FHIR code
    assert any(e.startswith("status:") for e in schema_errors(wrong_status))
    bad_contained = copy.deepcopy(careplan)
    bad_contained["contained"][0]["onsetDateTime"] = "yesterday"
    assert any(e.startswith("contained/0/onsetDateTime") for e in schema_errors(bad_contained))
    unknown = copy.deepcopy(careplan) | {"colour": "blue"}
    assert schema_errors(unknown)
    both = copy.deepcopy(careplan)
    both["activity"][0]["reference"] = {"reference": "ServiceRequest/1"}
    assert any(e.startswith("cpl-3") for e in invariant_errors(both))
    dangling = copy.deepcopy(careplan)
    dangling["addresses"].append({"reference": "#nowhere"})
    assert any(e.startswith("ref-1") for e in invariant_errors(dangling))
    empty = copy.deepcopy(careplan) | {"note": [{}]}
    assert any(e.startswith("ele-1") for e in invariant_errors(empty))
    scripted = copy.deepcopy(careplan)
    scripted["text"]["div"] = '<div xmlns="http://www.w3.org/1999/xhtml"><script>x()</script>plan</div>'
    assert any(e.startswith("txt-1") for e in invariant_errors(scripted))
    document = next(r for r in exported if r["resourceType"] == "DocumentReference")
    no_type = copy.deepcopy(document)
    no_type["content"][0]["attachment"] = {"data": "JVBERi0="}
    assert any(e.startswith("att-1") for e in invariant_errors(no_type))


def test_narratives_say_what_the_structured_data_says(exported: list[dict[str, Any]]) -> None:
    careplan, document = exported[0], exported[1]
    text = "".join(ET.fromstring(careplan["text"]["div"]).itertext())
    for activity in careplan["activity"]:
        assert " ".join(activity["detail"]["description"].split()) in " ".join(text.split())
    assert careplan["subject"]["identifier"]["value"] in text
    assert "signed by" in "".join(ET.fromstring(document["text"]["div"]).itertext())


def test_esrd_is_coded_under_icd_10_cm(exported: list[dict[str, Any]]) -> None:
    esrd = next(c for c in exported[0]["contained"] if c["id"] == "esrd")
    assert {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "N18.6", "display": "End stage renal disease"} in (
        esrd["code"]["coding"]
    )


def test_a_long_display_is_cut_at_a_word_not_mid_word() -> None:
    words = ("haemodialysis " * 40).strip()
    cut = display(words)
    assert len(cut) <= DISPLAY_MAX and cut.endswith("…")
    assert cut[:-1].split(" ")[-1] == "haemodialysis"
    assert display("short text") == "short text"
