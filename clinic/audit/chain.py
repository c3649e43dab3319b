"""Hash chain over the audit trail, so a changed, deleted or reordered row is detectable (ONC 170.315(d)(2)).

Each event stores ``seq`` (its place in the chain: 1, 2, 3...) and ``hash`` = SHA-256(previous hash + digest of its
own content), the first event chaining from ``GENESIS``. One row of ``AuditChainHead`` holds the latest seq and
hash. Appending an event advances the head with one UPDATE that computes the new hash in the database from the
head's current hash: that UPDATE takes the head row's lock, so concurrent inserts (any worker, any host) queue one
behind the other until the inserting transaction ends and the chain stays linear. On PostgreSQL the UPDATE and the
INSERT are one statement; on SQLite two, in one transaction.

``verify()`` recomputes the chain from the rows and names the first row that does not fit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connections

GENESIS = "0" * 64
HEAD_ID = 1
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# The head advances in the database, so the new hash is computed from the hash the row holds once its lock is
# granted (a waiting transaction re-reads the row another one just committed). Django registers SHA256() on SQLite.
_ADVANCE = {
    "postgresql": (
        "UPDATE audit_auditchainhead SET seq = seq + 1, "
        "hash = encode(sha256(convert_to(hash || %s, 'UTF8')), 'hex') WHERE id = %s RETURNING seq, hash"
    ),
    "sqlite": (
        "UPDATE audit_auditchainhead SET seq = seq + 1, hash = SHA256(hash || %s) WHERE id = %s RETURNING seq, hash"
    ),
}
# The head row is created by the migration; a test database flush (TRUNCATE) removes it, so it is re-created from
# the last chained event when missing.
_CREATE_HEAD = (
    "INSERT INTO audit_auditchainhead (id, seq, hash) "
    "SELECT %s, COALESCE(MAX(seq), 0), COALESCE((SELECT hash FROM audit_auditevent WHERE seq IS NOT NULL "
    "ORDER BY seq DESC LIMIT 1), %s) FROM audit_auditevent WHERE true ON CONFLICT (id) DO NOTHING"
)


# On PostgreSQL the head's advance and the insert are one statement (one round trip, atomic on its own): the
# INSERT reads the advanced head, so it runs after the UPDATE has the head's lock, and takes its id after it.
INSERTED = ("at", "user", "username", "unit", "patient_public_id", "action", "client_ip", "detail")
_APPEND_POSTGRESQL = (
    "WITH head AS (" + _ADVANCE["postgresql"] + ") "
    "INSERT INTO audit_auditevent (at, user_id, username, unit_id, patient_public_id, action, client_ip, detail, "
    "seq, hash) SELECT %s::timestamptz, %s::bigint, %s::varchar, %s::bigint, %s::uuid, %s::varchar, %s::inet, "
    "%s::jsonb, head.seq, head.hash FROM head RETURNING id, seq, hash"
)


def _canonical(value: Any) -> Any:
    """JSON as stored in PostgreSQL's jsonb or SQLite's text reads back the same after this: integral floats
    become ints (jsonb prints 1e20 as an integer), keys are sorted when dumped."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def _micros(at: dt.datetime) -> int:
    return (at - _EPOCH) // dt.timedelta(microseconds=1)


def _ip(address: str | None) -> str | None:
    # The packed form: PostgreSQL's inet and Python print some IPv6 addresses differently.
    return ipaddress.ip_address(address).packed.hex() if address else None


def digest(
    *,
    at: dt.datetime,
    user_id: int | None,
    username: str,
    unit_id: int | None,
    patient_public_id: uuid.UUID | str | None,
    action: str,
    client_ip: str | None,
    detail: Any,
) -> str:
    """SHA-256 of one event's content, in a form that reads back identically from PostgreSQL and SQLite."""
    content = [
        _micros(at),
        user_id,
        username,
        unit_id,
        str(uuid.UUID(str(patient_public_id))) if patient_public_id else None,
        action,
        _ip(client_ip),
        _canonical(detail),
    ]
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def link(previous_hash: str, content_digest: str) -> str:
    """The chain step the database computes in ``_ADVANCE``."""
    return hashlib.sha256((previous_hash + content_digest).encode()).hexdigest()


