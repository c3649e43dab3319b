"""The one way to write an audit event, and the note a view leaves about whose data a request touched."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest

from clinic.audit.models import AuditEvent
from clinic.core.clientip import client_ip

RECORDED = "_chairside_audit_recorded"
SUBJECT = "_chairside_audit_subject"


def note_subject(request: HttpRequest, patient: Any) -> None:
    """Remember the patient a request is about. When the view records nothing more specific, the audit middleware
    records the access against this patient (clinic/audit/middleware.py)."""
    setattr(request, SUBJECT, patient)


def record(
    action: str,
    *,
    request: HttpRequest | None = None,
    user: Any = None,
    username: str = "",
    unit: Any = None,  # a Unit or its primary key
    patient_public_id: uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    if user is None and request is not None and request.user.is_authenticated:
        user = request.user
    if user is not None and not username:
        username = user.get_username()
    if request is not None:
        setattr(request, RECORDED, True)
    return AuditEvent.objects.create(
        action=action,
        user=user if user is not None and getattr(user, "pk", None) else None,
        username=username.replace("\x00", "")[:150],  # PostgreSQL text cannot hold NUL
        unit_id=unit if isinstance(unit, int) or unit is None else unit.pk,  # a Unit or its id
        patient_public_id=patient_public_id,
        client_ip=client_ip(request),
        detail=detail or {},
    )
