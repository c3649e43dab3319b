"""Drug verdicts (facts.md §2 + addendum) and order checks.

Safety structure:
- The verdict scale is ordered (usable < caution < avoid). The final verdict is the MAXIMUM of the default and
  every matching tightening factor, so no input can make a verdict looser than the facts-sheet default.
- Hard-stop drugs (baclofen, quinine, quinidine) are forced to "avoid" in code, whatever the TOML or the case says.
- ``check_order`` hard-blocks hard-stop drugs and 23.4% NaCl above the policy maximum; no input can switch it off.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from .contract import DRUGS, HARD_STOP_DRUGS, VERDICTS
from .derived import Ctx
from .factors import evaluate_factor
from .input_names import input_name
from .knowledge import DrugDef, Knowledge, fmt_number, load_knowledge, normalise_unit
from .types import Case, DrugVerdict, OrderCheck

STRICTNESS: Mapping[str, int] = {v: i for i, v in enumerate(VERDICTS)}


def stricter(a: str, b: str) -> str:
    """The stricter of two verdicts (never the looser one)."""
    return a if STRICTNESS[a] >= STRICTNESS[b] else b


def default_verdict(d: DrugDef) -> str:
    if d.hard_stop or d.code in HARD_STOP_DRUGS:
        return "avoid"
    return d.verdict


def _dose_text(d: DrugDef, verdict: str, c: Ctx) -> str | None:
    if verdict == "avoid" or d.dose is None:
        return None
    dose = d.dose
    if d.code == "levocarnitine":
        w = c.case.patient.dry_weight_kg or c.case.dialysis.target_weight_kg
        if w:
            lo = c.k.value("levocarnitine_min_mg_kg") * w
            hi = c.k.value("levocarnitine_max_mg_kg") * w
            dose += f" For {fmt_number(w)} kg dry weight: {fmt_number(round(lo))}–{fmt_number(round(hi))} mg."
    return dose


def verdict_for(d: DrugDef, c: Ctx) -> DrugVerdict:
    base = default_verdict(d)
    verdict = base
    reasons: list[str] = []
    tightened: list[str] = []
    not_assessed: list[str] = []
    for rule in d.tighten:
        state, detail, inputs = evaluate_factor(rule.factor, c)
        if state is True:
            verdict = stricter(verdict, rule.verdict)
            reasons.append(rule.why + (f" ({detail})" if detail else ""))
            if STRICTNESS[rule.verdict] > STRICTNESS[base]:
                tightened.append(rule.factor)
        elif state is None:
            for name in inputs:
                if name not in not_assessed:
                    not_assessed.append(name)
    if d.hard_stop or d.code in HARD_STOP_DRUGS:
        verdict = "avoid"
    on_list = d.code in c.meds
    parts: list[str] = []
    if tightened:
        parts.append(f"{verdict.capitalize()} for this patient: " + "; ".join(reasons) + ".")
    elif reasons:
        parts.append("Also: " + "; ".join(reasons) + ".")
    parts.append(d.why)
    if on_list:
        if d.code == "baclofen":
            parts.append("On the medication list. " + c.k.advice["baclofen_taper"])
        elif verdict == "avoid":
            parts.append("On the medication list: review with the prescriber.")
        else:
            parts.append("On the medication list.")
    if not_assessed and verdict != "avoid":
        names = ", ".join(input_name(path, c.k) for path in not_assessed)
        parts.append(f"Could be stricter; not assessed: {names}.")
    return DrugVerdict(
        drug=d.code,
        verdict=verdict,  # type: ignore[arg-type]
        why=" ".join(parts),
        dose=_dose_text(d, verdict, c),
        sources=d.sources,
        name=d.name,
        default_verdict=base,  # type: ignore[arg-type]
        evidence=d.evidence,  # type: ignore[arg-type]
        hard_stop=d.hard_stop or d.code in HARD_STOP_DRUGS,
        tightened_by=tuple(tightened),
        on_medication_list=on_list,
        not_assessed=tuple(not_assessed) if verdict != "avoid" else (),
        max_duration=d.max_duration,
        monitoring=d.monitoring,
    )


def drug_verdicts(c: Ctx) -> tuple[DrugVerdict, ...]:
    k = c.k
    order = [code for code in DRUGS if code in k.drugs] + [code for code in k.drugs if code not in DRUGS]
    return tuple(verdict_for(k.drugs[code], c) for code in order)


# ------------------------------------------------------------------------------------------ order checks


def check_order(
    drug_code: str,
    amount: float,
    unit: str,
    case_or_none: Case | Mapping[str, object] | None = None,
    knowledge: Knowledge | None = None,
) -> OrderCheck:
    """Check one proposed order (a single dose) against the knowledge base and, if given, the patient.

    Returns OrderCheck(allowed, hard_stop, message, sources). ``hard_stop`` orders can never be overridden.
    """
    k = knowledge or load_knowledge()
    d = k.drugs.get(drug_code) if isinstance(drug_code, str) else None
    if d is None:
        return OrderCheck(False, False, f"'{drug_code}' is not a drug Chairside checks", ())
    sources = d.sources

    if d.hard_stop or d.code in HARD_STOP_DRUGS:
        return OrderCheck(
            False,
            True,
            f"{d.name} must not be given to a patient on haemodialysis (hard stop). {d.why}",
            sources,
        )

    if isinstance(amount, bool) or not isinstance(amount, int | float) or not math.isfinite(amount) or amount <= 0:
        return OrderCheck(False, False, "the amount must be a positive number", sources)

    lim = d.order
    amount_for_limit = float(amount)
    if lim is not None:
        allowed_units = {normalise_unit(u): u for u in lim.units}
        key = normalise_unit(unit) if isinstance(unit, str) else ""
        if key not in allowed_units:
            return OrderCheck(
                False, False, f"'{unit}' is not a unit for {d.name}; use {' or '.join(lim.units)}", sources
            )
        if d.code == "levocarnitine" and key == "mg":
            weight = _weight(case_or_none, k)
            if weight is None:
                return OrderCheck(
                    False, False, "give the levocarnitine dose in mg/kg, or record the dry weight", sources
                )
            amount_for_limit = amount / weight
        if lim.max_id is not None:
            t = k.t(lim.max_id)
            if t.hit(amount_for_limit):
                shown_unit = "mg/kg" if d.code == "levocarnitine" else t.unit
                return OrderCheck(
                    False,
                    lim.hard_stop_above,
                    f"{fmt_number(round(amount_for_limit, 2))} {shown_unit} of {d.name} is above the maximum of "
                    f"{fmt_number(t.value)} {t.unit} ({t.label})"
                    + (": hard stop, no override" if lim.hard_stop_above else ""),
                    tuple(dict.fromkeys((*sources, *t.sources))),
                )

    if case_or_none is None:
        verdict, why = default_verdict(d), d.why
    else:
        from .evaluate import evaluate  # local import: evaluate imports this module

        plan = evaluate(case_or_none, k)
        v = plan.verdict(d.code)
        verdict, why = v.verdict, v.why
    if verdict == "avoid":
        return OrderCheck(False, False, f"{d.name}: avoid for this patient. {why}", sources)
    if verdict == "caution":
        return OrderCheck(True, False, f"{d.name}: caution, prescriber only. {why}", sources)
    return OrderCheck(True, False, f"{d.name}: within the knowledge base limits. {why}", sources)


def _weight(case_or_none: Case | Mapping[str, object] | None, k: Knowledge) -> float | None:
    if case_or_none is None:
        return None
    if not isinstance(case_or_none, Case):
        from .validation import validate_case

        case_or_none = validate_case(case_or_none, k)
    return case_or_none.patient.dry_weight_kg or case_or_none.dialysis.target_weight_kg
