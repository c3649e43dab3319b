"""CDS Hooks 2.0: discovery, patient-view, order-select, feedback and JWT client authentication.

Request bodies are built from the specification's own examples (CDS Hooks 2.0, "Calling a CDS Service" example
and the order-select hook's R4 example: same hookInstance, fhirServer, fhirAuthorization, context and
draftOrders shapes), with Chairside's clinical content substituted. Cards are checked against the spec's card
rules. The JWT is signed with a key generated here (ES384 as in the spec's example, RS384 as Epic uses).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinic.audit.models import Action, AuditEvent
from clinic.interop.cds import ORDER_SELECT, PATIENT_VIEW
from clinic.interop.models import CdsCard, CdsFeedback

pytestmark = pytest.mark.django_db

ISSUER = "https://fhir-ehr.example.com/"
BASE = "http://testserver"
EC_KEY = ec.generate_private_key(ec.SECP384R1())
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = ec.generate_private_key(ec.SECP384R1())
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def _jwk(key: Any, kid: str, alg: str) -> dict[str, Any]:
    public = (
        jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
        if alg.startswith("ES")
        else (jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True))
    )
    return public | {"kid": kid, "alg": alg, "use": "sig"}


@pytest.fixture(autouse=True)
def issuers(settings: Any) -> None:
    settings.CDS_HOOKS_ISSUERS = {
        ISSUER: {"jwks": {"keys": [_jwk(EC_KEY, "example-kid", "ES384"), _jwk(RSA_KEY, "rsa-kid", "RS384")]}}
    }


def token(path: str, *, key: Any = EC_KEY, kid: str = "example-kid", alg: str = "ES384", **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "iss": ISSUER,
        "sub": "chairside-test-client",
        "aud": BASE + path,
        "exp": now + 300,
        "iat": now,
        "jti": str(uuid.uuid4()),
    }
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid, "typ": "JWT"})


def post(path: str, body: Any, bearer: str | None = "auto") -> Any:
    headers = {}
    if bearer == "auto":
        bearer = token(path)
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    return received(Client().post(path, json.dumps(body), content_type="application/json", headers=headers))


def received(response: Any) -> Any:
    """Read the answer to the end, as the EHR does (a streamed answer counts as delivered only then)."""
    if not response.streaming:
        return response
    whole = HttpResponse(b"".join(response.streaming_content), status=response.status_code)
    for header, value in response.items():
        whole[header] = value
    whole.json = lambda: json.loads(whole.content)  # type: ignore[attr-defined]
    return whole


def _days_ago(days: int) -> str:
    return (timezone.now() - dt.timedelta(days=days)).isoformat()


def _obs(oid: str, loinc: str, value: float, unit: str, days: int = 2) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "subject": {"reference": "Patient/1288992"},
        "effectiveDateTime": _days_ago(days),
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
    }


def searchset(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def med_request(mid: str, rxcui: str, display: str, status: str = "active") -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": rxcui, "display": display}],
            "text": display,
        },
        "subject": {"reference": "Patient/1288992"},
    }


# The specification's "Calling a CDS Service" example request, with Chairside's prefetch keys filled in.
SPEC_PATIENT_VIEW = {
    "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
    "fhirServer": "http://hooks.smarthealthit.org:9080",
    "hook": "patient-view",
    "fhirAuthorization": {
        "access_token": "some-opaque-fhir-access-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "user/Patient.read user/Observation.read",
        "subject": "cds-service4",
    },
    "context": {"userId": "Practitioner/example", "patientId": "1288992", "encounterId": "89284"},
    "prefetch": {
        "patient": {
            "resourceType": "Patient",
            "gender": "male",
            "birthDate": "1925-12-23",
            "id": "1288992",
            "active": True,
        },
    },
}


def patient_view_body(**prefetch: Any) -> dict[str, Any]:
    body = copy.deepcopy(SPEC_PATIENT_VIEW)
    body["hookInstance"] = str(uuid.uuid4())
    body["prefetch"] |= {"observations": None, "conditions": None, "medications": None} | prefetch
    return body


def assert_valid_cards(response: Any) -> list[dict[str, Any]]:
    """CDS Hooks 2.0 card rules (specification, "Card Attributes")."""
    assert response.status_code == 200, response.content
    data = response.json()
    assert set(data) <= {"cards", "systemActions"} and isinstance(data["cards"], list)
    critical = 0
    for card in data["cards"]:
        uuid.UUID(card["uuid"])
        assert isinstance(card["summary"], str) and 0 < len(card["summary"]) < 140
        assert card["indicator"] in ("info", "warning", "critical")
        critical += card["indicator"] == "critical"
        assert card["source"]["label"].strip()
        if "url" in card["source"]:
            assert card["source"]["url"].startswith("http")
        if card.get("suggestions"):
            assert card["selectionBehavior"] in ("at-most-one", "any")
            for suggestion in card["suggestions"]:
                assert suggestion["label"] and uuid.UUID(suggestion["uuid"])
                for action in suggestion["actions"]:
                    assert action["type"] in ("create", "update", "delete") and action["description"]
                    if action["type"] == "delete":
                        assert action["resourceId"].count("/") == 1
        else:
            assert "selectionBehavior" not in card
        for reason in card.get("overrideReasons", []):
            assert reason["code"] and reason["system"] and reason["display"]
        for value in card.values():
            assert value not in (None, "", [], {})  # optional attributes are omitted, never empty
    assert critical <= 1
    return data["cards"]


def test_discovery_lists_services_with_prefetch_templates() -> None:
    response = Client().get("/cds-services")
    assert response.status_code == 200
    services = {s["id"]: s for s in response.json()["services"]}
    assert services[PATIENT_VIEW]["hook"] == "patient-view"
    assert services[ORDER_SELECT]["hook"] == "order-select"
    for s in services.values():
        assert s["description"] and s["title"]
        prefetch = s["prefetch"]
        assert prefetch["patient"] == "Patient/{{context.patientId}}"
        assert set(prefetch) == {"patient", "observations", "conditions", "medications"}
        for query in prefetch.values():
            assert "{{context.patientId}}" in query


def test_patient_view_cards_follow_the_rules() -> None:
    path = f"/cds-services/{PATIENT_VIEW}"
    body = patient_view_body(
        observations=searchset(
            _obs("k1", "2823-3", 7.1, "mmol/L"),  # emergency hyperkalaemia
            _obs("k0", "2823-3", 4.0, "mmol/L", days=20),  # older, ignored
            _obs("mg", "19123-9", 0.9, "mg/dL"),
            _obs("ck", "2157-6", 900, "U/L"),  # cannot convert: ignored, never guessed
        ),
        conditions=searchset(
            {
                "resourceType": "Condition",
                "id": "c1",
                "subject": {"reference": "Patient/1288992"},
                "clinicalStatus": {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
                },
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]},
            },
        ),
        medications=searchset(
            med_request("bac-1", "1292", "baclofen"),
            med_request("lis-1", "314076", "lisinopril 10 MG Oral Tablet"),
        ),
    )
    cards = assert_valid_cards(post(path, body))
    by_topic = {c["source"]["topic"]["code"]: c for c in cards}
    assert by_topic["redflag.hyperkalaemia"]["indicator"] == "critical"
    baclofen = by_topic["drug.baclofen"]
    assert baclofen["indicator"] == "warning"  # only one critical card per call
    (suggestion,) = baclofen["suggestions"]
    assert suggestion["actions"] == [
        {
            "type": "delete",
            "description": "Remove MedicationRequest/bac-1 (Baclofen)",
            "resourceId": "MedicationRequest/bac-1",
        }
    ]
    assert baclofen["selectionBehavior"] == "at-most-one"
    assert "lisinopril" in baclofen["detail"]  # unmapped medicines are listed, not dropped
    assert len(by_topic) == len(cards)  # one card per subject
    # de-duplicated per patient: the same call again shows nothing new
    body["hookInstance"] = str(uuid.uuid4())
    assert assert_valid_cards(post(path, body)) == []
    event = AuditEvent.objects.filter(action=Action.CDS_CALL).first()
    assert event.detail["suppressed"] and "1288992" not in json.dumps(event.detail)


def test_patient_view_without_prefetch_is_412() -> None:
    body = copy.deepcopy(SPEC_PATIENT_VIEW)  # the spec's example: only one prefetch key
    response = post(f"/cds-services/{PATIENT_VIEW}", body)
    assert response.status_code == 412
    assert "observations" in response.json()["error"]


def test_patient_view_with_nothing_to_say_returns_empty_cards() -> None:
    response = post(f"/cds-services/{PATIENT_VIEW}", patient_view_body())
    assert assert_valid_cards(response) == []


def order_select_body(*orders: dict[str, Any], selections: list[str] | None = None) -> dict[str, Any]:
    # Shape of the order-select hook's R4 example (context.userId/patientId/encounterId/selections/draftOrders).
    return {
        "hook": "order-select",
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": "http://hooks.smarthealthit.org:9080",
        "context": {
            "userId": "PractitionerRole/123",
            "patientId": "1288992",
            "encounterId": "89284",
            "selections": selections or [f"MedicationRequest/{o['id']}" for o in orders],
            "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": o} for o in orders]},
        },
        "prefetch": {
            "patient": SPEC_PATIENT_VIEW["prefetch"]["patient"],
            "observations": None,
            "conditions": None,
            "medications": None,
        },
    }


def test_order_select_draft_baclofen_gives_one_critical_card() -> None:
    draft = med_request("smart-MedicationRequest-103", "1292", "baclofen 10 MG Oral Tablet", status="draft")
    quinine = med_request("q-1", "9071", "quinine", status="draft")
    path = f"/cds-services/{ORDER_SELECT}"
    for _ in range(2):  # never de-duplicated: every order is a new decision
        cards = assert_valid_cards(post(path, order_select_body(draft)))
        (card,) = cards
        assert card["indicator"] == "critical"
        assert card["summary"].startswith("Baclofen: avoid in haemodialysis")
        assert card["suggestions"][0]["actions"][0]["resourceId"] == "MedicationRequest/smart-MedicationRequest-103"
        assert card["overrideReasons"][0]["display"]
    # two hard-stop drugs in one call: still only one critical card
    cards = assert_valid_cards(post(path, order_select_body(draft, quinine)))
    assert [c["indicator"] for c in cards] == ["critical", "warning"]


def test_order_select_unselected_order_gives_no_card_and_an_unmapped_one_says_not_checked() -> None:
    draft = med_request(
        "a", "617993", "Amoxicillin 120 MG/ML / clavulanate potassium 8.58 MG/ML Oral Suspension", status="draft"
    )
    (card,) = assert_valid_cards(post(f"/cds-services/{ORDER_SELECT}", order_select_body(draft)))
    assert card["indicator"] == "info" and card["summary"].startswith("Not checked by Chairside: Amoxicillin")
    assert "did not check it" in card["detail"]
    baclofen = med_request("b", "1292", "baclofen", status="draft")
    body = order_select_body(draft, baclofen, selections=["MedicationRequest/b"])
    (card,) = assert_valid_cards(post(f"/cds-services/{ORDER_SELECT}", body))
    assert card["summary"].startswith("Baclofen")
    body = order_select_body(baclofen, selections=["MedicationRequest/a"])
    assert assert_valid_cards(post(f"/cds-services/{ORDER_SELECT}", body)) == []


@pytest.mark.parametrize(
    ("make_token", "message"),
    [
        (lambda path: None, "A signed JWT is required"),
        (lambda path: "not-a-jwt", "cannot be read"),
        (lambda path: token(path, iss="https://untrusted.example.org/"), "not a trusted"),
        (lambda path: token(path, exp=int(time.time()) - 3600, iat=int(time.time()) - 4000), "expired"),
        (lambda path: token(path, key=OTHER_KEY), "not valid"),
        (lambda path: token(path, aud=BASE + "/cds-services/other"), "audience"),
        (lambda path: token(path, kid="unknown"), "key id"),
        (lambda path: token(path, jti=None), "not valid"),
        (
            lambda path: jwt.encode(
                {"iss": ISSUER, "aud": BASE + path, "exp": int(time.time()) + 60, "iat": int(time.time()), "jti": "x"},
                "secret-secret-secret-secret-32b!",
                algorithm="HS256",
                headers={"kid": "example-kid"},
            ),
            "algorithm",
        ),
    ],
)
def test_jwt_is_required_and_checked(make_token: Callable[[str], str | None], message: str) -> None:
    path = f"/cds-services/{PATIENT_VIEW}"
    response = post(path, patient_view_body(), bearer=make_token(path) or "")
    assert response.status_code == 401
    assert message in response.json()["error"]
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert CdsCard.objects.count() == 0


def test_jwt_rs384_accepted_and_replay_refused() -> None:
    path = f"/cds-services/{PATIENT_VIEW}"
    bearer = token(path, key=RSA_KEY, kid="rsa-kid", alg="RS384")
    assert post(path, patient_view_body(), bearer=bearer).status_code == 200
    replay = post(path, patient_view_body(), bearer=bearer)
    assert replay.status_code == 401 and "replay" in replay.json()["error"]


def test_feedback_records_accepted_and_overridden() -> None:
    draft = med_request("smart-MedicationRequest-103", "1292", "baclofen", status="draft")
    (card,) = assert_valid_cards(post(f"/cds-services/{ORDER_SELECT}", order_select_body(draft)))
    path = f"/cds-services/{ORDER_SELECT}/feedback"
    # Shapes of the specification's feedback examples ("suggestion accepted", "overridden with overrideReason").
    accepted = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}],
                "outcomeTimestamp": "2021-12-11T10:05:31Z",
            }
        ]
    }
    assert post(path, accepted).status_code == 200
    reason = card["overrideReasons"][1]
    overridden = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "overridden",
                "overrideReason": {
                    "reason": {"code": reason["code"], "system": reason["system"]},
                    "userComment": "A comment entered by the clinician.",
                },
                "outcomeTimestamp": "2020-12-11T00:00:00Z",
            }
        ]
    }
    assert post(path, overridden).status_code == 200
    rows = {f.outcome: f for f in CdsFeedback.objects.all()}
    assert rows["accepted"].accepted_suggestions == [card["suggestions"][0]["uuid"]]
    assert rows["accepted"].card.card_key == "drug.baclofen"
    assert rows["overridden"].override_code == "palliative"
    event = AuditEvent.objects.filter(action=Action.CDS_FEEDBACK).first()
    assert event.detail["override_codes"] == ["palliative"] and "comment" not in json.dumps(event.detail)
    bad = {"feedback": [{"card": card["uuid"], "outcome": "accepted", "outcomeTimestamp": "2021-12-11T10:05:31Z"}]}
    assert post(path, bad).status_code == 400
    assert post(path, overridden, bearer=None).status_code == 401


def test_feedback_for_many_cards_reads_them_in_one_query() -> None:
    draft = med_request("smart-MedicationRequest-103", "1292", "baclofen", status="draft")
    (card,) = assert_valid_cards(post(f"/cds-services/{ORDER_SELECT}", order_select_body(draft)))
    item = {"card": card["uuid"].upper(), "outcome": "overridden", "outcomeTimestamp": "2021-12-11T10:05:31Z"}
    with CaptureQueriesContext(connection) as ctx:
        response = post(f"/cds-services/{ORDER_SELECT}/feedback", {"feedback": [item] * 13})
    assert response.status_code == 200 and response.json() == {"received": 13}
    card_reads = [q for q in ctx.captured_queries if '"interop_cdscard"' in q["sql"] and "SELECT" in q["sql"]]
    assert len(card_reads) == 1
    linked = CdsFeedback.objects.exclude(card=None)
    assert linked.count() == 13 and {f.card.card_key for f in linked} == {"drug.baclofen"}
