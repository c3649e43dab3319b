"""The one way to write an audit event."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest

from clinic.audit.models import AuditEvent


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(
    action: str,
    *,
    request: HttpRequest | None = None,
    user: Any = None,
    username: str = "",
    unit: Any = None,
    patient_public_id: uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    if user is None and request is not None and request.user.is_authenticated:
        user = request.user
    if user is not None and not username:
        username = user.get_username()
    return AuditEvent.objects.create(
        action=action,
        user=user if user is not None and getattr(user, "pk", None) else None,
        username=username[:150],
        unit=unit,
        patient_public_id=patient_public_id,
        client_ip=client_ip(request),
        detail=detail or {},
    )
