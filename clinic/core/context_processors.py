from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def chairside(request: HttpRequest) -> dict[str, Any]:
    from clinic.engine import load_knowledge

    user = getattr(request, "user", None)
    is_unit_admin = bool(
        user and user.is_authenticated and any(m.role == "unit_admin" for m in user.cached_memberships())
    )
    return {
        "is_unit_admin": is_unit_admin,
        "knowledge_version": load_knowledge().version,
        "session_idle_minutes": settings.SESSION_IDLE_MINUTES,
        "session_idle_seconds": settings.SESSION_IDLE_MINUTES * 60,
    }