def advance(content_digest: str, using: str = "default") -> tuple[int, str]:
    """Append to the chain: (seq, hash) for the new event. Call inside the transaction that inserts it."""
    connection = connections[using]
    sql = _ADVANCE.get(connection.vendor)
    if sql is None:
        raise NotImplementedError(f"The audit chain supports PostgreSQL and SQLite, not {connection.vendor}.")
    with connection.cursor() as cursor:
        cursor.execute(sql, [content_digest, HEAD_ID])
        row = cursor.fetchone()
        if row is None:
            cursor.execute(_CREATE_HEAD, [HEAD_ID, GENESIS])
            cursor.execute(sql, [content_digest, HEAD_ID])
            row = cursor.fetchone()
    return int(row[0]), str(row[1])


def append_postgresql(content_digest: str, values: dict[str, Any], using: str = "default") -> tuple[int, int, str]:
    """Advance the head and insert the event in one statement: (id, seq, hash)."""
    params = [content_digest, HEAD_ID, *(values[name] for name in INSERTED)]
    with connections[using].cursor() as cursor:
        cursor.execute(_APPEND_POSTGRESQL, params)
        row = cursor.fetchone()
        if row is None:  # no head row (see _CREATE_HEAD)
            cursor.execute(_CREATE_HEAD, [HEAD_ID, GENESIS])
            cursor.execute(_APPEND_POSTGRESQL, params)
            row = cursor.fetchone()
    return int(row[0]), int(row[1]), str(row[2])


@dataclass(frozen=True)
class Problem:
    event_id: int | None
    seq: int | None
    message: str

    def __str__(self) -> str:
        where = f"audit event id {self.event_id} (seq {self.seq})" if self.event_id is not None else "chain head"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Report:
    rows: int
    head_seq: int
    head_hash: str
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems


FIELDS = ("id", "seq", "hash", "at", "user_id", "username", "unit_id", "patient_public_id", "action", "client_ip")


def _rows(using: str, chunk: int) -> Iterator[tuple[Any, ...]]:
    from clinic.audit.models import AuditEvent

    yield from AuditEvent.objects.using(using).order_by("seq", "id").values_list(*FIELDS, "detail").iterator(chunk)


def verify(using: str = "default", chunk: int = 2000, max_problems: int = 20) -> Report:
    """Walk every event in chain order and check: seq runs 1, 2, 3... without a gap; ids increase with seq (rows
    are inserted in chain order); each hash is the link of the previous hash and the row's content; the head
    matches the last row. Stops collecting after ``max_problems``."""
    from clinic.audit.models import AuditChainHead

    problems: list[Problem] = []
    previous_hash, previous_seq, previous_id, rows = GENESIS, 0, 0, 0
    for row in _rows(using, chunk):
        if len(problems) >= max_problems:
            break
        rows += 1
        event_id, seq, stored, at, user_id, username, unit_id, patient, action, ip, detail = row
        if seq is None:
            problems.append(Problem(event_id, None, "is not in the chain (inserted without the chain, or seq erased)"))
            continue
        if seq != previous_seq + 1:
            gap = (
                f"{seq - previous_seq - 1} row(s) before it are missing (deleted)"
                if seq > previous_seq + 1
                else "its seq repeats an earlier one"
            )
            problems.append(Problem(event_id, seq, f"follows seq {previous_seq}: {gap}"))
        elif event_id <= previous_id:
            problems.append(Problem(event_id, seq, f"has a lower id than seq {previous_seq} (id {previous_id}): moved"))
        content = digest(
            at=at,
            user_id=user_id,
            username=username,
            unit_id=unit_id,
            patient_public_id=patient,
            action=action,
            client_ip=ip,
            detail=detail,
        )
        if link(previous_hash, content) != stored:
            problems.append(
                Problem(
                    event_id,
                    seq,
                    "its hash does not match its content chained from the row before it: this row was altered, "
                    "or the row before it was replaced",
                )
            )
        previous_hash, previous_seq, previous_id = stored or "", seq, event_id
    head = AuditChainHead.objects.using(using).filter(pk=HEAD_ID).first()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    if not problems and (head_seq, head_hash) != (previous_seq, previous_hash):
        if head is None and rows == 0:
            pass
        elif head is None:
            problems.append(Problem(None, None, "the chain head row is missing"))
        elif head_seq > previous_seq:
            problems.append(
                Problem(None, head_seq, f"the last {head_seq - previous_seq} row(s) (up to seq {head_seq}) are missing")
            )
        else:
            problems.append(Problem(None, head_seq, f"does not match the last row (seq {previous_seq}): altered"))
    return Report(rows=rows, head_seq=head_seq, head_hash=head_hash, problems=problems)
