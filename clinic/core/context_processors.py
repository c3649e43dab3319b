from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def chairside(request: HttpRequest) -> dict[str, Any]:
    from clinic.engine import load_knowledge

    return {
        "knowledge_version": load_knowledge().version,
        "session_idle_minutes": settings.SESSION_IDLE_MINUTES,
    }
