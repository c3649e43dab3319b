"""Unit-scoped access on every URL. Walks the URLconf, so a route added later without a scope check fails here."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from clinic.accounts.models import Membership, Role, Unit, User
from clinic.api.models import ApiToken
from clinic.audit.models import Action, AuditEvent
from clinic.engine import evaluate, plan_to_dict
from clinic.patients.models import Patient
from clinic.workups.models import SignedPlan, Status, Workup
from tests.cases import typical_case
from tests.web.routes import PUBLIC_ROUTES, TOKEN_ROUTES, named_routes, scoped_routes, url_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def objects(scoped_objects: dict[str, Any]) -> dict[str, Any]:
    return scoped_objects


def test_the_walker_finds_the_scoped_routes() -> None:
    routes = set(scoped_routes())
    assert {"patients:detail", "patients:edit", "workups:step", "workups:plan", "printing:plan-pdf"} <= routes


def test_other_units_staff_get_404_on_every_scoped_route(
    objects: dict[str, Any], nurse_a: User, nurse_b: User, client_for: Callable[[User], Client]
) -> None:
    owner, outsider = client_for(nurse_a), client_for(nurse_b)
    patterns = dict(named_routes())
    checked = []
    for name in scoped_routes():
        url = url_for(name, patterns[name], objects)
        for method in ("get", "post"):
            response = getattr(outsider, method)(url)
            if response.status_code == 405:
                continue
            assert response.status_code == 404, (name, method, response.status_code)
            checked.append((name, method))
        # The check is not vacuous: the owner's unit gets something other than 404 on the same URL.
        owner_status = {owner.get(url).status_code, owner.post(url).status_code}
        assert owner_status - {404, 405}, (name, owner_status)
    assert len(checked) >= len(scoped_routes())
    objects["workup"].refresh_from_db()
    assert objects["workup"].status == Status.SIGNED


def test_anonymous_gets_login_or_401_everywhere(objects: dict[str, Any]) -> None:
    anonymous = Client()
    for name, pattern in named_routes():
        if name in PUBLIC_ROUTES:
            continue
        url = url_for(name, pattern, objects)
        for method in ("get", "post"):
            response = getattr(anonymous, method)(url)
            if name in TOKEN_ROUTES:
                assert response.status_code in (401, 403, 405), (name, method, response.status_code)
            else:
                assert response.status_code == 302, (name, method, response.status_code)
                assert response["Location"].startswith(reverse("login")), name


def test_api_token_carries_its_users_scope(nurse_b: User) -> None:
    token = ApiToken.issue(nurse_b)[1]
    response = Client().post(
        reverse("api-evaluate"),
        data=json.dumps(typical_case()),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200  # stateless evaluation reads no patient data
    assert AuditEvent.objects.get(action=Action.API_EVALUATE).user == nurse_b


def test_only_a_nephrologist_of_the_unit_signs(
    unit_a: Unit,
    unit_b: Unit,
    nurse_a: User,
    make_patient: Callable[..., Patient],
    client_for: Callable[[User], Client],
) -> None:
    case = typical_case()
    workup = Workup.objects.create(
        patient=make_patient(unit_a), created_by=nurse_a, case_json=case, plan_json=plan_to_dict(evaluate(case))
    )
    other_nephro = User.objects.create_user("nephro.b", password="x-long-password-1")
    Membership.objects.create(user=other_nephro, unit=unit_b, role=Role.NEPHROLOGIST)
    admin = User.objects.create_user("admin.a", password="x-long-password-2")
    Membership.objects.create(user=admin, unit=unit_a, role=Role.UNIT_ADMIN)
    for user in (nurse_a, admin):
        client_for(user).post(reverse("workups:sign", args=[workup.public_id]), {"version": workup.version})
    assert (
        client_for(other_nephro)
        .post(reverse("workups:sign", args=[workup.public_id]), {"version": workup.version})
        .status_code
        == 404
    )
    assert not SignedPlan.objects.exists()
