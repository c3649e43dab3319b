"""Read-only, filterable audit log for unit admins (their units' events and their staff's sign-ins)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from clinic.accounts.staff import admin_units
from clinic.audit.filters import apply_filters
from clinic.audit.models import Action, AuditEvent
from clinic.audit.presenters import detail_parts
from clinic.audit.services import record

PAGE_SIZE = 50


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
    events, filters, problems = apply_filters(events, request.GET)
    page = Paginator(events.order_by("-at", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    for event in page.object_list:
        event.detail_parts = detail_parts(event.detail)
    record(Action.AUDIT_VIEW, request=request, detail={"filters": [k for k, v in filters.items() if v]})
    return render(
        request, "audit/list.html", {"page": page, "filters": filters, "actions": Action.choices, "problems": problems}
    )
