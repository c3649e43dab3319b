"""Query counts stay flat as data grows (10 vs 1,000 patients; 1 vs 30 workups and many labs)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.accounts.models import Unit, User
from clinic.patients.models import LabResult, Patient
from clinic.workups.models import Workup

pytestmark = pytest.mark.django_db


def bulk_patients(unit: Unit, count: int, start: int = 0) -> None:
    Patient.objects.bulk_create(
        Patient(
            unit=unit,
            mrn=f"Q{start + i}",
            family_name=f"Name{start + i:05d}",
            given_name="Q",
            date_of_birth=dt.date(1960, 1, 1),
        )
        for i in range(count)
    )


def queries(client: Client, url: str) -> int:
    client.get(url)  # warm up: the first request of a session also writes the session's activity stamp
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def grow_patient(patient: Patient, user: User, workups: int, labs: int) -> Workup:
    now = timezone.now()
    LabResult.objects.bulk_create(
        LabResult(
            patient=patient,
            analyte=("magnesium", "potassium", "calcium_ionised")[i % 3],
            value=1,
            unit="mmol/L",
            value_si=1.0 if i % 3 != 1 else 4.5,
            taken_at=now - dt.timedelta(days=i),
        )
        for i in range(labs)
    )
    Workup.objects.bulk_create(
        Workup(patient=patient, created_by=user, severity=i % 10, uf_rate_ml_kg_h=10 + i % 5, idwg_percent=3.5)
        for i in range(workups)
    )
    return Workup.objects.filter(patient=patient).first()


def test_patient_list_is_flat(nurse_a: User, unit_a: Unit, client_for: Callable[[User], Client]) -> None:
    client = client_for(nurse_a)
    bulk_patients(unit_a, 10)
    small = queries(client, reverse("patients:list"))
    # The session; the user with their memberships; the count; the page; the audit event (the chain head and the
    # insert: one statement on PostgreSQL, two on SQLite).
    assert small <= 6, small
    bulk_patients(unit_a, 990, start=10)
    assert queries(client, reverse("patients:list")) == small
    client.post(reverse("patients:list"), {"q": "Name00", "page": "2"})
    with CaptureQueriesContext(connection) as ctx:
        client.post(reverse("patients:list"), {"q": "Name00", "page": "2"})
    # A search is the user's activity: it also writes the session's idle stamp, with one UPDATE statement (no
    # transaction or savepoint of its own: clinic/accounts/sessions.py).
    sql = [q["sql"] for q in ctx.captured_queries]
    assert len(sql) == small + 1 and sum('UPDATE "django_session"' in q for q in sql) == 1, sql


def test_patient_page_and_wizard_are_flat(
    nurse_a: User, unit_a: Unit, make_patient: Callable[..., Patient], client_for: Callable[[User], Client]
) -> None:
    client = client_for(nurse_a)
    patient = make_patient(unit_a)
    workup = grow_patient(patient, nurse_a, workups=1, labs=3)
    urls: list[Any] = [
        reverse("patients:detail", args=[patient.public_id]),
        reverse("patients:lab-history", args=[patient.public_id]),
        reverse("workups:step", kwargs={"public_id": workup.public_id, "slug": "labs"}),
        reverse("workups:step", kwargs={"public_id": workup.public_id, "slug": "dialysis"}),
        reverse("workups:step", kwargs={"public_id": workup.public_id, "slug": "review"}),
    ]
    small = [queries(client, url) for url in urls]
    # Absolute budgets as well (the session, read from the database: 1; the signed-in user with their memberships:
    # 1; the object; its rows; the audit event: the chain head and the insert, 2 on SQLite and one statement on
    # PostgreSQL), so a query added back shows up here even when it does not grow with the data.
    assert all(n <= b for n, b in zip(small, [8, 6, 7, 7, 6], strict=True)), small
    grow_patient(patient, nurse_a, workups=30, labs=300)
    bulk_patients(unit_a, 500)
    assert [queries(client, url) for url in urls] == small


def make_planned(patient: Patient, user: User, count: int) -> list[Workup]:
    """Workups with a care plan made by the engine (as 'Make care plan' stores it)."""
    from clinic.engine import evaluate, plan_to_dict
    from tests.cases import typical_case

    case = typical_case()
    plan = plan_to_dict(evaluate(case))
    return Workup.objects.bulk_create(
        Workup(patient=patient, created_by=user, answers={}, case_json=case, plan_json=plan, severity=7)
        for _ in range(count)
    )


def test_care_plan_page_is_flat(
    nurse_a: User,
    nephro_a: User,
    unit_a: Unit,
    make_patient: Callable[..., Patient],
    client_for: Callable[[User], Client],
) -> None:
    from clinic.workups.models import SignedPlan, Status

    client = client_for(nurse_a)
    patient = make_patient(unit_a)
    draft, signed = make_planned(patient, nurse_a, 2)
    Workup.objects.filter(pk=signed.pk).update(status=Status.SIGNED)
    SignedPlan.objects.create(
        workup=signed, case_json=signed.case_json, plan_json=signed.plan_json, knowledge_version="x", signed_by=nephro_a
    )
    urls = [reverse("workups:plan", args=[w.public_id]) for w in (draft, signed)]
    small = [queries(client, url) for url in urls]
    # session, user with memberships, workup with snapshot, acknowledgements, audit (2 on SQLite, 1 on PostgreSQL)
    assert all(n <= 6 for n in small), small
    make_planned(patient, nurse_a, 1000)
    grow_patient(patient, nurse_a, workups=10, labs=300)
    bulk_patients(unit_a, 1000)
    assert [queries(client, url) for url in urls] == small


def test_api_evaluate_is_flat(nurse_a: User, unit_a: Unit, make_patient: Callable[..., Patient]) -> None:
    from clinic.api.models import ApiToken
    from tests.cases import typical_case

    _, token = ApiToken.issue(nurse_a)
    client = Client(headers={"Authorization": f"Bearer {token}"})
    body = typical_case()

    def api_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.post(reverse("api-evaluate"), body, content_type="application/json")
        assert response.status_code == 200
        return len(ctx.captured_queries)

    api_queries()  # the first call also stamps the token's last use
    small = api_queries()
    bulk_patients(unit_a, 1000)
    make_planned(make_patient(unit_a), nurse_a, 1000)
    for _ in range(3):
        ApiToken.issue(nurse_a)
    assert api_queries() == small


def test_worklist_is_flat(
    nurse_a: User,
    nephro_a: User,
    unit_a: Unit,
    make_patient: Callable[..., Patient],
    client_for: Callable[[User], Client],
) -> None:
    from clinic.workups.models import Status

    def submit(count: int) -> None:
        patient = make_patient(unit_a)
        Workup.objects.filter(pk__in=[w.pk for w in make_planned(patient, nurse_a, count)]).update(
            status=Status.AWAITING_REVIEW, submitted_by=nurse_a, submitted_at=timezone.now()
        )

    submit(1)
    url = reverse("workups:worklist")
    nephro, nurse = client_for(nephro_a), client_for(nurse_a)
    small = [queries(nephro, url), queries(nurse, url)]
    # session, user with memberships; awaiting, returned, drafts; the navigation count (nephrologist); audit: 2
    assert small[0] <= 8 and small[1] <= 7, small
    submit(60)
    make_planned(make_patient(unit_a), nurse_a, 40)  # the nurse's drafts
    bulk_patients(unit_a, 500)
    assert [queries(nephro, url), queries(nurse, url)] == small


def test_autosave_is_one_short_transaction(
    nurse_a: User, unit_a: Unit, make_patient: Callable[..., Patient], client_for: Callable[[User], Client]
) -> None:
    """An htmx autosave of valid answers reads the workup once: scoped to the user's units and locked in one
    statement on PostgreSQL (SELECT ... FOR NO KEY UPDATE; SQLite, without row locks, takes its write lock first
    with an UPDATE within the scope, then reads), then saves it in the same transaction, with no savepoint of its
    own inside. The session's activity stamp is one UPDATE."""
    client = client_for(nurse_a)
    workup = Workup.objects.create(patient=make_patient(unit_a), created_by=nurse_a)
    url = reverse("workups:autosave", kwargs={"public_id": workup.public_id, "slug": "vitals"})
    vitals = {"sbp_pre_mmhg": "148", "sbp_nadir_mmhg": "112", "heart_rate_bpm": "78", "temperature_c": "36.7"}

    def save(version: int) -> list[str]:
        with CaptureQueriesContext(connection) as ctx:
            response = client.post(url, {**vitals, "step_version": version}, headers={"HX-Request": "true"})
        assert response.status_code == 200 and "Saved" in response.content.decode()
        return [q["sql"] for q in ctx.captured_queries]

    save(0)
    sql = save(1)
    # The test runs inside a transaction, so the save's own transaction shows as one savepoint here (BEGIN and
    # COMMIT in production): there is no second, nested one.
    assert sum(q.startswith("SAVEPOINT") for q in sql) == 1, sql
    locks = [q for q in sql if '"workups_workup"' in q and ("FOR NO KEY UPDATE" in q or q.startswith("UPDATE"))]
    reads = [q for q in sql if q.startswith("SELECT") and 'FROM "workups_workup"' in q]
    if connection.vendor == "postgresql":
        assert len(locks) == 2 and "FOR NO KEY UPDATE" in locks[0], locks  # lock-and-read, then the save
        assert len(reads) == 1 and '"patients_patient"."unit_id" IN' in reads[0], reads  # scoped, the only read
    # session, user with memberships; savepoint, the scoped lock-and-read (on SQLite: a scoped UPDATE, then the
    # read), save, release; the audit event (1 on PostgreSQL, 2 on SQLite); the session's stamp. These answers
    # raise no emergency, so the acknowledgements (read for the live emergency card) are not queried.
    assert not [q for q in sql if "acknowledgement" in q], sql
    assert len(sql) <= (8 if connection.vendor == "postgresql" else 11), sql
    workup.refresh_from_db()
    assert workup.answers["vitals"]["sbp_pre_mmhg"] == 148
