"""The audit log's filters: read them from the query string, apply them, and say what could not be used."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from clinic.audit.models import Action, AuditEvent

# Days outside these hold no events; they are answered with an empty list rather than computed (9999-12-31 has no
# next day for the upper bound, 0001-01-01 may have no start in UTC).
EARLIEST_DAY = dt.date(1900, 1, 1)
LATEST_DAY = dt.date(9998, 12, 31)


def apply_filters(
    events: QuerySet[AuditEvent], query: Mapping[str, Any]
) -> tuple[QuerySet[AuditEvent], dict[str, str], list[str]]:
    """(the filtered events, the filters as shown back in the form, a message per filter that could not be used)."""
    filters = {
        "action": query.get("action", ""),
        "user": query.get("user", "").strip()[:150],
        "patient": query.get("patient", "").strip()[:100],
        "day": query.get("day", "")[:40],
    }
    problems = []
    if filters["action"] in Action.values:
        events = events.filter(action=filters["action"])
    if "\x00" in filters["user"]:  # PostgreSQL text cannot hold NUL: refuse it before the query
        problems.append("The username cannot contain control characters.")
        filters["user"] = filters["user"].replace("\x00", "")
    elif filters["user"]:
        events = events.filter(username__iexact=filters["user"])
    if filters["patient"]:
        try:
            events = events.filter(patient_public_id=uuid.UUID(filters["patient"]))
        except ValueError:
            problems.append("The patient id must be the opaque id (a UUID) shown in the patient's address.")
    if filters["day"]:
        try:
            day = dt.date.fromisoformat(filters["day"])
        except ValueError:
            problems.append("The day must be a date (YYYY-MM-DD).")
            filters["day"] = filters["day"].replace("\x00", "")
        else:
            if EARLIEST_DAY <= day <= LATEST_DAY:
                start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
                events = events.filter(at__gte=start, at__lt=start + dt.timedelta(days=1))
            else:  # a real date, but the day after it (or its start in UTC) is beyond what a datetime can hold
                events = events.none()
    return events, filters, problems
