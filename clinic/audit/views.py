"""Read-only, filterable audit log for unit admins (their units' events and their staff's sign-ins)."""

from __future__ import annotations

import datetime as dt
import uuid

from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from clinic.accounts.staff import admin_units
from clinic.audit.models import Action, AuditEvent
from clinic.audit.services import record

PAGE_SIZE = 50
# Days outside these hold no events; they are answered with an empty list rather than computed (9999-12-31 has no
# next day for the upper bound, 0001-01-01 may have no start in UTC).
EARLIEST_DAY = dt.date(1900, 1, 1)
LATEST_DAY = dt.date(9998, 12, 31)


@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    units = admin_units(request.user)
    if not units:
        raise Http404("Only unit admins read the audit log.")
    events = (
        AuditEvent.objects.filter(Q(unit__in=units) | Q(unit__isnull=True, user__memberships__unit__in=units))
        .distinct()
        .select_related("unit")
    )
    filters = {
        "action": request.GET.get("action", ""),
        "user": request.GET.get("user", "").strip()[:150],
        "patient": request.GET.get("patient", "").strip()[:100],
        "day": request.GET.get("day", "")[:40],
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
    page = Paginator(events.order_by("-at", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    record(Action.AUDIT_VIEW, request=request, detail={"filters": [k for k, v in filters.items() if v]})
    return render(
        request, "audit/list.html", {"page": page, "filters": filters, "actions": Action.choices, "problems": problems}
    )
