"""CDS Hooks feedback items, checked as the specification's feedback rules require before anything is stored."""

from __future__ import annotations

import uuid
from typing import Any

from clinic.interop import cds_cards
from clinic.interop.cds_prefetch import CdsRequestError
from clinic.interop.fhir_import import parse_fhir_datetime
from clinic.interop.models import CdsCard, CdsFeedback, Outcome


def feedback_row(item: Any, n: int, service_id: str, issuer: str, cards: dict[uuid.UUID, CdsCard]) -> CdsFeedback:
    """One feedback item, checked as the specification's feedback rules require: a card this service returned to
    this client, an outcome, and for an override, a reason the card offered (or none at all)."""
    where = f"feedback[{n}]"
    if not isinstance(item, dict) or not isinstance(item.get("card"), str):
        raise CdsRequestError(f"{where}.card (the card uuid) is required.")
    card = cards.get(as_uuid(item["card"]))  # type: ignore[arg-type]
    if card is None or card.service_id != service_id:
        raise CdsRequestError(f"{where}.card: this service returned no card {item['card'][:100]} to this client.")
    outcome = item.get("outcome")
    if outcome not in Outcome.values:
        raise CdsRequestError(f"{where}.outcome must be 'accepted' or 'overridden'.")
    when = parse_fhir_datetime(item.get("outcomeTimestamp"))
    if when is None:
        raise CdsRequestError(f"{where}.outcomeTimestamp must be an ISO 8601 date-time.")
    accepted = item.get("acceptedSuggestions", [])
    if outcome == Outcome.ACCEPTED and (
        not isinstance(accepted, list) or not accepted or not all(isinstance(a, dict) and a.get("id") for a in accepted)
    ):
        raise CdsRequestError(f"{where}.acceptedSuggestions (each with an id) is required when accepted.")
    reason = item.get("overrideReason", {})
    coding = override_coding(item, where, outcome, card) if "overrideReason" in item else {}
    return CdsFeedback(
        card=card,
        card_uuid=item["card"][:100],
        service_id=service_id,
        issuer=issuer[:300],
        outcome=outcome,
        accepted_suggestions=[str(a["id"])[:100] for a in accepted] if outcome == Outcome.ACCEPTED else [],
        override_system=str(coding.get("system", ""))[:300],
        override_code=str(coding.get("code", ""))[:100],
        user_comment=str(reason.get("userComment", ""))[:500] if isinstance(reason, dict) else "",
        outcome_at=when,
    )


def as_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if isinstance(value, str) else None
    except ValueError:
        return None


def override_coding(item: dict[str, Any], where: str, outcome: Any, card: CdsCard) -> dict[str, Any]:
    """An override's reason: only for an overridden card, a reason the card offered or a comment (or both)."""
    reason = item["overrideReason"]
    coding: dict[str, Any] = {}
    if outcome != Outcome.OVERRIDDEN:
        raise CdsRequestError(f"{where}.overrideReason is only for an overridden card.")
    if not isinstance(reason, dict) or not reason:
        raise CdsRequestError(f"{where}.overrideReason must be an object with a reason or userComment.")
    if "userComment" in reason and not isinstance(reason["userComment"], str):
        raise CdsRequestError(f"{where}.overrideReason.userComment must be a string.")
    if "reason" in reason:
        coding = reason["reason"] if isinstance(reason["reason"], dict) else {}
        offered = cds_cards.override_codes(card.card_key)
        if coding.get("system") != cds_cards.override_system() or coding.get("code") not in offered:
            raise CdsRequestError(
                f"{where}.overrideReason.reason must be one of the card's overrideReasons "
                f"({', '.join(sorted(offered)) or 'none offered'})."
            )
    elif not str(reason.get("userComment", "")).strip():
        raise CdsRequestError(f"{where}.overrideReason must have a reason or a userComment.")
    return coding
