"""CDS Hooks 2.0 HTTP endpoints: GET /cds-services, POST /cds-services/{id}, POST /cds-services/{id}/feedback.

The service and feedback endpoints are authenticated by the CDS client's signed JWT (cds_auth), not by a
session, so they are exempt from the login wall and from CSRF. Discovery holds no patient data and is open.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from clinic.audit.models import Action
from clinic.audit.services import record
from clinic.interop import cds, conf
from clinic.interop.cds_auth import CdsAuthError, verify_request
from clinic.interop.cds_feedback import as_uuid, feedback_row
from clinic.interop.models import CdsCard, CdsFeedback


def _error(status: int, message: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="chairside-cds-hooks"'
    return response


def _caller(request: HttpRequest, service_id: str) -> str | JsonResponse:
    """The calling CDS client's issuer, or the answer to give instead: 404 for an unknown service, 401 when its
    signed JWT does not verify."""
    if service_id not in cds.HANDLERS:
        return _error(404, f"No CDS service '{service_id}'.")
    try:
        return str(verify_request(request)["iss"])
    except CdsAuthError as exc:
        # The reason (no secrets in it), never the token itself.
        record(Action.CDS_AUTH_FAILED, request=request, detail={"service": service_id, "reason": str(exc)[:200]})
        return _error(401, str(exc))


def _json_body(request: HttpRequest) -> dict[str, Any]:
    limit = conf.cds_max_body_bytes()
    too_large = cds.CdsRequestError(f"The request body is larger than {limit} bytes.", status=413)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise too_large  # before reading it (Django would refuse past DATA_UPLOAD_MAX_MEMORY_SIZE with HTML)
    try:
        raw = request.body
    except RequestDataTooBig as exc:
        raise too_large from exc
    if len(raw) > limit:
        raise too_large
    if (request.content_type or "") != "application/json":
        raise cds.CdsRequestError("Send the request as application/json.", status=415)
    try:
        body = json.loads(raw.decode("utf-8"))
    except RecursionError as exc:
        raise cds.CdsRequestError("The body is nested too deeply to be a CDS Hooks request.") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise cds.CdsRequestError(f"The body is not valid JSON ({exc.__class__.__name__}).") from exc
    if not isinstance(body, dict):
        raise cds.CdsRequestError("The body must be a JSON object.")
    return body


@login_not_required
@require_GET
def discovery(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"services": cds.services()})


def _hook_body(request: HttpRequest, hook: str) -> dict[str, Any]:
    """The request body of a call to a service answering ``hook``; CdsRequestError when it is not one."""
    body = _json_body(request)
    if body.get("hook") != hook:
        raise cds.CdsRequestError(f"This service answers the '{hook}' hook.")
    if not isinstance(body.get("hookInstance"), str) or not body["hookInstance"]:
        raise cds.CdsRequestError("hookInstance is required.")
    if not isinstance(body.get("context"), dict) or not body["context"].get("patientId"):
        raise cds.CdsRequestError("context.patientId is required.")
    return body


def _audit_call(request: HttpRequest, issuer: str, service_id: str, **detail: Any) -> None:
    record(
        Action.CDS_CALL,
        request=request,
        username=f"cds:{issuer}"[:150],
        detail={"service": service_id, **detail},
    )


@csrf_exempt
@login_not_required
@require_POST
def service(request: HttpRequest, service_id: str) -> HttpResponse:
    issuer = _caller(request, service_id)
    if isinstance(issuer, JsonResponse):
        return issuer
    hook, handler = cds.HANDLERS[service_id]
    try:
        result = handler(_hook_body(request, hook), issuer)
    except cds.CdsRequestError as exc:
        _audit_call(request, issuer, service_id, outcome="error", status=exc.status)
        return _error(exc.status, str(exc))
    indicators = [card["indicator"] for card in result.cards]
    _audit_call(
        request,
        issuer,
        service_id,
        outcome="ok",
        cards=result.keys,
        indicators=indicators,
        suppressed=result.suppressed,
    )
    return _delivering({"cards": result.cards}, [c["uuid"] for c in result.cards])


def _delivering(answer: dict[str, Any], card_uuids: list[str]) -> StreamingHttpResponse:
    """The answer as one chunk. The server asks the generator for more only after it has written that chunk to
    the EHR's connection, so the cards are marked delivered (and count for repeat suppression) only then; an
    answer that never reached the EHR (it hung up, timed out) leaves them undelivered."""
    content = json.dumps(answer, cls=DjangoJSONEncoder).encode()

    def chunks() -> Iterator[bytes]:
        yield content
        if card_uuids:
            CdsCard.objects.filter(uuid__in=card_uuids).update(delivered_at=timezone.now())

    response = StreamingHttpResponse(chunks(), content_type="application/json")
    response["Content-Length"] = str(len(content))
    return response


@csrf_exempt
@login_not_required
@require_POST
def feedback(request: HttpRequest, service_id: str) -> HttpResponse:
    issuer = _caller(request, service_id)
    if isinstance(issuer, JsonResponse):
        return issuer
    try:
        body = _json_body(request)
        items = body.get("feedback")
        if not isinstance(items, list) or not items:
            raise cds.CdsRequestError("feedback must be a non-empty array.")
        # The cards the feedback names, fetched in one query rather than one per item.
        named = {as_uuid(item.get("card")) for item in items if isinstance(item, dict)} - {None}
        cards = {card.uuid: card for card in CdsCard.objects.filter(uuid__in=named, issuer=issuer)}
        rows = [feedback_row(item, n, service_id, issuer, cards) for n, item in enumerate(items)]
    except cds.CdsRequestError as exc:
        return _error(exc.status, str(exc))
    CdsFeedback.objects.bulk_create(rows)
    record(
        Action.CDS_FEEDBACK,
        request=request,
        username=f"cds:{issuer}"[:150],
        detail={
            "service": service_id,
            "outcomes": [r.outcome for r in rows],
            "cards": [r.card.card_key if r.card else "unknown" for r in rows],
            "override_codes": [r.override_code for r in rows if r.override_code],
        },
    )
    return JsonResponse({"received": len(rows)})
