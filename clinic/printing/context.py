"""What a printed plan or handout shows: the identifying header on every page and the plan itself."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from clinic.accounts.models import Unit
from clinic.printing.handout import UnitInfo, build_handout
from clinic.workups.decisions import decision_items
from clinic.workups.models import SignedPlan, Status, Workup
from clinic.workups.presenters import plan_view

KINDS = ("plan", "handout")
PAPERS = {"a4": "A4", "letter": "Letter"}
COMPACT_FROM_FLAGS = 6


@dataclass(frozen=True)
class Header:
    patient_name: str
    mrn: str
    date_of_birth: str
    unit: str
    workup_at: str
    status: str
    knowledge_version: str
    preview: bool = False


def _when(value: dt.datetime | None) -> str:
    return timezone.localtime(value).strftime("%d %b %Y %H:%M") if value else "—"


def header_for_workup(workup: Workup, signed: SignedPlan | None, plan: Mapping[str, Any]) -> Header:
    patient = workup.patient
    if signed is not None:
        signer = signed.signed_by.get_full_name() or signed.signed_by.get_username()
        status = f"Signed by {signer}, {_when(signed.signed_at)}"
    elif workup.status == Status.AWAITING_REVIEW:
        status = "DRAFT – awaiting nephrologist review (not signed)"
    else:
        status = "DRAFT – not signed"
    return Header(
        patient_name=f"{patient.family_name.upper()}, {patient.given_name}",
        mrn=patient.mrn,
        date_of_birth=patient.date_of_birth.strftime("%d %b %Y"),
        unit=patient.unit.name,
        workup_at=_when(workup.created_at),
        status=status,
        knowledge_version=str(plan.get("knowledge_version", "")),
    )


def header_for_preview(plan: Mapping[str, Any]) -> Header:
    return Header(
        patient_name="PREVIEW – not saved (no patient record)",
        mrn="—",
        date_of_birth="—",
        unit="—",
        workup_at=_when(timezone.now()),
        status="PREVIEW, NOT SAVED – not signed",
        knowledge_version=str(plan.get("knowledge_version", "")),
        preview=True,
    )


def unit_info(unit: Unit | None) -> UnitInfo | None:
    if unit is None:
        return None
    return UnitInfo(name=unit.name, phone=unit.phone, hours=unit.hours, locale=unit.locale)


def print_context(
    plan: Mapping[str, Any],
    header: Header,
    kind: str,
    paper: str,
    signed: bool,
    *,
    decisions: Mapping[str, Any] | None = None,
    case: Mapping[str, Any] | None = None,
    unit: Unit | None = None,
    comment: str = "",
) -> dict[str, Any]:
    context: dict[str, Any] = {"header": header, "kind": kind, "paper": PAPERS.get(paper, "A4"), "plan": plan}
    if kind == "handout":
        context["handout"] = build_handout(plan, signed=signed, decisions=decisions, case=case, unit=unit_info(unit))
    else:
        context["view"] = plan_view(plan, role="nephrologist")
        context["decisions"] = [
            {"text": item.text, **decisions.get(item.code, {})} for item in decision_items(plan) if decisions
        ]
        context["comment"] = comment
        # Many red flags make a long plan: print it in smaller type (nothing is left out)
        # so it still fits in three pages.
        context["compact"] = len(context["view"]["flags"]) >= COMPACT_FROM_FLAGS
    return context


def workup_print_context(
    workup: Workup, signed: SignedPlan | None, plan: Mapping[str, Any], kind: str, paper: str
) -> dict[str, Any]:
    """The print context of a saved workup: the signed snapshot's decisions and case, the unit's settings."""
    return print_context(
        plan,
        header_for_workup(workup, signed, plan),
        kind,
        paper,
        signed=signed is not None,
        decisions=(signed.decisions or None) if signed is not None else None,
        case=signed.case_json if signed is not None else workup.case_json,
        unit=workup.patient.unit,
        comment=signed.comment if signed is not None else "",
    )
