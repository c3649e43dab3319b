"""A signed plan's PDF as stored at signing, read with one query: the stored bytes of the kind asked for, only
through a signed workup of one of the user's units, plus the few columns the audit event and the file name need
(no plan, answers or snapshot JSON is read, nothing is rendered). The unit's default paper size comes from the
units already loaded with the user's memberships, so the query joins only the workup and its patient."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from uuid import UUID

from clinic.accounts.models import Unit
from clinic.workups.models import SignedPlan, Status


@dataclass(frozen=True)
class StoredPdf:
    pdf: bytes
    paper: str  # the paper size it was rendered in (the unit's default at signing)
    default_paper: str  # the unit's default paper size now
    created_at: dt.datetime
    patient_public_id: UUID
    unit_id: int


def find_stored_pdf(public_id: str, kind: str, units: Mapping[int, Unit]) -> StoredPdf | None:
    """The stored PDF, or None if there is none to serve (no such signed workup in these units, nothing stored).
    ``units``: the user's units by id."""
    rows = (
        SignedPlan.objects.filter(
            workup__public_id=public_id, workup__status=Status.SIGNED, workup__patient__unit_id__in=list(units)
        ).values_list(
            "plan_pdf" if kind == "plan" else "handout_pdf",
            "pdf_paper",
            "workup__created_at",
            "workup__patient__public_id",
            "workup__patient__unit_id",
        )
    )[:1]  # a workup has one signed plan; no ordering needed
    row = next(iter(rows), None)
    if row is None or not row[0]:
        return None
    pdf, paper, created_at, patient_public_id, unit_id = row
    return StoredPdf(bytes(pdf), paper, units[unit_id].default_paper, created_at, patient_public_id, unit_id)
