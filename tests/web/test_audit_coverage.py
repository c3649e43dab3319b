"""The audit trail is complete: every route with a patient or workup in its URL leaves an audit event for the
patient when its owner's unit uses it, and a failed access (404) when another unit's staff try; patient lists and
searches (never their terms), the FHIR import pages, failed API and CDS Hooks authentication and the Django admin
are recorded too; behind proxies the address is the client's. Walks the URLconf: a route added later is covered."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from clinic.accounts.models import Unit, User
from clinic.api.models import ApiToken
from clinic.audit.models import Action, AuditEvent
from clinic.patients.models import Patient
from clinic.workups.models import Workup
from tests.cases import typical_case
from tests.web.routes import named_routes, scoped_routes, url_for

pytestmark = pytest.mark.django_db


def new_events(since: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(pk__gt=since).order_by("pk"))


def last_id() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def call(client: Client, method: str, url: str) -> Any:
    htmx = "preview" in url or "autosave" in url
    return getattr(client, method)(url, headers={"HX-Request": "true"} if htmx else None)


@pytest.fixture
def draft(scoped_objects: dict[str, Any], nurse_a: User) -> Workup:
    """An editable workup of the same patient, so the wizard's pages render rather than redirect."""
    return Workup.objects.create(patient=scoped_objects["patient"], created_by=nurse_a, answers={})


def test_every_scoped_route_is_audited_for_its_patient(
    scoped_objects: dict[str, Any], draft: Workup, nurse_a: User, unit_a: Unit, client_for: Callable[[User], Client]
) -> None:
    client = client_for(nurse_a)
    patterns = dict(named_routes())
    patient = scoped_objects["patient"]
    covered: list[tuple[str, str, str]] = []
    for workup in (scoped_objects["workup"], draft):
        for name in scoped_routes():
            url = url_for(name, patterns[name], {**scoped_objects, "workup": workup})
            for method in ("get", "post"):
                before = last_id()
                response = call(client, method, url)
                if response.status_code == 405:
                    continue
                assert response.status_code < 500, (name, method, response.status_code)
                mine = [e for e in new_events(before) if e.user_id == nurse_a.pk]
                if response.status_code == 404 and workup is draft:  # signed-only routes (FHIR export)
                    assert [e.action for e in mine] == [Action.ACCESS_DENIED], name
                    continue
                about = [e for e in mine if e.patient_public_id == patient.public_id and e.unit_id == unit_a.pk]
                assert about, (name, method, response.status_code, [(e.action, e.detail) for e in mine])
                covered.append((name, method, workup.status))
    names = {name for name, _, _ in covered}
    assert names == set(scoped_routes()), set(scoped_routes()) - names
    assert len(covered) >= len(scoped_routes()) + 10
    print(f"audit coverage: {len(names)} scoped URL patterns, {len(covered)} (route, method, workup state) requests")


def test_another_units_object_is_a_recorded_failed_access_that_names_nothing(
    scoped_objects: dict[str, Any], nurse_b: User, client_for: Callable[[User], Client]
) -> None:
    outsider = client_for(nurse_b)
    patterns = dict(named_routes())
    hidden = {str(scoped_objects["patient"].public_id), str(scoped_objects["workup"].public_id)}
    for name in scoped_routes():
        url = url_for(name, patterns[name], scoped_objects)
        for method in ("get", "post"):
            before = last_id()
            response = call(outsider, method, url)
            if response.status_code == 405:
                continue
            assert response.status_code == 404, (name, method)
            events = new_events(before)
            assert [e.action for e in events] == [Action.ACCESS_DENIED], (name, method, events)
            event = events[0]
            assert event.user_id == nurse_b.pk and event.unit_id is None and event.patient_public_id is None
            assert event.detail == {"route": name, "method": method.upper(), "status": 404}
            assert not any(h in json.dumps(event.detail) for h in hidden)


def test_a_missing_object_is_recorded_like_another_units(nurse_b: User, client_for: Callable[[User], Client]) -> None:
    client = client_for(nurse_b)
    before = last_id()
    response = client.get(reverse("patients:detail", args=["00000000-0000-4000-8000-000000000000"]))
    assert response.status_code == 404
    assert [(e.action, e.detail) for e in new_events(before)] == [
        (Action.ACCESS_DENIED, {"route": "patients:detail", "method": "GET", "status": 404})
    ]


def test_list_and_search_are_recorded_without_their_terms(
    unit_a: Unit, nurse_a: User, make_patient: Callable[..., Patient], client_for: Callable[[User], Client]
) -> None:
    make_patient(unit_a, family_name="Zebedee", mrn="MRN-SECRET-77")
    make_patient(unit_a, family_name="Other")
    client = client_for(nurse_a)
    before = last_id()
    assert client.get(reverse("patients:list")).status_code == 200
    assert client.post(reverse("patients:list"), {"q": "Zebedee MRN-SECRET"}).status_code == 200
    assert client.post(reverse("patients:list"), {"q": "nobody"}, headers={"HX-Request": "true"}).status_code == 200
    events = new_events(before)
    assert [(e.action, e.detail) for e in events] == [
        (Action.PATIENT_LIST, {"search": False, "results": 2, "page": 1}),
        (Action.PATIENT_LIST, {"search": True, "results": 1, "page": 1}),
        (Action.PATIENT_LIST, {"search": True, "results": 0, "page": 1}),
    ]
    stored = json.dumps([[e.username, e.detail] for e in events])
    assert "Zebedee" not in stored and "SECRET" not in stored and "nobody" not in stored


