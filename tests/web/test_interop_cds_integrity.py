"""CDS Hooks integrity (issue "every drug is checked"): medicationReference orders, unmapped drugs, per-user and
delivered-only repeat suppression, draft orders without ids, feedback rules, JWT lifetime and sub, wrongly typed
bodies, markdown injection through EHR text and the JSON 413. Each test fails on the services as they were."""

from __future__ import annotations

import copy
import json
import time
import uuid
from typing import Any

import pytest
from django.test import Client

from clinic.interop.cds import ORDER_SELECT, PATIENT_VIEW
from tests.web.test_interop_cds_hooks import (  # noqa: F401  (issuers: the trusted-issuer fixture)
    assert_valid_cards,
    issuers,
    med_request,
    order_select_body,
    patient_view_body,
    post,
    received,
    searchset,
    token,
)

pytestmark = pytest.mark.django_db

ORDER = f"/cds-services/{ORDER_SELECT}"
VIEW = f"/cds-services/{PATIENT_VIEW}"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
BACLOFEN = {"coding": [{"system": RXNORM, "code": "1292", "display": "baclofen"}]}


def _by_reference(oid: str, ref: str, **extra: Any) -> dict[str, Any]:
    order = med_request(oid, "0", "x", status="draft")
    del order["medicationCodeableConcept"]
    return order | {"medicationReference": {"reference": ref}} | extra


def test_order_by_medication_reference_is_checked_like_a_coded_one() -> None:
    contained = _by_reference("c1", "#med", contained=[{"resourceType": "Medication", "id": "med", "code": BACLOFEN}])
    (card,) = assert_valid_cards(post(ORDER, order_select_body(contained)))
    assert card["indicator"] == "critical" and card["summary"].startswith("Baclofen")
    sent = _by_reference("c2", "Medication/m7")
    body = order_select_body(sent)
    body["context"]["draftOrders"]["entry"].append(
        {"resource": {"resourceType": "Medication", "id": "m7", "code": BACLOFEN}}
    )
    (card,) = assert_valid_cards(post(ORDER, body))
    assert card["indicator"] == "critical"
    # an active order by reference, with the Medication in the prefetch Bundle (patient-view)
    active = _by_reference("a1", "Medication/m8", status="active")
    medication = {"resourceType": "Medication", "id": "m8", "code": BACLOFEN}
    cards = assert_valid_cards(post(VIEW, patient_view_body(medications=searchset(active, medication))))
    assert [c["summary"][:8] for c in cards] == ["Baclofen"]


def test_repeat_suppression_is_per_user() -> None:
    def view(user: str) -> list[dict[str, Any]]:
        body = patient_view_body(medications=searchset(med_request("m1", "1292", "baclofen")))
        body["context"]["userId"] = user
        return assert_valid_cards(post(VIEW, body))

    assert len(view("Practitioner/a")) == 1
    assert len(view("Practitioner/b")) == 1  # another clinician has not seen it
    assert view("Practitioner/a") == []  # this one has


def test_a_card_counts_as_shown_only_once_the_ehr_received_it() -> None:
    body = patient_view_body(medications=searchset(med_request("m1", "1292", "baclofen")))
    lost = Client().post(
        VIEW, json.dumps(body), content_type="application/json", headers={"Authorization": f"Bearer {token(VIEW)}"}
    )
    assert lost.status_code == 200  # the EHR hung up before reading the answer
    again = copy.deepcopy(body) | {"hookInstance": str(uuid.uuid4())}
    assert len(assert_valid_cards(post(VIEW, again))) == 1  # so the card is shown, not held back
    third = copy.deepcopy(body) | {"hookInstance": str(uuid.uuid4())}
    assert assert_valid_cards(post(VIEW, third)) == []


def test_a_draft_order_without_an_id_never_yields_an_empty_reference() -> None:
    draft = med_request("x", "1292", "baclofen", status="draft")
    del draft["id"]
    response = post(ORDER, order_select_body(draft, selections=["MedicationRequest/other"]))
    (card,) = assert_valid_cards(response)
    assert card["indicator"] == "critical"
    assert '"MedicationRequest/"' not in response.content.decode()
    assert "suggestions" not in card


