"""The documented PostgreSQL deployment with two roles (docs/operations.md): an owner runs `migrate` and
`grant_runtime`, and the application runs as a role that owns nothing. The runtime role can do everything the
application does (sign in, audit, save, sign, revise) but cannot change or remove audit events, TRUNCATE, disable,
drop or replace a trigger, change a signed plan or a signed workup, or create tables. Needs the throwaway cluster
(superuser) that `.ci/with-postgres` starts."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

# Run as the runtime role: the application's own paths through a real request cycle and the services.
APP_SCRIPT = r"""
import datetime as dt
from django.test import Client
from clinic.accounts.models import Membership, Role, Unit, User
from clinic.audit.models import AuditEvent
from clinic.patients.models import Patient
from clinic.workups import lifecycle, services
from tests.web.conftest import create_signed_workup

unit = Unit.objects.create(code="north", name="North")
nurse = User.objects.create_user("nurse.r", password="correct-horse-battery-staple")
nephro = User.objects.create_user("nephro.r", password="correct-horse-battery-staple")
Membership.objects.create(user=nurse, unit=unit, role=Role.NURSE)
Membership.objects.create(user=nephro, unit=unit, role=Role.NEPHROLOGIST)
patient = Patient.objects.create(unit=unit, mrn="R-1", family_name="Role", given_name="Test",
                                 date_of_birth=dt.date(1960, 1, 1))
