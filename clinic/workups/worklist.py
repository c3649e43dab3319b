"""The worklist, home page of nephrologists and nurses: plans awaiting review in the nephrologist's units (oldest
first, with their red flags), and the nurse's own drafts and the plans returned to her. Every query is scoped to
the user's units, the page costs the same number of queries however many rows it has, and viewing it is audited
(it lists patients)."""

from __future__ import annotations

from typing import Any

from django.db.models import F, QuerySet
from django.db.models.fields.json import KeyTransform
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from clinic.accounts.models import Role, User
from clinic.audit.models import Action
from clinic.audit.services import record
from clinic.workups.models import Status, Workup
from clinic.workups.presenters import URGENCY_CLASS

ROWS = 100
URGENCY_ORDER = ("emergency", "urgent", "soon")
ROW_FIELDS = (
    *("public_id", "status", "created_at", "submitted_at", "returned_at", "return_comment", "updated_at"),
    *("patient", "submitted_by", "returned_by", "created_by"),
    *(f"patient__{name}" for name in ("public_id", "given_name", "family_name", "mrn", "unit")),
    "patient__unit__name",
    *(f"submitted_by__{name}" for name in ("username", "first_name", "last_name")),
    *(f"returned_by__{name}" for name in ("username", "first_name", "last_name")),
)


def review_unit_ids(user: User) -> list[int]:
    return [m.unit_id for m in user.cached_memberships() if m.role == Role.NEPHROLOGIST]


def awaiting_review(user: User) -> QuerySet[Workup]:
    """Plans awaiting review in the units where the user is a nephrologist, oldest submission first."""
    return Workup.objects.for_user(user).filter(
        status=Status.AWAITING_REVIEW, patient__unit_id__in=review_unit_ids(user)
    )


def awaiting_count(user: Any) -> int:
    """For the navigation badge (one COUNT query, only for nephrologists)."""
    if not getattr(user, "is_authenticated", False) or not review_unit_ids(user):
        return 0
    return awaiting_review(user).count()


def _flag(flag: dict[str, Any]) -> dict[str, str]:
    urgency = str(flag.get("urgency", ""))
    return {"urgency": urgency, "title": str(flag.get("title", "")), "css": URGENCY_CLASS.get(urgency, "secondary")}


def _rows(queryset: QuerySet[Workup]) -> list[Workup]:
    rows = list(
        queryset.select_related("patient__unit", "submitted_by", "returned_by")
        .only(*ROW_FIELDS)
        .annotate(flag_list=KeyTransform("red_flags", "plan_json"))[:ROWS]
    )
    for row in rows:
        flags = row.flag_list if isinstance(row.flag_list, list) else []
        row.flags = sorted(
            (_flag(f) for f in flags if isinstance(f, dict)),
            key=lambda f: URGENCY_ORDER.index(f["urgency"]) if f["urgency"] in URGENCY_ORDER else len(URGENCY_ORDER),
        )
    return rows


@require_GET
def worklist_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    reviewer = bool(review_unit_ids(user))
    awaiting = _rows(awaiting_review(user).order_by(F("submitted_at").asc(nulls_first=True), "id")) if reviewer else []
    mine = Workup.objects.for_user(user).filter(status=Status.DRAFT, created_by=user)
    returned = _rows(mine.filter(returned_at__isnull=False).order_by("-returned_at", "-id"))
    drafts = _rows(mine.filter(returned_at__isnull=True).order_by("-updated_at", "-id"))
    record(
        Action.WORKLIST_VIEW,
        request=request,
        detail={
            "awaiting": [str(w.public_id) for w in awaiting],
            "returned": [str(w.public_id) for w in returned],
            "drafts": len(drafts),
        },
    )
    context = {
        "reviewer": reviewer,
        "awaiting": awaiting,
        "returned": returned,
        "drafts": drafts,
        "multi_unit": len(user.unit_ids()) > 1,
        "rows_limit": ROWS,
    }
    return render(request, "workups/worklist.html", context)
