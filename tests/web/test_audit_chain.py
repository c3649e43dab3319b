"""The audit trail's hash chain: `manage.py audit verify` passes on an intact trail and names the row when one
is changed, deleted or reordered directly in SQL (with the append-only trigger disabled, as the table's owner
could). Runs on SQLite and PostgreSQL; the concurrency test needs PostgreSQL."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from clinic.accounts.models import Unit, User
from clinic.audit import chain
from clinic.audit.models import Action, AuditChainHead, AuditEvent
from clinic.audit.services import record

pytestmark = pytest.mark.django_db


def raw(sql: str, params: list[object] | None = None) -> None:
    """Run SQL against the audit table as its owner would: triggers off (PostgreSQL) for this statement only."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses while foreign key checks wait
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        cursor.execute(sql, params or [])
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")


@pytest.fixture
def events(nurse_a: User, unit_a: Unit) -> list[AuditEvent]:
    """Six events with every kind of content: ids, a patient, IPv4 and IPv6 addresses, nested detail with
    floats and non-ASCII text."""
    made = [
        record(Action.LOGIN, user=nurse_a),
        record(Action.PATIENT_VIEW, user=nurse_a, unit=unit_a, patient_public_id=uuid.uuid4()),
        record(Action.LOGIN_FAILED, username="naïve-ünïcode"),
        record(Action.API_EVALUATE, user=nurse_a, detail={"red_flags": ["a", "b"], "ratio": 0.1, "big": 1e20}),
        record(Action.PATIENT_LIST, user=nurse_a, unit=unit_a, detail={"results": 3, "nested": {"z": 1, "a": [2.5]}}),
        record(Action.LOGOUT, user=nurse_a),
    ]
    return made


def set_ip(event: AuditEvent, address: str) -> None:
    raw("UPDATE audit_auditevent SET client_ip = %s WHERE id = %s", [address, event.pk])


def problems() -> list[str]:
    return [str(p) for p in chain.verify().problems]


def verify_fails_naming(event: AuditEvent) -> str:
    with pytest.raises(CommandError) as failure:
        call_command("audit", "verify")
    message = str(failure.value)
    assert f"audit event id {event.pk} " in message, message
    return message


def test_an_intact_chain_verifies(events: list[AuditEvent], capsys: pytest.CaptureFixture[str]) -> None:
    assert problems() == []
    call_command("audit", "verify")
    out = capsys.readouterr().out
    assert "Audit chain intact: 6 events, head seq 6" in out
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == [1, 2, 3, 4, 5, 6]
    head = AuditChainHead.objects.get()
    assert (head.seq, head.hash) == (6, events[-1].hash)


def test_addresses_and_detail_read_back_as_hashed(nurse_a: User, rf: pytest.FixtureRequest) -> None:
    """Values the database normalises (IPv6 text, jsonb numbers and key order) hash the same when read back."""
    for address in ("10.1.2.3", "2001:db8::1", "::ffff:10.0.0.1", "2001:0DB8:0000:0000:0000:0000:0000:0002"):
        request = rf.get("/", REMOTE_ADDR=address)  # type: ignore[attr-defined]
        request.user = nurse_a
        record(Action.LOGIN, request=request, detail={"b": 1.0, "a": [1e-7, 123456789.125, "é"], "n": None})
    assert problems() == []


def test_a_changed_row_is_named(events: list[AuditEvent]) -> None:
    raw("UPDATE audit_auditevent SET username = 'someone.else' WHERE id = %s", [events[2].pk])
    message = verify_fails_naming(events[2])
    assert "altered" in message
    assert len(problems()) == 1, "only the changed row is reported"


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("action", "logout"),
        ("detail", '{"red_flags": ["a"], "ratio": 0.1, "big": 1e20}'),
        ("patient_public_id", str(uuid.uuid4())),
        ("at", "2020-01-01 00:00:00"),
    ],
)
def test_any_column_changed_is_detected(events: list[AuditEvent], column: str, value: str) -> None:
    target = events[3] if column == "detail" else events[1]
    raw(f"UPDATE audit_auditevent SET {column} = %s WHERE id = %s", [value, target.pk])
    verify_fails_naming(target)


def test_a_changed_address_is_detected(events: list[AuditEvent]) -> None:
    set_ip(events[0], "192.0.2.99")
    verify_fails_naming(events[0])


def test_a_deleted_row_is_named_by_the_row_after_it(events: list[AuditEvent]) -> None:
    raw("DELETE FROM audit_auditevent WHERE id = %s", [events[2].pk])
    message = verify_fails_naming(events[3])
    assert "missing (deleted)" in message


def test_deleting_the_last_rows_is_detected(events: list[AuditEvent]) -> None:
    raw("DELETE FROM audit_auditevent WHERE id IN (%s, %s)", [events[4].pk, events[5].pk])
    with pytest.raises(CommandError, match=r"the last 2 row\(s\) \(up to seq 6\) are missing"):
        call_command("audit", "verify")


def test_swapped_positions_are_detected(events: list[AuditEvent]) -> None:
    a, b = events[1], events[2]
    raw("UPDATE audit_auditevent SET seq = -seq WHERE id IN (%s, %s)", [a.pk, b.pk])
    raw("UPDATE audit_auditevent SET seq = %s WHERE id = %s", [b.seq, a.pk])
    raw("UPDATE audit_auditevent SET seq = %s WHERE id = %s", [a.seq, b.pk])
    verify_fails_naming(b)