client = Client()
assert client.post("/login/", {"username": "nurse.r", "password": "wrong"}).status_code == 200
assert client.post("/login/", {"username": "nurse.r", "password": "correct-horse-battery-staple"}).status_code == 302
assert client.get(f"/patients/{patient.public_id}/").status_code == 200
assert client.post("/patients/", {"q": "Role"}).status_code == 200
assert client.post(f"/patients/{patient.public_id}/workups/new/").status_code == 302
signed = create_signed_workup(patient, nurse, nephro)
lifecycle.revise(signed, nephro)
assert client.post("/logout/").status_code == 302
print("events", AuditEvent.objects.count(), "signed", signed.public_id)
"""


def _run(user: str, database: str, *args: str) -> str:
    s = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{user}@{s['HOST']}:{s['PORT']}/{database}?pool=false",
        "CHAIRSIDE_SSL_REDIRECT": "0",
        "CHAIRSIDE_SECURE_COOKIES": "0",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", *args], env=env, cwd=settings.BASE_DIR, capture_output=True, text=True
    )
    assert done.returncode == 0, f"{args[0]} as {user}: {done.stdout}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture
def deployment() -> Iterator[dict[str, str]]:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL roles.")
    import psycopg

    s = connection.settings_dict
    suffix = os.getpid()
    names = {"owner": f"cs_owner_{suffix}", "app": f"cs_app_{suffix}", "db": f"cs_roles_{suffix}"}
    admin = psycopg.connect(host=s["HOST"], port=s["PORT"], user=s["USER"], dbname=s["NAME"], autocommit=True)
    with admin:
        admin.execute(f"CREATE ROLE {names['owner']} LOGIN")
        admin.execute(f"CREATE ROLE {names['app']} LOGIN")
        admin.execute(f"CREATE DATABASE {names['db']} OWNER {names['owner']}")
        try:
            yield names
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {names['db']} WITH (FORCE)")
            admin.execute(f"DROP ROLE IF EXISTS {names['app']}")
            admin.execute(f"DROP ROLE IF EXISTS {names['owner']}")


def _connect(deployment: dict[str, str], role: str) -> Any:
    import psycopg

    s = connection.settings_dict
    return psycopg.connect(host=s["HOST"], port=s["PORT"], user=role, dbname=deployment["db"], autocommit=True)


REFUSED = [
    ("UPDATE audit_auditevent SET username = 'x'", "permission denied"),
    ("DELETE FROM audit_auditevent", "permission denied"),
    ("TRUNCATE audit_auditevent", "permission denied"),
    ("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_append_only", "must be owner"),
    ("ALTER TABLE audit_auditevent DISABLE TRIGGER ALL", "must be owner"),
    ("DROP TRIGGER audit_append_only ON audit_auditevent", "must be owner"),
    (
        "CREATE OR REPLACE FUNCTION chairside_refuse_change() RETURNS trigger AS $$ BEGIN RETURN NEW; END; $$ "
        "LANGUAGE plpgsql",
        "permission denied for schema public",  # (and it would have to own the function)
    ),
    ("DROP TABLE audit_auditevent", "must be owner"),
    ("DELETE FROM audit_auditchainhead", "permission denied"),
    ("TRUNCATE audit_auditchainhead", "permission denied"),
    ("UPDATE audit_auditchainhead SET seq = 0", "only moves forward"),
    ("ALTER TABLE audit_auditchainhead DISABLE TRIGGER USER", "must be owner"),
    ("UPDATE workups_signedplan SET plan_json = '{}'", "permission denied"),
    ("DELETE FROM workups_signedplan", "permission denied"),
    ("UPDATE workups_workup SET status = 'draft' WHERE status = 'signed'", "immutable"),
    ("""UPDATE workups_workup SET answers = '{"redflags": {}}' WHERE status = 'signed'""", "immutable"),
    ("UPDATE workups_workup SET plan_json = '{}' WHERE status = 'signed'", "immutable"),
    ("UPDATE workups_workup SET case_json = NULL WHERE status = 'signed'", "immutable"),
    ("DELETE FROM workups_workup WHERE status = 'signed'", "cannot be deleted"),
    ("ALTER TABLE workups_workup DISABLE TRIGGER signed_workup_guard", "must be owner"),
    ("TRUNCATE workups_workup CASCADE", "permission denied"),
    ("CREATE TABLE evil (id int)", "permission denied"),
    ("DELETE FROM django_migrations", "permission denied"),
    ("SET session_replication_role = replica", "permission denied"),
]


def test_the_runtime_role_owns_nothing_and_cannot_rewrite_history(deployment: dict[str, str]) -> None:
    owner, app, database = deployment["owner"], deployment["app"], deployment["db"]
    _run(owner, database, "migrate", "--noinput")
    granted = _run(owner, database, "grant_runtime", app)
    assert "audit_auditevent (SELECT/INSERT)" in granted
    out = _run(app, database, "shell", "-c", APP_SCRIPT)
    assert "events" in out
    assert "Audit chain intact" in _run(app, database, "audit", "verify")
    with _connect(deployment, app) as conn:
        owned = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = current_user"
        ).fetchone()[0]
        assert owned == 0
        assert conn.execute("SELECT count(*) FROM workups_workup WHERE status = 'signed'").fetchone()[0] == 1
        import psycopg

        refused = []
        for sql, expected in REFUSED:
            try:
                conn.execute(sql)
            except psycopg.Error as exc:
                if expected not in str(exc):
                    refused.append((sql, f"refused for another reason: {exc}"))
            else:
                refused.append((sql, "ALLOWED"))
        assert not refused, refused
    assert "Audit chain intact" in _run(app, database, "audit", "verify")
    # Running it again converges; a role that owns something is refused.
    _run(owner, database, "grant_runtime", app)


def test_grant_runtime_refuses_a_role_that_owns_objects(deployment: dict[str, str]) -> None:
    owner, app, database = deployment["owner"], deployment["app"], deployment["db"]
    _run(owner, database, "migrate", "--noinput", "audit")
    with _connect(deployment, owner) as conn:
        conn.execute(f"GRANT CREATE ON SCHEMA public TO {app}")
    with _connect(deployment, app) as conn:
        conn.execute("CREATE TABLE mine (id int)")
    s = connection.settings_dict
    done = subprocess.run(
        [sys.executable, "manage.py", "grant_runtime", app],
        env={**os.environ, "DATABASE_URL": f"postgres://{owner}@{s['HOST']}:{s['PORT']}/{database}?pool=false"},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and "must own nothing" in done.stderr
