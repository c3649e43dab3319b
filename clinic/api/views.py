"""JSON API: POST /api/v1/evaluate (docs/contract.md)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from clinic.api.auth import user_from_bearer
from clinic.audit.models import Action
from clinic.audit.services import record
from clinic.core.casejson import CaseJSONError, parse_case_json
from clinic.engine import CaseError, errors_to_json, evaluate, plan_to_json

JSON = "application/json"


def _errors(status: int, message: str, field: str = "") -> HttpResponse:
    body = errors_to_json([{"field": field, "message": message}])
    return HttpResponse(body, status=status, content_type=JSON)


def _unauthorised(request: HttpRequest) -> HttpResponse:
    # The attempt is recorded, never the token; "none" when no bearer token was sent at all.
    sent = request.headers.get("Authorization", "").partition(" ")[2].strip()
    record(Action.API_AUTH_FAILED, request=request, detail={"token": "invalid" if sent else "none"})
    response = _errors(401, "A valid API token is required (Authorization: Bearer <token>).")
    response["WWW-Authenticate"] = 'Bearer realm="chairside"'
    return response


def _body_problem(request: HttpRequest) -> HttpResponse | None:
    """413, 400 or 415 for a body the engine will not read (in the order docs/contract.md lists), else None."""
    limit = settings.API_MAX_BODY_BYTES
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > limit:
        return _errors(413, f"The request body is over {limit // 1024} KiB.")
    if not request.body.strip():
        return _errors(400, "The request body is empty; send a case as JSON.")
    if (request.content_type or "") != JSON:
        return _errors(415, "Send the case as application/json.")
    if len(request.body) > limit:  # no or wrong Content-Length header
        return _errors(413, f"The request body is over {limit // 1024} KiB.")
    return None


@csrf_exempt  # token-authenticated, no cookies involved
@login_not_required
@require_POST
def evaluate_view(request: HttpRequest) -> HttpResponse:
    user = user_from_bearer(request)
    if user is None:
        return _unauthorised(request)
    problem = _body_problem(request)
    if problem is not None:
        return problem
    try:
        plan = evaluate(parse_case_json(request.body))
    except CaseJSONError as exc:
        return _errors(400, str(exc))
    except CaseError as exc:
        detail = {"outcome": "invalid", "errors": len(exc.errors)}
        record(Action.API_EVALUATE, request=request, user=user, detail=detail)
        return HttpResponse(errors_to_json(exc.errors), status=400, content_type=JSON)
    detail = {"outcome": "ok", "red_flags": [flag.code for flag in plan.red_flags]}
    record(Action.API_EVALUATE, request=request, user=user, detail=detail)
    return HttpResponse(plan_to_json(plan), content_type=JSON)
