from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from clinic.accounts.middleware import idle_seconds_left


def chairside(request: HttpRequest) -> dict[str, Any]:
    from clinic.engine import load_knowledge

    user = getattr(request, "user", None)
    is_authenticated = bool(user and user.is_authenticated)
    is_unit_admin = is_authenticated and any(m.role == "unit_admin" for m in user.cached_memberships())

    from clinic.workups.worklist import awaiting_count

    return {
        "is_unit_admin": is_unit_admin,
        # A callable: the template counts only when the navigation shows it (one query, nephrologists only).
        "awaiting_review_count": lambda: awaiting_count(user),
        "knowledge_version": load_knowledge().version,
        "session_idle_minutes": settings.SESSION_IDLE_MINUTES,
        "session_idle_limit": settings.SESSION_IDLE_MINUTES * 60,
        # By the server's clock: a page load does not always restart the idle clock (clinic/accounts/middleware.py).
        "session_idle_seconds": idle_seconds_left(request) if is_authenticated else settings.SESSION_IDLE_MINUTES * 60,
    }
