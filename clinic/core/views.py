from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness plus a database round trip, for load balancers and monitoring."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return HttpResponse("database unavailable", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")


@require_POST
def keepalive(request: HttpRequest) -> HttpResponse:
    """'Stay signed in': any authenticated request resets the idle clock (IdleLogoutMiddleware)."""
    return HttpResponse(status=204)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Nephrologists and nurses start at their worklist; unit admins at the patient list."""
    roles = {m.role for m in request.user.cached_memberships()}
    return redirect("workups:worklist" if roles & {"nephrologist", "nurse"} else "patients:list")
