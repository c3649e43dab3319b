"""Wizard answers for the bench's synthetic workups (``manage.py bench_data``): random but plausible step data,
run through each step's own form exactly as the wizard does, and moved to a patient's recorded dry weight."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from django.core.management.base import CommandError
from django.http import QueryDict

from clinic.accounts.models import LabUnitSystem
from clinic.core.management.commands.load_demo import CONDITION_POOL, LAB_PLAN, MEDICATION_POOL, US_FACTOR
from clinic.engine import load_knowledge
from clinic.workups.steps import BY_SLUG


def _episode(rng: random.Random) -> dict[str, Any]:
    return {
        "timing": "during_dialysis",
        "ongoing": rng.choice(["yes", "no", ""]),
        "minutes_into_session": str(rng.randint(30, 205)),
        "sites": rng.sample(["legs", "arms", "hands", "neck", "back"], rng.randint(1, 2)),
        "kind": rng.choice(["cramp", "cramp", "spasm", "jerks", "twitching"]),
        "severity_0_10": str(rng.randint(2, 9)),
        "episodes_last_4_weeks": str(rng.randint(0, 12)),
        "duration_weeks": str(rng.randint(1, 26)),
    }


def _redflags(rng: random.Random) -> dict[str, str]:
    findings = list(load_knowledge().findings)
    data = dict.fromkeys(rng.sample(findings, min(len(findings), rng.randint(4, 10))), "no")
    if rng.random() < 0.3:
        data[rng.choice(findings)] = "yes"
    return data


def _vitals(rng: random.Random) -> dict[str, str]:
    pre = rng.randint(110, 170)
    return {
        "sbp_pre_mmhg": str(pre),
        "sbp_nadir_mmhg": str(pre - rng.randint(5, 50)),
        "heart_rate_bpm": str(rng.randint(60, 100)),
        "temperature_c": f"{rng.uniform(36.2, 37.4):.1f}",
    }


def _labs(rng: random.Random, system: str) -> dict[str, str]:
    data: dict[str, str] = {}
    for analyte, si_unit, us_unit, mean, spread in LAB_PLAN[:5]:
        value_si = max(rng.gauss(mean, spread), mean / 2)
        use_us = system == LabUnitSystem.US and analyte in US_FACTOR
        value = value_si / US_FACTOR[analyte] if use_us else value_si
        data[f"{analyte}__value"] = f"{value:.2f}"
        data[f"{analyte}__unit"] = us_unit if use_us else si_unit
        data[f"{analyte}__when"] = "pre_dialysis"
    return data


def _dialysis(rng: random.Random) -> dict[str, str]:
    dry = round(rng.uniform(50, 100), 1)
    return {
        "pre_weight_kg": f"{dry + rng.uniform(0.5, 4.5):.1f}",
        "previous_post_weight_kg": f"{dry + rng.uniform(0, 0.8):.1f}",
        "target_weight_kg": f"{dry:.1f}",
        "session_minutes": rng.choice(["210", "240", "240", "270"]),
        "sessions_per_week": "3",
        "dialysate_sodium_mmol_l": rng.choice(["136", "138", "140"]),
        "sodium_profiling": "no",
        "dialysate_potassium_mmol_l": rng.choice(["2", "3"]),
        "dialysate_calcium_mmol_l": rng.choice(["1.25", "1.5"]),
        "dialysate_magnesium_mmol_l": rng.choice(["0.5", "0.75"]),
        "dialysate_bicarbonate_mmol_l": rng.choice(["32", "35"]),
        "buffer": "bicarbonate",
        "dialysate_temperature_c": rng.choice(["36", "36.5"]),
        "blood_flow_ml_min": rng.choice(["300", "350", "400"]),
        "dialyser_flux": "high",
        "missed_or_shortened_sessions_last_month": str(rng.choice([0, 0, 0, 1])),
        "dry_weight_kg": f"{dry:.1f}",
        "access": rng.choice(["fistula", "fistula", "graft", "catheter"]),
    }


def _medications(rng: random.Random) -> dict[str, Any]:
    meds = sorted(
        set(rng.sample(MEDICATION_POOL, rng.randint(1, 4))) | ({"gabapentin"} if rng.random() < 0.2 else set())
    )
    return {
        "medications": meds,
        "conditions": sorted(rng.sample(CONDITION_POOL, rng.choice([0, 1, 1, 2]))),
        "diabetes": rng.choice(["yes", "no"]),
        "hepatic_impairment": "none",
        "other_medications": "",
    }


STEP_DATA = {
    "episode": _episode,
    "redflags": _redflags,
    "vitals": _vitals,
    "dialysis": _dialysis,
    "medications": _medications,
}


def _clean(slug: str, data: dict[str, Any], system: str) -> dict[str, Any]:
    """Run posted data through the step's own form (as the wizard does) and return its answers."""
    query = QueryDict(mutable=True)
    for key, value in data.items():
        if isinstance(value, list):
            query.setlist(key, value)
        else:
            query[key] = value
    form = BY_SLUG[slug].form_class(query, **({"unit_system": system} if slug == "labs" else {}))
    if not form.is_valid():
        raise CommandError(f"bench data for step {slug} is invalid: {form.errors.as_json()}")
    return form.to_answers()


def answer_variants(count: int, system: str, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    variants = []
    for _ in range(count):
        answers = {slug: _clean(slug, make(rng), system) for slug, make in STEP_DATA.items()}
        answers["labs"] = _clean("labs", _labs(rng, system), system)
        variants.append(answers)
    return variants


WEIGHT_KEYS = ("pre_weight_kg", "previous_post_weight_kg", "target_weight_kg", "dry_weight_kg")


def fit_weights(answers: dict[str, Any], dry_weight: Decimal | None) -> dict[str, Any]:
    """The variant's session weights moved to the patient's recorded dry weight (same gains and losses): the
    engine refuses a target weight far from the record as a probable typo."""
    dialysis = answers.get("dialysis") or {}
    target = dialysis.get("target_weight_kg")
    if dry_weight is None or not isinstance(target, int | float):
        return answers
    shift = float(dry_weight) - float(target)
    moved = {
        k: round(v + shift, 1) if k in WEIGHT_KEYS and isinstance(v, int | float) else v for k, v in dialysis.items()
    }
    return {**answers, "dialysis": moved}
