"""Drug verdicts: defaults, tightening (only ever stricter), hard stops, order checks."""

from __future__ import annotations

from typing import Any

import pytest

from clinic.engine import evaluate
from clinic.engine.drugs import STRICTNESS, check_order, stricter

from .conftest import actions, make_case, plan_for

DEFAULTS = {
    "baclofen": "avoid",
    "tizanidine": "avoid",
    "carisoprodol": "avoid",
    "metaxalone": "avoid",
    "orphenadrine": "avoid",
    "dantrolene": "avoid",
    "diazepam": "avoid",
    "cyclobenzaprine": "caution",
    "methocarbamol": "caution",
    "gabapentin": "caution",
    "pregabalin": "avoid",
    "quinine": "avoid",
    "quinidine": "avoid",
    "vitamin_e": "usable",
    "vitamin_c": "caution",
    "levocarnitine": "usable",
    "midodrine": "caution",
    "hypertonic_saline": "usable",
    "dextrose_50": "usable",
    "mannitol": "caution",
    "magnesium_dialysate": "usable",
    "magnesium_oral": "caution",
    "magnesium_iv": "caution",
}


def test_default_verdicts_match_facts_sheet(k: Any) -> None:
    assert {c: d.verdict for c, d in k.drugs.items()} == DEFAULTS
    plan = evaluate(make_case(overrides={"episode.kind": "spasm"}))  # unremarkable: defaults apply
    for v in plan.drugs:
        assert v.verdict == DEFAULTS[v.drug], v.drug
        assert v.default_verdict == DEFAULTS[v.drug]
        assert (v.dose is None) is (v.verdict == "avoid")
        assert v.sources


def test_stricter_never_loosens() -> None:
    for a in STRICTNESS:
        for b in STRICTNESS:
            assert STRICTNESS[stricter(a, b)] == max(STRICTNESS[a], STRICTNESS[b])


TIGHTEN: list[tuple[str, dict[str, Any], str, str]] = [
    ("cyclobenzaprine", {"conditions": ["heart_block"]}, "avoid", "condition.heart_block"),
    ("cyclobenzaprine", {"conditions": ["arrhythmia"]}, "avoid", "condition.arrhythmia"),
    ("cyclobenzaprine", {"conditions": ["heart_failure"]}, "avoid", "condition.heart_failure"),
    (
        "cyclobenzaprine",
        {"conditions": ["recent_myocardial_infarction"]},
        "avoid",
        "condition.recent_myocardial_infarction",
    ),
    ("cyclobenzaprine", {"conditions": ["hyperthyroidism"]}, "avoid", "condition.hyperthyroidism"),
    ("cyclobenzaprine", {"meds": ["maoi"]}, "avoid", "medication.maoi"),
    ("cyclobenzaprine", {"overrides": {"patient.age_years": 70}}, "avoid", "age_65_or_over"),
    ("cyclobenzaprine", {"overrides": {"patient.hepatic_impairment": "severe"}}, "avoid", "hepatic_moderate_or_severe"),
    (
        "cyclobenzaprine",
        {"overrides": {"patient.hepatic_impairment": "moderate"}},
        "avoid",
        "hepatic_moderate_or_severe",
    ),
    ("cyclobenzaprine", {"labs": {"qtc": 520}}, "avoid", "qtc_prolonged"),
    ("dextrose_50", {"overrides": {"patient.diabetes": True}}, "caution", "diabetes"),
    (
        "gabapentin",
        {"meds": ["gabapentin"], "findings": {"confusion": True}},
        "avoid",
        "redflag.gabapentinoid_toxicity",
    ),
    ("gabapentin", {"meds": ["pregabalin"]}, "avoid", "medication.pregabalin"),
    ("vitamin_e", {"meds": ["warfarin"]}, "caution", "medication.warfarin"),
    ("vitamin_e", {"meds": ["antiplatelet"]}, "caution", "medication.antiplatelet"),
    ("midodrine", {"conditions": ["urinary_retention"]}, "avoid", "condition.urinary_retention"),
    ("midodrine", {"conditions": ["supine_hypertension"]}, "avoid", "condition.supine_hypertension"),
    ("midodrine", {"conditions": ["heart_failure"]}, "avoid", "condition.heart_failure"),
    ("midodrine", {"conditions": ["hyperthyroidism"]}, "avoid", "condition.hyperthyroidism"),
    ("mannitol", {"conditions": ["heart_failure"]}, "avoid", "condition.heart_failure"),
    ("mannitol", {"overrides": {"episode.timing": "between_sessions"}}, "avoid", "not_during_dialysis"),
    ("hypertonic_saline", {"overrides": {"episode.timing": "after_dialysis"}}, "avoid", "not_during_dialysis"),
    ("hypertonic_saline", {"labs": {"sodium": 127}}, "caution", "sodium_low"),
    ("magnesium_dialysate", {"labs": {"magnesium": 1.3}}, "caution", "magnesium_high"),
    ("magnesium_dialysate", {"labs": {"magnesium": 2.1}}, "avoid", "magnesium_very_high"),
    ("magnesium_oral", {"labs": {"magnesium": 1.3}}, "avoid", "magnesium_high"),
    ("magnesium_iv", {"labs": {"magnesium": 1.3}}, "avoid", "magnesium_high"),
    ("magnesium_iv", {"labs": {"magnesium": 2.4}}, "avoid", "magnesium_very_high"),
    ("levocarnitine", {"labs": {"carnitine_free": 55}}, "caution", "carnitine_not_low"),
    ("methocarbamol", {"overrides": {"patient.age_years": 80}}, "avoid", "age_65_or_over"),
]


