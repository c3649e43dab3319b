"""CDS Hooks 2.0 services (https://cds-hooks.hl7.org/2.0/): discovery, ``patient-view`` and ``order-select``.

The EHR's prefetched FHIR data is turned into an engine case (labs, conditions, medicines: ``cds_prefetch``) and
the engine's own red flags and drug verdicts become cards (here). Alert-fatigue rules, the reason clinicians
switch such services off:

- at most ONE ``critical`` card per call (the most urgent one; any other would-be critical card is shown as a
  warning);
- one card per subject per call (a red flag or a drug is never carded twice), and ``patient-view`` does not
  repeat a card it already showed for the same patient within CDS_HOOKS_DEDUP_HOURS (order-select always
  answers: every new order is a new decision);
- summaries are one sentence under 140 characters; detail, sources and override reasons carry the rest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from clinic.engine import CaseError, evaluate, load_knowledge
from clinic.engine.contract import HARD_STOP_DRUGS
from clinic.interop import conf
from clinic.interop.cds_prefetch import (
    CdsRequestError,
    PatientData,
    medicines,
    order_label,
    order_medications,
    patient_data,
    prefetch_of,
    resources,
)
from clinic.interop.models import CdsCard

PATIENT_VIEW = "chairside-cramp-red-flags"
ORDER_SELECT = "chairside-hd-drug-check"
INDICATOR = {"emergency": "critical", "urgent": "warning", "soon": "info"}
RANK = {"critical": 0, "warning": 1, "info": 2}
SUMMARY_MAX = 139  # the spec: "<140-character summary"


def prefetch_templates() -> dict[str, str]:
    # Within the spec's recommended prefetch subset: reads, patient reference, token equality, _sort, _count.
    return {
        "patient": "Patient/{{context.patientId}}",
        "observations": "Observation?patient={{context.patientId}}&category=laboratory&_sort=-date&_count=200",
        "conditions": "Condition?patient={{context.patientId}}&clinical-status=active",
        "medications": "MedicationRequest?patient={{context.patientId}}&status=active",
    }


def services() -> list[dict[str, Any]]:
    return [
        {
            "hook": "patient-view",
            "id": PATIENT_VIEW,
            "title": "Chairside: haemodialysis cramp red flags",
            "description": "Red flags from recent labs (potassium, magnesium, calcium, sodium, glucose, aluminium) "
            "and drugs to avoid in haemodialysis among the active orders, with a suggestion to remove them.",
            "prefetch": prefetch_templates(),
            "usageRequirements": "Send all four prefetch keys (null when there is no data): Chairside does not "
            "query the FHIR server, and answers 412 when a key is missing.",
        },
        {
            "hook": "order-select",
            "id": ORDER_SELECT,
            "title": "Chairside: dialysis-safe drug check",
            "description": "Checks a draft medication order against Chairside's haemodialysis drug verdicts; a drug "
            "to avoid (for example baclofen) gives one critical card with a suggestion to remove the draft order.",
            "prefetch": prefetch_templates(),
        },
    ]


# ------------------------------------------------------------------------------------------------ cards


@dataclass
class CardDraft:
    key: str
    indicator: str
    summary: str
    detail: str
    sources: tuple[str, ...]
    suggestions: list[dict[str, Any]] = field(default_factory=list)
    reasons: str = "red_flag"


OVERRIDE_REASONS = {
    "drug": [
        ("home-hd-residual-function", "On home haemodialysis with residual kidney function"),
        ("palliative", "Palliative care: benefit outweighs the risk"),
        ("specialist-advice", "Continued on a specialist's advice"),
        ("other", "Other reason (please comment)"),
    ],
    "red_flag": [
        ("already-managed", "Already known and being managed"),
        ("result-in-error", "The result is wrong or out of date"),
        ("other", "Other reason (please comment)"),
    ],
}


def override_system() -> str:
    return f"{conf.system_base()}/CodeSystem/override-reason"


def override_codes(card_key: str) -> set[str]:
    """The override reason codes a card offered (drug cards, red flags; none for a 'not checked' card)."""
    if card_key.startswith("unchecked."):
        return set()
    return {code for code, _ in OVERRIDE_REASONS["drug" if card_key.startswith("drug.") else "red_flag"]}


def _summary(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1].rstrip() + "…"


def _source(draft: CardDraft) -> dict[str, Any]:
    knowledge = load_knowledge()
    source: dict[str, Any] = {
        "label": f"Chairside knowledge base {knowledge.version}"
        + (f", source {draft.sources[0]}" if draft.sources else ""),
        "topic": {"system": f"{conf.system_base()}/CodeSystem/card-topic", "code": draft.key, "display": draft.key},
    }
    url = next((r.url for s in draft.sources if (r := knowledge.references.get(s)) and r.url), None)
    if url:
        source["url"] = url
    return source


def _sources_text(sources: Iterable[str]) -> str:
    knowledge = load_knowledge()
    parts = []
    for sid in sources:
        ref = knowledge.references.get(sid)
        if ref is None:
            continue
        parts.append(f"- {sid}: [{ref.title}]({ref.url})" if ref.url else f"- {sid}: {ref.title}")
    return "\n".join(parts)


def red_flag_cards(plan: Any) -> list[CardDraft]:
    drafts = []
    for flag in plan.red_flags:
        actions = "\n".join(f"- {a}" for a in flag.actions)
        drafts.append(
            CardDraft(
                key=flag.code,
                indicator=INDICATOR[flag.urgency],
                summary=_summary(f"{flag.title}: {flag.why}"),
                detail=f"**{flag.title}** ({flag.urgency}). {flag.why}.\n\n{actions}",
                sources=tuple(flag.sources),
            )
        )
    return drafts


def drug_cards(plan: Any, drugs: dict[str, list[str]], draft_orders: bool) -> list[CardDraft]:
    knowledge = load_knowledge()
    drafts = []
    for code, order_ids in drugs.items():
        if code not in knowledge.drugs:
            continue
        verdict = plan.verdict(code)
        drug = knowledge.drugs[code]
        if verdict.verdict == "usable" or (verdict.verdict == "caution" and not draft_orders):
            continue
        hard_stop = drug.hard_stop or code in HARD_STOP_DRUGS
        what = "this draft order" if draft_orders else "the active order"
        if verdict.verdict == "avoid":
            indicator = "critical" if hard_stop else "warning"
            summary = f"{drug.name}: avoid in haemodialysis" + (" (hard stop)." if hard_stop else ".")
        else:
            indicator = "info"
            summary = f"{drug.name}: use with caution in haemodialysis; prescriber only."
        suggestions = []
        if verdict.verdict == "avoid":
            for ref in order_ids:
                suggestions.append(
                    {
                        "label": f"Remove {what} for {drug.name}",
                        "uuid": str(uuid.uuid4()),
                        "isRecommended": True,
                        "actions": [
                            {"type": "delete", "description": f"Remove {ref} ({drug.name})", "resourceId": ref}
                        ],
                    }
                )
        dose = f"\n\nDose if used: {drug.dose}" if drug.dose else ""
        drafts.append(
            CardDraft(
                key=f"drug.{code}",
                indicator=indicator,
                summary=_summary(summary),
                detail=f"**{drug.name}** — verdict: {verdict.verdict}. {verdict.why}{dose}",
                sources=tuple(verdict.sources or drug.sources),
                suggestions=suggestions,
                reasons="drug",
            )
        )
    return drafts


def finalise(drafts: list[CardDraft]) -> list[CardDraft]:
    """One card per key, most urgent first, and at most one critical card."""
    unique: dict[str, CardDraft] = {}
    for draft in drafts:
        if draft.key not in unique or RANK[draft.indicator] < RANK[unique[draft.key].indicator]:
            unique[draft.key] = draft
    # An emergency red flag (danger now) outranks a drug card of the same indicator.
    ordered = sorted(unique.values(), key=lambda d: (RANK[d.indicator], 0 if d.reasons == "red_flag" else 1))
    seen_critical = False
    for draft in ordered:
        if draft.indicator == "critical":
            if seen_critical:
                draft.indicator = "warning"
                draft.detail += "\n\n(Shown as a warning: Chairside sends at most one critical card at a time.)"
            seen_critical = True
    return sorted(ordered, key=lambda d: RANK[d.indicator])


def render(draft: CardDraft, footer: str) -> dict[str, Any]:
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": draft.summary,
        "indicator": draft.indicator,
        "detail": draft.detail + (f"\n\n**Sources**\n{_sources_text(draft.sources)}" if draft.sources else "") + footer,
        "source": _source(draft),
    }
    if draft.reasons:
        card["overrideReasons"] = [
            {"system": override_system(), "code": code, "display": display}
            for code, display in OVERRIDE_REASONS[draft.reasons]
        ]
    if draft.suggestions:
        card["suggestions"] = draft.suggestions
        card["selectionBehavior"] = "at-most-one"
    return card


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


MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~&:])")


def md_text(text: str, limit: int = 120) -> str:
    """Free text from the EHR as literal markdown text: one line, every markdown character escaped, so a medicine
    name can never add a link, an image or formatting to a card."""
    flat = " ".join(str(text).split())
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return MARKDOWN_SPECIAL.sub(r"\\\1", flat)


def unchecked_card(labels: list[str], draft_orders: bool) -> CardDraft | None:
    """A medicine Chairside cannot map is said to be NOT checked (no card would read as "no problem")."""
    names = sorted(set(labels))
    if not names:
        return None
    what = "draft order" if draft_orders else "active order"
    first = " ".join(names[0].split())
    summary = f"Not checked by Chairside: {first}" + (f" and {len(names) - 1} more" if len(names) > 1 else "")
    detail = (
        f"Chairside does not recognise the medicine of this {what}, so it did not check it against its "
        "haemodialysis drug guidance. Check it by hand (dose in haemodialysis, cramp or spasm risk):\n\n"
        + "\n".join(f"- {md_text(n)}" for n in names)
    )
    key = "unchecked." + hashlib.sha256("|".join(names).encode()).hexdigest()[:16]
    return CardDraft(key=key, indicator="info", summary=_summary(summary), detail=detail, sources=(), reasons="")


def _footer(data: PatientData, note: str = "") -> str:
    lines = [f"\n\n_Chairside knowledge base {load_knowledge().version} (draft: clinical review pending)._"]
    if data.unmapped:
        names = "; ".join(md_text(n) for n in sorted(set(data.unmapped)))
        lines.append("Medicines Chairside could not map (not checked): " + names)
    if note:
        lines.append(note)
    return "\n\n".join(lines)


def _evaluate(case: dict[str, Any]) -> Any:
    try:
        return evaluate(case)
    except CaseError as exc:
        raise CdsRequestError(
            "The prefetched data cannot be read: " + "; ".join(e["message"] for e in exc.errors[:3])
        ) from exc


def patient_view(body: dict[str, Any], issuer: str) -> CdsResult:
    prefetch = prefetch_of(body)
    missing = [k for k in prefetch_templates() if k not in prefetch]
    if missing:
        raise CdsRequestError(
            f"Prefetch keys missing: {', '.join(missing)}. Chairside does not query the FHIR server; send them "
            "(null when there is no data).",
            status=412,
        )
    data = patient_data(prefetch)
    plan = _evaluate(data.case)
    drafts = red_flag_cards(plan) + drug_cards(plan, data.orders, draft_orders=False)
    unchecked = unchecked_card(data.unmapped, draft_orders=False)
    if unchecked is not None:
        drafts.append(unchecked)
    return respond(PATIENT_VIEW, body, issuer, drafts, _footer(data), dedupe=True)


def order_select(body: dict[str, Any], issuer: str) -> CdsResult:
    context = body["context"]
    bundle = context.get("draftOrders")
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise CdsRequestError("context.draftOrders must be a FHIR Bundle of the draft orders.")
    selections = context.get("selections")
    if selections is not None and not (isinstance(selections, list) and all(isinstance(s, str) for s in selections)):
        raise CdsRequestError("context.selections must be a list of references such as MedicationRequest/123.")
    selected = set(selections) if selections else None
    prefetch = prefetch_of(body)
    data = patient_data(prefetch)
    media = medicines(bundle, *prefetch.values())
    drafts_by_med: dict[str, list[str]] = {}
    unmapped: list[str] = []
    for order in resources(bundle, "MedicationRequest"):
        # A draft without an id is still checked, but no suggestion can name it (never "MedicationRequest/").
        ref = f"MedicationRequest/{order['id']}" if isinstance(order.get("id"), str) and order["id"] else ""
        if selected is not None and ref and ref not in selected:
            continue
        codes = order_medications(order, media)
        if not codes:
            unmapped.append(order_label(order, media))
            continue
        for med in codes:
            drafts_by_med.setdefault(med, [])
            if ref:
                drafts_by_med[med].append(ref)
    case = dict(data.case)
    case["medications"] = sorted(set(case.get("medications", [])) | set(drafts_by_med))
    plan = _evaluate(case)
    note = "" if prefetch else "No patient data was sent: the verdict is the default for a haemodialysis patient."
    drafts = drug_cards(plan, drafts_by_med, draft_orders=True)
    unchecked = unchecked_card(unmapped, draft_orders=True)
    if unchecked is not None:
        drafts.append(unchecked)
    return respond(ORDER_SELECT, body, issuer, drafts, _footer(data, note), dedupe=False)


HANDLERS = {PATIENT_VIEW: ("patient-view", patient_view), ORDER_SELECT: ("order-select", order_select)}
