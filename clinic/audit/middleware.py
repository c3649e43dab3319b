"""Audit what views do not record themselves, so that no patient page, refused access or admin use goes unlogged.

After the view has answered, for a signed-in user:
- a route that names an object (a patient, a workup, a membership...) answered 404 or 403: ACCESS_DENIED, with the
  route only. Another unit's object and one that does not exist are answered and recorded alike, and the event
  names neither the object nor its unit (the requester's unit admin reads it);
- a route with a patient or workup in its URL where the view recorded nothing (a wizard step, the review, the
  patient edit form, an htmx preview, a refused action): PATIENT_ACCESS against the patient the view looked up;
- any Django admin page: ADMIN_ACCESS with the admin route and the object id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from clinic.audit.models import Action
from clinic.audit.services import RECORDED, SUBJECT, record

SCOPED_KWARG = "public_id"


def _route(request: HttpRequest) -> tuple[str, dict[str, Any]] | None:
    match = getattr(request, "resolver_match", None)
    if match is None or not match.view_name:
        return None
    return match.view_name, dict(match.kwargs)


class AuditAccessMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or response.status_code >= 500 or response.status_code == 405:
            return response  # no one signed in, a crash (logged elsewhere), or a method the route does not take
        route = _route(request)
        if route is None:
            return response
        name, kwargs = route
        base = {"route": name, "method": str(request.method)[:10], "status": response.status_code}
        if name.startswith("admin:"):
            object_id = kwargs.get("object_id")
            detail = {**base, "object": str(object_id)} if object_id else base
            record(Action.ADMIN_ACCESS, request=request, detail=detail)
        elif kwargs and response.status_code in (403, 404):
            record(Action.ACCESS_DENIED, request=request, detail=base)
        elif SCOPED_KWARG in kwargs and not getattr(request, RECORDED, False):
            self._access(request, name, kwargs, base)
        return response

    @staticmethod
    def _access(request: HttpRequest, name: str, kwargs: dict[str, Any], base: dict[str, Any]) -> None:
        patient = getattr(request, SUBJECT, None)
        extra = {key: str(value) for key, value in kwargs.items() if key != SCOPED_KWARG}
        named = str(kwargs[SCOPED_KWARG])
        if patient is None:
            extra["object"] = named
        elif str(patient.public_id) != named:
            extra["workup"] = named  # the URL names a workup of this patient
        record(
            Action.PATIENT_ACCESS,
            request=request,
            unit=getattr(patient, "unit", None),
            patient_public_id=getattr(patient, "public_id", None),
            detail={**base, **extra},
        )