def _card() -> dict[str, Any]:
    (card,) = assert_valid_cards(post(ORDER, order_select_body(med_request("b1", "1292", "baclofen", status="draft"))))
    return card


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"overrideReason": {}}, "overrideReason must be an object with a reason or userComment"),
        ({"overrideReason": {"reason": {}}}, "must be one of the card's overrideReasons"),
        ({"overrideReason": {"reason": {"system": "urn:x", "code": "palliative"}}}, "must be one of the card's"),
        ({"card": str(uuid.uuid4())}, "returned no card"),
        ({"outcomeTimestamp": 5}, "outcomeTimestamp must be"),
        ({"overrideReason": {"userComment": ["x"]}}, "userComment must be a string"),
    ],
)
def test_feedback_follows_the_feedback_rules(change: dict[str, Any], message: str) -> None:
    card = _card()
    item = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-01T10:00:00Z"} | change
    response = post(f"{ORDER}/feedback", {"feedback": [item]})
    assert response.status_code == 400 and message in response.json()["error"]


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"exp": int(time.time()) + 3600}, "at most 5 minutes"),
        ({"sub": None}, "not valid"),
        ({"exp": 253402300800 + 86400}, "at most 5 minutes"),  # year 10000
        ({"exp": 253402300800 + 100, "iat": 253402300800}, "not valid"),  # issued in year 10000
    ],
)
def test_jwt_lifetime_and_sub_follow_cds_hooks_2(claims: dict[str, Any], message: str) -> None:
    body = patient_view_body()
    response = post(VIEW, body, bearer=token(VIEW, **claims))
    assert response.status_code == 401 and message in response.json()["error"]


WRONG = [1, "x", [], True, {"resourceType": 5}]


@pytest.mark.parametrize("value", WRONG)
def test_wrongly_typed_prefetch_is_a_400_with_the_reason(value: Any) -> None:
    body = patient_view_body()
    body["prefetch"]["observations"] = value
    response = post(VIEW, body)
    assert response.status_code == 400 and "prefetch.observations" in response.json()["error"]
    body["prefetch"] = value
    assert post(VIEW, body).status_code == 400


@pytest.mark.parametrize("value", [*WRONG, {}, None, {"coding": 5}])
@pytest.mark.parametrize("element", ["code", "valueQuantity", "effectiveDateTime", "effectivePeriod", "status"])
def test_wrongly_typed_resources_inside_the_prefetch_are_never_a_500(element: str, value: Any) -> None:
    obs = {
        "resourceType": "Observation",
        "id": "k",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}]},
        "effectiveDateTime": "2026-11-01T07:00:00Z",
        "valueQuantity": {"value": 7.1, "unit": "mmol/L"},
    }
    obs[element] = value
    order = med_request("m", "1292", "baclofen") | {"medicationCodeableConcept": value}
    body = patient_view_body(observations=searchset(obs), medications=searchset(order))
    assert post(VIEW, body).status_code in (200, 400)
    draft = order | {"status": "draft"}
    assert post(ORDER, order_select_body(draft)).status_code in (200, 400)


@pytest.mark.parametrize("selections", [[{}], "MedicationRequest/x", [1]])
def test_wrongly_typed_selections_are_a_400(selections: Any) -> None:
    body = order_select_body(med_request("b1", "1292", "baclofen", status="draft"))
    body["context"]["selections"] = selections
    response = post(ORDER, body)
    assert response.status_code == 400 and "selections" in response.json()["error"]


def test_ehr_free_text_is_escaped_in_card_markdown() -> None:
    name = "Evil ![pixel](https://attacker.example/p.png) [click me](https://attacker.example) <b>x</b> *bold*"
    draft = med_request("e1", "999999999", name, status="draft")
    (card,) = assert_valid_cards(post(ORDER, order_select_body(draft)))
    detail = card["detail"]
    assert "](https://attacker" not in detail and "<b>" not in detail and "*bold*" not in detail
    assert r"\!\[pixel\]\(https\:" in detail
    active = med_request("e2", "999999999", name)
    cards = assert_valid_cards(post(VIEW, patient_view_body(medications=searchset(active))))
    assert all("](https://attacker" not in c["detail"] for c in cards)


def test_a_body_over_the_limit_gets_the_json_413(settings: Any) -> None:
    settings.CDS_HOOKS_MAX_BODY_BYTES = 5_000
    body = patient_view_body()
    body["padding"] = "x" * 6_000
    response = post(VIEW, body)
    assert response.status_code == 413 and "larger than" in response.json()["error"]
    settings.CDS_HOOKS_MAX_BODY_BYTES = 10_000_000
    body["padding"] = "x" * 3_000_000  # over Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB)
    settings.CDS_HOOKS_MAX_BODY_BYTES = 2_000_000
    response = post(VIEW, body)
    assert response.status_code == 413 and response["Content-Type"] == "application/json"
    assert received(response).json()["error"].startswith("The request body is larger than")


def test_a_brand_name_draft_is_checked_like_its_generic() -> None:
    draft = med_request("l1", "105329", "Lioresal 10 mg tablets", status="draft")
    (card,) = assert_valid_cards(post(ORDER, order_select_body(draft)))
    assert card["indicator"] == "critical" and card["summary"].startswith("Baclofen")