def test_swapped_times_are_detected(events: list[AuditEvent]) -> None:
    """Reordering by time (the audit page lists events newest first)."""
    a, b = events[1], events[4]
    raw("UPDATE audit_auditevent SET at = %s WHERE id = %s", [b.at, a.pk])
    raw("UPDATE audit_auditevent SET at = %s WHERE id = %s", [a.at, b.pk])
    found = problems()
    assert any(f"id {a.pk} " in p for p in found) and any(f"id {b.pk} " in p for p in found), found


def test_swapped_ids_are_detected(events: list[AuditEvent]) -> None:
    a, b = events[1], events[2]
    raw("UPDATE audit_auditevent SET id = -id WHERE id IN (%s, %s)", [a.pk, b.pk])
    raw("UPDATE audit_auditevent SET id = %s WHERE id = %s", [b.pk, -a.pk])
    raw("UPDATE audit_auditevent SET id = %s WHERE id = %s", [a.pk, -b.pk])
    message = verify_fails_naming(AuditEvent(pk=a.pk))
    assert "moved" in message


def test_a_row_rewritten_with_a_recomputed_hash_breaks_the_next_link(events: list[AuditEvent]) -> None:
    """Someone who recomputes the changed row's own hash still breaks the row after it."""
    target = events[2]
    target_digest = chain.digest(
        at=target.at,
        user_id=None,
        username="forged",
        unit_id=None,
        patient_public_id=None,
        action=target.action,
        client_ip=None,
        detail={},
    )
    forged = chain.link(events[1].hash, target_digest)
    raw("UPDATE audit_auditevent SET username = 'forged', hash = %s WHERE id = %s", [forged, target.pk])
    verify_fails_naming(events[3])


def test_a_row_inserted_outside_the_chain_is_detected(events: list[AuditEvent]) -> None:
    raw(
        "INSERT INTO audit_auditevent (at, username, action, detail, hash) VALUES (%s, 'ghost', 'login', '{}', '')",
        [events[0].at],
    )
    ghost = AuditEvent.objects.get(username="ghost")
    message = verify_fails_naming(ghost)
    assert "not in the chain" in message


def test_the_orm_cannot_bulk_insert_around_the_chain() -> None:
    from clinic.audit.models import AppendOnlyError

    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.bulk_create([AuditEvent(action=Action.LOGIN)])


def test_an_insert_costs_at_most_one_query_more_than_a_plain_insert(nurse_a: User) -> None:
    """PostgreSQL: one statement advances the head and inserts. SQLite: the head's UPDATE, then the INSERT."""
    record(Action.LOGIN, user=nurse_a)
    with CaptureQueriesContext(connection) as ctx:
        event = record(Action.LOGOUT, user=nurse_a)
    sql = [q["sql"] for q in ctx.captured_queries]
    if connection.vendor == "postgresql":
        assert len(sql) == 1 and sql[0].startswith("WITH head AS (UPDATE audit_auditchainhead"), sql
    else:
        assert len(sql) == 2 and sql[0].startswith("UPDATE audit_auditchainhead"), sql
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.seq, stored.hash, stored.user_id, stored.action) == (event.seq, event.hash, nurse_a.pk, "logout")


def test_the_head_is_recreated_from_the_last_event_when_missing(events: list[AuditEvent]) -> None:
    """A test database flush (TRUNCATE) removes the head row; the chain then continues from the last event."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE audit_auditchainhead DISABLE TRIGGER USER")
        cursor.execute("DELETE FROM audit_auditchainhead")
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditchainhead ENABLE TRIGGER USER")
    event = record(Action.LOGIN, username="after")
    assert event.seq == 7
    assert problems() == []


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_inserts_from_many_connections_keep_one_linear_chain(nurse_a: User) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("Needs PostgreSQL (many connections writing at once).")
    threads, per_thread = 8, 25
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                record(Action.LOGIN_FAILED, username=f"t{n}-{i}")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors, errors
    report = chain.verify()
    assert report.ok, report.problems
    assert report.rows == report.head_seq == threads * per_thread


def test_an_anchor_kept_outside_catches_a_rewritten_chain(events: list[AuditEvent]) -> None:
    """Rewriting every hash from a changed row onwards passes the chain check; the anchor kept outside does not."""
    head = AuditChainHead.objects.get()
    anchor = f"{head.seq}:{head.hash}"
    call_command("audit", "verify", "--anchor", anchor)
    raw("UPDATE audit_auditevent SET username = 'rewritten' WHERE id = %s", [events[3].pk])
    previous = events[2].hash
    for event in AuditEvent.objects.filter(seq__gte=events[3].seq).order_by("seq"):
        previous = chain.link(previous, event.content_digest())
        raw("UPDATE audit_auditevent SET hash = %s WHERE id = %s", [previous, event.pk])
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditchainhead DISABLE TRIGGER USER")
        cursor.execute("UPDATE audit_auditchainhead SET hash = %s", [previous])
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditchainhead ENABLE TRIGGER USER")
    assert problems() == [], "a complete rewrite is consistent on its own"
    with pytest.raises(CommandError, match=rf"audit event id {events[5].pk} \(seq 6\): .*rewritten"):
        call_command("audit", "verify", "--anchor", anchor)
