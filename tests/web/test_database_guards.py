"""Database-level guards on PostgreSQL: audit events and signed plans cannot be changed even with raw SQL;
and a pg_dump backup restores into a fresh database with every row intact (the documented procedure)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable

import pytest
from django.db import DatabaseError, connection, transaction

from clinic.accounts.models import Unit, User
from clinic.audit.models import Action
from clinic.audit.services import record
from clinic.patients.models import Patient

pytestmark = pytest.mark.django_db(transaction=True)


def require_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL-only guard (make test also runs the suite on PostgreSQL).")


def test_audit_rows_cannot_be_changed_or_deleted_with_raw_sql(nurse_a: User) -> None:
    require_postgres()
    event = record(Action.LOGIN, user=nurse_a)
    for sql in (
        "UPDATE audit_auditevent SET username = 'x' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [event.pk])


def test_backup_and_restore_round_trip(unit_a: Unit, make_patient: Callable[..., Patient], nurse_a: User) -> None:
    require_postgres()
    bindir = os.environ.get("CHAIRSIDE_PG_BINDIR")
    if not bindir:
        pytest.skip("Needs the throwaway cluster started by .ci/with-postgres.")
    make_patient(unit_a, mrn="BACKUP-1")
    record(Action.LOGIN, user=nurse_a)
    settings = connection.settings_dict
    base = ["-h", settings["HOST"], "-p", str(settings["PORT"]), "-U", settings["USER"]]
    dump = subprocess.run([f"{bindir}/pg_dump", *base, "-Fc", settings["NAME"]], capture_output=True, check=True).stdout
    restored = f"{settings['NAME']}_restore"
    subprocess.run([f"{bindir}/createdb", *base, restored], check=True)
    try:
        subprocess.run([f"{bindir}/pg_restore", *base, "--no-owner", "-d", restored], input=dump, check=True)
        query = (
            "SELECT (SELECT count(*) FROM patients_patient WHERE mrn = 'BACKUP-1'), "
            "(SELECT count(*) FROM audit_auditevent)"
        )
        out = subprocess.run(
            [f"{bindir}/psql", *base, "-At", "-d", restored, "-c", query], capture_output=True, text=True, check=True
        ).stdout.strip()
        assert out.split("|")[0] == "1" and int(out.split("|")[1]) >= 1
    finally:
        subprocess.run([f"{bindir}/dropdb", *base, restored], check=False)


def test_signed_plans_cannot_be_changed_with_raw_sql(scoped_objects: dict) -> None:
    require_postgres()
    signed_id = scoped_objects["workup"].signed_plan.pk
    for sql in (
        "UPDATE workups_signedplan SET plan_json = '{}' WHERE id = %s",
        "DELETE FROM workups_signedplan WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="immutable"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [signed_id])


def test_repeated_queries_are_prepared_once_per_connection(unit_a: Unit) -> None:
    """Settings bind parameters server-side so psycopg prepares a statement a connection keeps repeating:
    PostgreSQL then plans a page's joins once per connection instead of on every request."""
    require_postgres()
    for _ in range(8):
        list(Patient.objects.filter(unit=unit_a).select_related("unit")[:5])
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cursor.fetchall()]
    assert any("patients_patient" in sql and "accounts_unit" in sql for sql in statements), statements


def test_a_signed_workup_cannot_be_changed_or_deleted_with_raw_sql(scoped_objects: dict) -> None:
    """Its status stays 'signed' and its answers and plan stay as signed; other workups are not affected."""
    require_postgres()
    signed = scoped_objects["workup"]
    for sql in (
        "UPDATE workups_workup SET status = 'draft' WHERE id = %s",
        "UPDATE workups_workup SET status = 'awaiting_review' WHERE id = %s",
        "UPDATE workups_workup SET answers = '{\"episode\": {}}' WHERE id = %s",
        "UPDATE workups_workup SET plan_json = '{}' WHERE id = %s",
        "UPDATE workups_workup SET case_json = NULL WHERE id = %s",
        "DELETE FROM workups_workup WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="signed workup"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [signed.pk])
    with connection.cursor() as cursor:  # a signed workup may still be touched where nothing signed changes
        cursor.execute("UPDATE workups_workup SET updated_at = now() WHERE id = %s", [signed.pk])
        draft = signed.__class__.objects.create(patient=signed.patient, created_by=signed.created_by, answers={})
        cursor.execute("UPDATE workups_workup SET status = 'signed' WHERE id = %s", [draft.pk])
        cursor.execute("SELECT status FROM workups_workup WHERE id = %s", [signed.pk])
        assert cursor.fetchone()[0] == "signed"


def test_signed_decisions_and_stored_pdfs_cannot_be_changed_with_raw_sql(scoped_objects: dict) -> None:
    require_postgres()
    signed_id = scoped_objects["workup"].signed_plan.pk
    for sql in (
        "UPDATE workups_signedplan SET decisions = '{}' WHERE id = %s",
        "UPDATE workups_signedplan SET handout_pdf = NULL WHERE id = %s",
        "UPDATE workups_signedplan SET plan_pdf = 'x' WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="immutable"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [signed_id])