def test_the_fhir_import_pages_are_recorded(
    scoped_objects: dict[str, Any], nurse_a: User, client_for: Callable[[User], Client]
) -> None:
    client = client_for(nurse_a)
    patient = scoped_objects["patient"]
    before = last_id()
    assert client.get(reverse("interop:import")).status_code == 200
    assert client.get(reverse("interop:patient-import", args=[patient.public_id])).status_code == 200
    events = new_events(before)
    assert [(e.action, e.patient_public_id) for e in events] == [
        (Action.FHIR_IMPORT_VIEW, None),
        (Action.FHIR_IMPORT_VIEW, patient.public_id),
    ]


def test_failed_api_authentication_is_recorded_without_the_token(nurse_a: User) -> None:
    url = reverse("api-evaluate")
    body = json.dumps(typical_case())
    before = last_id()
    assert Client().post(url, body, content_type="application/json").status_code == 401
    bad = "not-a-real-token-123456"
    response = Client().post(url, body, content_type="application/json", headers={"Authorization": f"Bearer {bad}"})
    assert response.status_code == 401
    _, revoked = ApiToken.issue(nurse_a)
    ApiToken.objects.update(revoked_at="2020-01-01T00:00:00Z")
    response = Client().post(url, body, content_type="application/json", headers={"Authorization": f"Bearer {revoked}"})
    assert response.status_code == 401
    events = new_events(before)
    assert [(e.action, e.detail, e.user_id) for e in events] == [
        (Action.API_AUTH_FAILED, {"token": "none"}, None),
        (Action.API_AUTH_FAILED, {"token": "invalid"}, None),
        (Action.API_AUTH_FAILED, {"token": "invalid"}, None),
    ]
    assert bad not in json.dumps([e.detail for e in events]) and revoked not in json.dumps([e.detail for e in events])


def test_failed_cds_hooks_authentication_is_recorded() -> None:
    from clinic.interop.cds import PATIENT_VIEW

    url = reverse("interop:cds-service", args=[PATIENT_VIEW])
    before = last_id()
    response = Client().post(url, "{}", content_type="application/json", headers={"Authorization": "Bearer x.y.z"})
    assert response.status_code == 401
    events = new_events(before)
    assert [e.action for e in events] == [Action.CDS_AUTH_FAILED]
    assert events[0].detail["service"] == PATIENT_VIEW and events[0].detail["reason"]
    assert "x.y.z" not in json.dumps(events[0].detail)


def test_django_admin_pages_are_recorded(unit_a: Unit, make_patient: Callable[..., Patient]) -> None:
    admin = User.objects.create_superuser("root", password="x-very-long-password-1")
    patient = make_patient(unit_a)
    client = Client()
    client.force_login(admin)
    before = last_id()
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("admin:patients_patient_changelist")).status_code == 200
    assert client.get(reverse("admin:patients_patient_history", args=[patient.pk])).status_code == 200
    events = new_events(before)
    assert [e.action for e in events] == [Action.ADMIN_ACCESS] * 3
    assert [e.detail["route"] for e in events] == [
        "admin:index",
        "admin:patients_patient_changelist",
        "admin:patients_patient_history",
    ]
    assert events[2].detail["object"] == str(patient.pk) and events[0].user_id == admin.pk


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.9, 198.51.100.7", "10.0.0.1"),  # no proxy configured: the header is the client's own text
        (1, "203.0.113.9, 198.51.100.7", "198.51.100.7"),  # our proxy appended the address it saw
        (2, "203.0.113.9, 198.51.100.7", "203.0.113.9"),
        (2, "198.51.100.7", "10.0.0.1"),  # fewer entries than proxies: misconfigured, use the connection
        (1, "not-an-address", "10.0.0.1"),
        (1, "", "10.0.0.1"),
        (1, "spoofed, 2001:DB8::0:1", "2001:db8::1"),
    ],
)
def test_the_client_address_comes_from_the_trusted_proxy_setting(
    settings: Any, nurse_a: User, proxies: int, forwarded: str, expected: str
) -> None:
    from axes.helpers import get_client_ip_address

    settings.CHAIRSIDE_PROXY_COUNT = proxies
    client = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    client.force_login(nurse_a)
    before = last_id()
    client.get(reverse("patients:list"))
    [event] = new_events(before)
    assert event.client_ip == expected
    request = client.get(reverse("patients:list")).wsgi_request
    assert get_client_ip_address(request) == expected, "login throttling sees the same address"


def test_a_method_the_route_does_not_take_records_nothing(
    scoped_objects: dict[str, Any], nurse_a: User, client_for: Callable[[User], Client]
) -> None:
    client = client_for(nurse_a)
    before = last_id()
    assert client.put(reverse("patients:detail", args=[scoped_objects["patient"].public_id])).status_code == 405
    assert new_events(before) == []
