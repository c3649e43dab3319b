"""CDS Hooks cards: the engine's red flags and drug verdicts as card drafts, the alert-fatigue rules that keep at
most one critical card and one card per subject, and the cards' JSON (sources, override reasons, suggestions).

Summaries are one sentence under 140 characters; detail, sources and override reasons carry the rest. Free text
from the EHR enters a card only through ``md_text`` (escaped markdown).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from clinic.engine import load_knowledge
from clinic.engine.contract import HARD_STOP_DRUGS
from clinic.interop import conf
from clinic.interop.cds_prefetch import PatientData

INDICATOR = {"emergency": "critical", "urgent": "warning", "soon": "info"}
RANK = {"critical": 0, "warning": 1, "info": 2}
SUMMARY_MAX = 139  # the spec: "<140-character summary"


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


def card_footer(data: PatientData, note: str = "") -> str:
    lines = [f"\n\n_Chairside knowledge base {load_knowledge().version} (draft: clinical review pending)._"]
    if data.unmapped:
        names = "; ".join(md_text(n) for n in sorted(set(data.unmapped)))
        lines.append("Medicines Chairside could not map (not checked): " + names)
    if note:
        lines.append(note)
    return "\n\n".join(lines)
