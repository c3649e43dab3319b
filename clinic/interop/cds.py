"""CDS Hooks 2.0 services (https://cds-hooks.hl7.org/2.0/): discovery, ``patient-view`` and ``order-select``.

The EHR's prefetched FHIR data is turned into an engine case (labs, conditions, medicines: ``cds_prefetch``) and
the engine's own red flags and drug verdicts become cards (``cds_cards``), recorded and de-duplicated by
``cds_respond``. Alert-fatigue rules, the reason clinicians switch such services off:

- at most ONE ``critical`` card per call (the most urgent one; any other would-be critical card is shown as a
  warning);
- one card per subject per call (a red flag or a drug is never carded twice), and ``patient-view`` does not
  repeat a card it already showed for the same patient within CDS_HOOKS_DEDUP_HOURS (order-select always
  answers: every new order is a new decision);
- summaries are one sentence under 140 characters; detail, sources and override reasons carry the rest.
"""

from __future__ import annotations

from typing import Any

from clinic.engine import CaseError, evaluate
from clinic.interop.cds_cards import card_footer, drug_cards, red_flag_cards, unchecked_card
from clinic.interop.cds_prefetch import (
    CdsRequestError,
    medicines,
    order_label,
    order_medications,
    patient_data,
    prefetch_of,
    resources,
)
from clinic.interop.cds_respond import CdsResult, respond

PATIENT_VIEW = "chairside-cramp-red-flags"
ORDER_SELECT = "chairside-hd-drug-check"


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
    return respond(PATIENT_VIEW, body, issuer, drafts, card_footer(data), dedupe=True)


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
    return respond(ORDER_SELECT, body, issuer, drafts, card_footer(data, note), dedupe=False)


HANDLERS = {PATIENT_VIEW: ("patient-view", patient_view), ORDER_SELECT: ("order-select", order_select)}
