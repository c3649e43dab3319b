"""The workup's states and the actions allowed in each: ONE table, enforced by every service that changes a workup.

    state            action            new state         refused while an      who
                                                         emergency is pending
    draft            edit              draft                                   any member of the unit
    draft            autosave          draft                                   any member
    draft            acknowledge       draft                                   any member
    draft            make_plan         draft             yes                   any member
    draft            submit            awaiting_review   yes                   any member
    awaiting_review  edit              draft                                   any member (make, submit again)
    awaiting_review  autosave          awaiting_review                         any member (typing only)
    awaiting_review  acknowledge       awaiting_review                         any member
    awaiting_review  make_plan         draft             yes                   any member (submit again)
    awaiting_review  sign              signed            yes                   nephrologist of the unit
    awaiting_review  return_to_nurse   draft                                   nephrologist, with a comment
    signed           revise            signed                                  any member (makes a NEW draft)

Everything else is refused: a draft cannot be signed before it is submitted, a submitted plan is not submitted
again, and a signed workup accepts nothing but revise. "Pending emergency" means an emergency red flag raised by
the answers or by the plan that nobody has acknowledged with a reason. Plain Python: the services load the workup,
ask ``check`` and write the new state in the same guarded UPDATE.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from clinic.accounts.models import Role
from clinic.workups.models import Status


class Act(StrEnum):
    EDIT = "edit"  # save a step's answers
    AUTOSAVE = "autosave"  # keep a step's unfinished typing
    ACKNOWLEDGE = "acknowledge"  # acknowledge an emergency red flag with a reason
    MAKE_PLAN = "make_plan"
    SUBMIT = "submit"
    SIGN = "sign"
    RETURN_TO_NURSE = "return_to_nurse"
    REVISE = "revise"


class NotAllowed(Exception):
    """The user's role or the workup's state does not allow this."""


@dataclass(frozen=True)
class Transition:
    target: Status
    blocked_by_emergency: bool = False
    roles: frozenset[str] | None = None  # None: any member of the workup's unit


ANYONE = None
NEPHROLOGIST = frozenset({Role.NEPHROLOGIST.value})

TABLE: dict[tuple[Status, Act], Transition] = {
    (Status.DRAFT, Act.EDIT): Transition(Status.DRAFT),
    (Status.DRAFT, Act.AUTOSAVE): Transition(Status.DRAFT),
    (Status.DRAFT, Act.ACKNOWLEDGE): Transition(Status.DRAFT),
    (Status.DRAFT, Act.MAKE_PLAN): Transition(Status.DRAFT, blocked_by_emergency=True),
    (Status.DRAFT, Act.SUBMIT): Transition(Status.AWAITING_REVIEW, blocked_by_emergency=True),
    (Status.AWAITING_REVIEW, Act.EDIT): Transition(Status.DRAFT),
    (Status.AWAITING_REVIEW, Act.AUTOSAVE): Transition(Status.AWAITING_REVIEW),
    (Status.AWAITING_REVIEW, Act.ACKNOWLEDGE): Transition(Status.AWAITING_REVIEW),
    (Status.AWAITING_REVIEW, Act.MAKE_PLAN): Transition(Status.DRAFT, blocked_by_emergency=True),
    (Status.AWAITING_REVIEW, Act.SIGN): Transition(Status.SIGNED, blocked_by_emergency=True, roles=NEPHROLOGIST),
    (Status.AWAITING_REVIEW, Act.RETURN_TO_NURSE): Transition(Status.DRAFT, roles=NEPHROLOGIST),
    (Status.SIGNED, Act.REVISE): Transition(Status.SIGNED),
}

# Why an action is refused in a state (the message the user sees); anything not listed gets a generic one.
REFUSALS: dict[tuple[Status, Act], str] = {
    (Status.DRAFT, Act.SIGN): "Submit the care plan for review before it is signed.",
    (Status.DRAFT, Act.RETURN_TO_NURSE): "Only a plan awaiting review is returned to the nurse.",
    (Status.DRAFT, Act.REVISE): "Only a signed plan is revised; a draft can be edited directly.",
    (Status.AWAITING_REVIEW, Act.SUBMIT): "This plan is already awaiting review.",
    (Status.AWAITING_REVIEW, Act.REVISE): "Only a signed plan is revised; this one can be edited directly.",
}
SIGNED_REFUSAL = "This plan is signed and cannot be changed; revise it to make a new version."
ROLE_REFUSALS = {
    Act.SIGN: "Only a nephrologist of this unit can sign a care plan.",
    Act.RETURN_TO_NURSE: "Only a nephrologist of this unit can return a plan to the nurse.",
}
EMERGENCY_REFUSAL = "Acknowledge every emergency red flag first (what you have done about it), then try again."


def check(status: str, act: Act, *, role: str | None, emergency_pending: bool) -> Transition:
    """The transition for ``act`` in ``status``, or NotAllowed with the reason. The order of the checks is the
    order of the reasons a user can act on: the state first, then the role, then the emergency."""
    state = Status(status)
    transition = TABLE.get((state, act))
    if transition is None:
        if state == Status.SIGNED:
            raise NotAllowed(SIGNED_REFUSAL)
        raise NotAllowed(REFUSALS.get((state, act), f"This cannot be done to a plan that is {state.label.lower()}."))
    if transition.roles is not None and role not in transition.roles:
        raise NotAllowed(ROLE_REFUSALS.get(act, "Your role in this unit does not allow this."))
    if transition.blocked_by_emergency and emergency_pending:
        raise NotAllowed(EMERGENCY_REFUSAL)
    return transition


def allowed(status: str, act: Act, *, role: str | None, emergency_pending: bool = False) -> bool:
    """For templates and views: would ``check`` let this through?"""
    try:
        check(status, act, role=role, emergency_pending=emergency_pending)
    except NotAllowed:
        return False
    return True
