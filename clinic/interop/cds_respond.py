"""CDS Hooks responses: the final cards of a call, recorded (undelivered) so that feedback can be checked and
``patient-view`` does not repeat a card the same user was already shown for the same patient within
CDS_HOOKS_DEDUP_HOURS (order-select always answers: every new order is a new decision)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from clinic.interop import conf
from clinic.interop.cds_cards import CardDraft, finalise, render
from clinic.interop.models import CdsCard


def patient_key(issuer: str, patient_id: str) -> str:
    return hashlib.sha256(f"{issuer}|{patient_id}".encode()).hexdigest()


@dataclass
class CdsResult:
    cards: list[dict[str, Any]]
    keys: list[str]
    suppressed: list[str]


def respond(
    service_id: str, body: dict[str, Any], issuer: str, drafts: list[CardDraft], footer: str, dedupe: bool
) -> CdsResult:
    """Cards for the response, recorded undelivered (cds_views marks them delivered once the EHR has the answer).
    patient-view holds back a card this user was already shown for this patient within the dedup window."""
    context = body["context"]
    pkey = patient_key(issuer, str(context.get("patientId", "")))
    ukey = patient_key(issuer, str(context.get("userId", "")))
    suppressed: list[str] = []
    if dedupe:
        since = timezone.now() - dt.timedelta(hours=conf.cds_dedup_hours())
        recent = set(
            CdsCard.objects.filter(
                patient_key=pkey,
                user_key=ukey,
                service_id=service_id,
                created_at__gte=since,
                delivered_at__isnull=False,
            ).values_list("card_key", flat=True)
        )
        suppressed = [d.key for d in drafts if d.key in recent]
        drafts = [d for d in drafts if d.key not in recent]
    final = finalise(drafts)
    cards = [render(d, footer) for d in final]
    CdsCard.objects.bulk_create(
        [
            CdsCard(
                uuid=card["uuid"],
                service_id=service_id,
                hook_instance=str(body.get("hookInstance", ""))[:100],
                issuer=issuer[:300],
                patient_key=pkey,
                user_key=ukey,
                card_key=draft.key,
                indicator=card["indicator"],
            )
            for draft, card in zip(final, cards, strict=True)
        ]
    )
    return CdsResult(cards, [d.key for d in final], suppressed)
