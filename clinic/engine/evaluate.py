"""Orchestration: case -> care plan. Pure and deterministic (no clock, no randomness, no I/O after loading)."""

from __future__ import annotations

from collections.abc import Mapping

from .actions import State, build_do_now, build_steps
from .contract import PLAN_SCHEMA
from .derived import Volume, build_ctx, derived_output
from .drugs import drug_verdicts
from .knowledge import Knowledge, fmt_number, load_knowledge
from .missing import compute_missing
from .redflags import detect
from .screens import open_screens
from .types import CarePlan, Case
from .validation import validate_case


def evaluate(case: Case | Mapping[str, object], knowledge: Knowledge | None = None) -> CarePlan:
    """Evaluate a case. A Mapping is validated first (raises CaseError with every problem)."""
    k = knowledge or load_knowledge()
    if not isinstance(case, Case):
        case = validate_case(case, k)
    ctx = build_ctx(case, k)
    red_flags = detect(ctx)
    verdicts = drug_verdicts(ctx)
    missing = compute_missing(ctx)
    state = State(verdicts={v.drug: v for v in verdicts}, missing=missing, open_screens=open_screens(ctx))
    steps = build_steps(ctx, state)
    return CarePlan(
        schema=PLAN_SCHEMA,
        knowledge_version=k.version,
        red_flags=red_flags,
        steps=steps,
        drugs=verdicts,
        derived=derived_output(ctx),
        missing=missing,
        warnings=_warnings(case, k),
        knowledge_status=k.status,
        knowledge_hash=k.content_hash,
        input_checks=_input_checks(ctx.vol, k),
        do_now=build_do_now(ctx, red_flags, steps),
    )


def _input_checks(vol: Volume, k: Knowledge) -> tuple[str, ...]:
    """Derived values so far out that the inputs are probably wrong: never silently computed, shown first."""
    out = []
    if k.hit("idwg_implausible", vol.idwg):
        out.append(
            f"Check the weights: an interdialytic weight gain of {vol.idwg:.1f} % of dry weight is above "
            f"{fmt_number(k.value('idwg_implausible'))} % and rarely real; the plan uses the weights as entered."
        )
    if k.hit("ufr_implausible", vol.uf_rate):
        out.append(
            f"Check the weights and the session length: a UF rate of {vol.uf_rate:.1f} mL/kg/h is above "
            f"{fmt_number(k.value('ufr_implausible'))} mL/kg/h and rarely real; the plan uses them as entered."
        )
    return tuple(out)


def _warnings(case: Case, k: Knowledge) -> tuple[str, ...]:
    out = [f"unrecognised medication: {name}" for name in case.unrecognised_medications]
    out += [f"medication {note}" for note in case.medication_notes]
    post = sorted(k.analytes[lab.analyte].short for lab in case.labs if lab.when == "post_dialysis")
    if post:
        out.append(
            "measured after dialysis (read only by the rules that apply after dialysis; the pre-dialysis "
            "rules need a pre-dialysis sample): " + ", ".join(post)
        )
    d = case.dialysis
    if (
        d.pre_weight_kg is not None
        and d.target_weight_kg is not None
        and d.uf_volume_ml is None
        and d.pre_weight_kg < d.target_weight_kg
    ):
        out.append("pre-dialysis weight is below the target weight; UF volume taken as 0 mL")
    return tuple(out)
