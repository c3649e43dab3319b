"""What every change of a workup goes through: the transition table's verdict for this user, a guarded UPDATE
that moves the state only if nobody saved meanwhile, and one audit event. Shared by the step services
(clinic/workups/services.py) and the plan lifecycle (clinic/workups/lifecycle.py)."""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.utils import timezone

from clinic.accounts.models import User
from clinic.audit.services import record
from clinic.workups.merge import StepMerge
from clinic.workups.models import Workup
from clinic.workups.transitions import Act, NotAllowed, Transition, check


class ConflictError(Exception):
    """Someone else saved this workup since the form was opened and, for a step, changed an answer this save
    changes too (``merge`` says which, when the page sent the answers it was opened with); ``by`` is who saved."""

    def __init__(self, current: Workup, slug: str, merge: StepMerge | None = None, by: User | None = None) -> None:
        self.current = current
        self.slug = slug
        self.merge = merge
        self.by = by
        super().__init__(f"Workup {current.public_id} changed (now version {current.version}).")


def audit_workup(action: str, workup: Workup, user: User, request: Any, workup_id: Any = None, **detail: Any) -> None:
    """One audit event about a workup: its patient (opaque id), unit, and codes only in the detail."""
    record(
        action,
        request=request,
        user=user,
        unit=workup.patient.unit,
        patient_public_id=workup.patient.public_id,
        detail={"workup": str(workup_id or workup.public_id), **detail},
    )


def transition_for(workup: Workup, act: Act, user: User, emergency_pending: bool = False) -> Transition:
    return check(workup.status, act, role=user.role_in(workup.patient.unit_id), emergency_pending=emergency_pending)


def locked_update(workup: Workup, expected_version: int, user: User, transition: Transition, **changes: Any) -> Workup:
    """Move the workup to ``transition.target`` and write ``changes``, only if nobody saved since
    ``expected_version`` and the state is still the one the transition was checked in; raise ConflictError (or
    NotAllowed, if it was signed meanwhile) otherwise."""
    updated = Workup.objects.filter(pk=workup.pk, version=expected_version, status=workup.status).update(
        status=transition.target, version=F("version") + 1, updated_by=user, updated_at=timezone.now(), **changes
    )
    fresh = Workup.objects.select_related("patient__unit").get(pk=workup.pk)
    if not updated:
        if fresh.is_signed:
            raise NotAllowed("This plan was signed meanwhile; revise it to make a new version.")
        raise ConflictError(fresh, "")
    return fresh