@pytest.mark.parametrize(("drug", "kwargs", "verdict", "factor"), TIGHTEN)
def test_patient_factors_tighten(drug: str, kwargs: dict[str, Any], verdict: str, factor: str) -> None:
    v = plan_for(**kwargs).verdict(drug)
    assert v.verdict == verdict
    assert factor in v.tightened_by
    assert v.verdict != v.default_verdict
    assert "for this patient" in v.why


def test_magnesium_exactly_1_25_does_not_tighten() -> None:
    assert plan_for(labs={"magnesium": 1.25}).verdict("magnesium_oral").verdict == "caution"


def test_orphenadrine_with_glaucoma_stays_avoid_and_says_why() -> None:
    v = plan_for(conditions=["glaucoma", "urinary_retention"]).verdict("orphenadrine")
    assert v.verdict == "avoid" and v.tightened_by == ()
    assert "glaucoma" in v.why and "urinary retention" in v.why


def test_cyclobenzaprine_not_for_intradialytic_cramps() -> None:
    v = plan_for().verdict("cyclobenzaprine")  # base case: cramp during dialysis
    assert v.verdict == "avoid" and "intradialytic_cramp" in v.tightened_by


def test_missing_inputs_are_reported_not_assumed_normal() -> None:
    v = plan_for(
        overrides={"episode.timing": "between_sessions"}, drop=["patient.age_years", "patient.conditions"]
    ).verdict("cyclobenzaprine")
    assert v.verdict == "caution"
    assert "patient.age_years" in v.not_assessed and "patient.conditions" in v.not_assessed
    assert "not assessed" in v.why


@pytest.mark.parametrize("drug", ["baclofen", "quinine", "quinidine"])
def test_hard_stops_always_avoid_even_on_med_list(drug: str) -> None:
    v = plan_for(meds=[drug]).verdict(drug)
    assert v.verdict == "avoid" and v.hard_stop and v.dose is None and v.on_medication_list


def test_baclofen_on_list_gets_taper_action() -> None:
    plan = plan_for(meds=["baclofen"])
    assert plan.verdict("baclofen").verdict == "avoid"
    assert "medications.taper_baclofen" in actions(plan)
    assert "NOT stop baclofen abruptly" in plan.verdict("baclofen").why


def test_levocarnitine_dose_is_patient_specific() -> None:
    dose = plan_for(labs={"carnitine_free": 25}).verdict("levocarnitine").dose
    assert dose is not None and "700–1400 mg" in dose


def test_gabapentin_dose_is_local_policy_never_per_label() -> None:
    dose = plan_for().verdict("gabapentin").dose
    assert dose is not None and "LOCAL POLICY" in dose and "NOT per label" in dose
    assert "100 mg" in dose and "300 mg" in dose


def test_cyclobenzaprine_dose_shows_label_and_local_policy() -> None:
    dose = plan_for(overrides={"episode.timing": "between_sessions"}).verdict("cyclobenzaprine").dose
    assert dose is not None and "LOCAL POLICY" in dose and "5 mg three times daily" in dose


def test_midodrine_start_is_2_5_mg_per_label() -> None:
    dose = plan_for().verdict("midodrine").dose
    assert dose is not None and "Start 2.5 mg" in dose


# ------------------------------------------------------------------------------------------ check_order


@pytest.mark.parametrize(
    ("amount", "allowed", "hard"),
    [(15, True, False), (20, True, False), (20.1, False, True), (25, False, True), (100, False, True)],
)
def test_hypertonic_saline_order_cap(amount: float, allowed: bool, hard: bool) -> None:
    r = check_order("hypertonic_saline", amount, "mL", None)
    assert (r.allowed, r.hard_stop) == (allowed, hard)
    assert r.sources


def test_hypertonic_saline_cap_cannot_be_bypassed_by_case() -> None:
    r = check_order("hypertonic_saline", 25, "mL", make_case(overrides={"patient.diabetes": True}))
    assert not r.allowed and r.hard_stop


@pytest.mark.parametrize("drug", ["baclofen", "quinine", "quinidine"])
@pytest.mark.parametrize("amount", [0.1, 5, 10, 1000])
def test_hard_stop_orders(drug: str, amount: float) -> None:
    r = check_order(drug, amount, "mg", make_case())
    assert not r.allowed and r.hard_stop
    r = check_order(drug, amount, "mg", None)
    assert not r.allowed and r.hard_stop


def test_order_units_and_amounts() -> None:
    assert not check_order("hypertonic_saline", 20, "mg").allowed
    assert not check_order("gabapentin", 0, "mg").allowed
    assert not check_order("gabapentin", True, "mg").allowed  # type: ignore[arg-type]
    assert not check_order("gabapentin", float("nan"), "mg").allowed
    assert not check_order("nonsense", 1, "mg").allowed
    assert check_order("gabapentin", 300, "mg").allowed
    r = check_order("gabapentin", 400, "mg")
    assert not r.allowed and not r.hard_stop


def test_order_uses_patient_verdict() -> None:
    r = check_order("cyclobenzaprine", 5, "mg", make_case(conditions=["heart_block"]))
    assert not r.allowed and not r.hard_stop and "heart block" in r.message
    r = check_order("vitamin_e", 400, "IU", make_case())
    assert r.allowed
    r = check_order("dextrose_50", 50, "mL", make_case(overrides={"patient.diabetes": True}))
    assert r.allowed and "caution" in r.message
    assert not check_order("dextrose_50", 60, "mL").allowed


def test_levocarnitine_order_in_mg_uses_dry_weight() -> None:
    assert check_order("levocarnitine", 1400, "mg", make_case()).allowed  # 20 mg/kg x 70 kg
    assert not check_order("levocarnitine", 1500, "mg", make_case()).allowed
    assert not check_order("levocarnitine", 700, "mg", None).allowed  # weight unknown
    assert check_order("levocarnitine", 15, "mg/kg", None).allowed
