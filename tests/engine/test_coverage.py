"""Every contract code (23 red flags, every action, 23 drugs) is produced by at least one case."""

from __future__ import annotations

from typing import Any

import pytest

from clinic.engine import evaluate
from clinic.engine.contract import ACTIONS, DRUGS, RED_FLAGS

from .conftest import FAILED_VITAMIN_E, SPINE_AND_CARDIAC_NO, actions, flags, make_case, plan_for

NO_DEFICIT = dict.fromkeys(["hand_clumsiness", "gait_change", "sphincter_change", "hyperreflexia_or_clonus"], False)

# red flag -> (case kwargs, expected urgency)
RED_FLAG_CASES: dict[str, list[tuple[dict[str, Any], str]]] = {
    "redflag.aluminium": [
        ({"meds": ["sucralfate", "citrate"], "findings": {"speech_disturbance": True}}, "urgent"),
        ({"meds": ["aluminium_hydroxide"], "findings": {"seizure": True}}, "emergency"),
        ({"labs": {"aluminium": 75}}, "urgent"),
    ],
    "redflag.dsa_suspected": [
        (
            {
                "overrides": {"patient.dialysis_vintage_months": 130},
                "findings": {"neck_pain_persistent": True, **NO_DEFICIT},
            },
            "soon",
        ),
    ],
    "redflag.dsa_cord_compression": [
        (
            {
                "overrides": {"patient.dialysis_vintage_months": 130},
                "findings": {"neck_pain_progressive": True, "hand_clumsiness": True},
            },
            "emergency",
        ),
        ({"findings": {"neck_pain_persistent": True, "arm_weakness_or_numbness": True}}, "emergency"),
    ],
    "redflag.spinal_infection": [
        ({"findings": {"back_pain_persistent": True, "fever": True}}, "urgent"),
        (
            {
                "overrides": {"patient.access": "catheter"},
                "findings": {"neck_pain_persistent": True, "gait_change": True},
            },
            "emergency",
        ),
    ],
    "redflag.acute_coronary": [
        ({"findings": {"chest_pain": True}}, "emergency"),
        ({"overrides": {"episode.sites": ["neck"]}, "findings": {"diaphoresis": True}}, "emergency"),
    ],
    "redflag.arrhythmia_risk": [
        ({"findings": {"palpitations": True}}, "urgent"),
        ({"meds": ["antipsychotic"]}, "urgent"),
        ({"meds": ["cyclobenzaprine"], "conditions": ["heart_block"]}, "urgent"),
        ({"findings": {"syncope": True, "intradialytic_hypotension": True}}, "emergency"),
    ],
    "redflag.hyperkalaemia": [({"labs": {"potassium": 6.2}}, "urgent"), ({"labs": {"potassium": 6.8}}, "emergency")],
    "redflag.hypokalaemia": [({"labs": {"potassium": 2.8}}, "urgent"), ({"labs": {"potassium": 2.3}}, "emergency")],
    "redflag.tetany": [
        ({"findings": {"carpopedal_spasm": True}}, "emergency"),
        ({"conditions": ["parathyroidectomy_recent"], "labs": {"calcium_total": 1.5, "albumin": 38}}, "emergency"),
    ],
    "redflag.baclofen_toxicity": [({"meds": ["baclofen"], "findings": {"drowsiness": True}}, "emergency")],
    "redflag.gabapentinoid_toxicity": [
        ({"meds": ["gabapentin"], "findings": {"confusion": True}}, "urgent"),
        ({"meds": ["pregabalin", "opioid"], "findings": {"drowsiness": True}}, "emergency"),
    ],
    "redflag.seizure": [({"findings": {"seizure": True}}, "emergency")],
    "redflag.cefepime_neurotoxicity": [({"meds": ["cefepime"], "findings": {"myoclonus": True}}, "urgent")],
    "redflag.cool_dialysate_or_rigors": [
        ({"findings": {"shivering_or_rigors": True}}, "urgent"),
        ({"findings": {"shivering_or_rigors": True, "fever": True}}, "emergency"),
        ({"overrides": {"patient.access": "catheter"}, "findings": {"shivering_or_rigors": True}}, "emergency"),
    ],
    "redflag.hyponatraemia": [({"labs": {"sodium": 122}}, "urgent")],
    "redflag.hypoglycaemia": [({"labs": {"glucose": 3.1}, "meds": ["insulin"]}, "emergency")],
    "redflag.access_ischaemia": [({"findings": {"access_hand_ischaemia": True}}, "urgent")],
    "redflag.disequilibrium": [
        ({"overrides": {"patient.sessions_completed": 2}, "findings": {"headache": True}}, "urgent"),
        (
            {"overrides": {"dialysis.missed_or_shortened_sessions_last_month": 2}, "findings": {"seizure": True}},
            "emergency",
        ),
    ],
    "redflag.hypermagnesaemia": [
        ({"labs": {"magnesium": 2.2}}, "urgent"),
        (
            {"meds": ["magnesium_antacid_or_laxative"], "labs": {"magnesium": 1.4}, "findings": {"hyporeflexia": True}},
            "urgent",
        ),
    ],
    "redflag.myopathy": [
        ({"findings": {"severe_muscle_pain_or_weakness": True}, "meds": ["statin", "fibrate"]}, "urgent"),
    ],
    "redflag.drug_dystonia": [
        ({"findings": {"torticollis": True}, "meds": ["metoclopramide"]}, "urgent"),
        ({"findings": {"torticollis": True}, "drop": ["medications"]}, "urgent"),
    ],
    "redflag.stroke": [
        ({"findings": {"focal_deficit": True}}, "emergency"),
        ({"findings": {"neck_stiffness": True}}, "emergency"),
    ],
    "redflag.serotonin_syndrome": [
        ({"meds": ["cyclobenzaprine", "ssri_or_snri"], "findings": {"hyperreflexia_or_clonus": True}}, "emergency"),
    ],
}


def test_every_red_flag_has_a_case() -> None:
    assert set(RED_FLAG_CASES) == set(RED_FLAGS)


@pytest.mark.parametrize(
    ("code", "kwargs", "urgency"),
    [(code, kw, u) for code, cases in RED_FLAG_CASES.items() for kw, u in cases],
)
def test_red_flag_fires_with_urgency(code: str, kwargs: dict[str, Any], urgency: str) -> None:
    plan = plan_for(**kwargs)
    assert flags(plan).get(code) == urgency
    rf = next(r for r in plan.red_flags if r.code == code)
    assert rf.title and rf.why and rf.actions and rf.sources and rf.evidence in "VSU"


def test_red_flags_sorted_most_urgent_first() -> None:
    plan = plan_for(
        labs={"potassium": 6.2, "sodium": 122},
        findings={"chest_pain": True, "neck_pain_persistent": True, **NO_DEFICIT},
        overrides={"patient.dialysis_vintage_months": 130},
    )
    order = {"emergency": 0, "urgent": 1, "soon": 2}
    urgencies = [order[r.urgency] for r in plan.red_flags]
    assert urgencies == sorted(urgencies)
    assert plan.red_flags[0].code == "redflag.acute_coronary"
    assert plan.red_flags[-1].code == "redflag.dsa_suspected"


# action -> case kwargs
ACTION_CASES: dict[str, dict[str, Any]] = {
    "acute.reduce_uf": {},
    "acute.keep_blood_flow": {},
    "acute.saline_bolus": {"overrides": {"vitals": {"sbp_pre_mmhg": 120, "sbp_nadir_mmhg": 82}}},
    "acute.hypertonic_rescue": {},
    "acute.physical_measures": {},
    "acute.check_glucose": {"overrides": {"patient.diabetes": True}, "labs": {"glucose": 7.0}},
    "labs.order_missing": {"labs": {"magnesium": None}},
    "labs.use_ionised_calcium": {"labs": {"calcium_ionised": None, "calcium_total": 2.2, "albumin": 30}},
    "labs.aluminium_level": {"meds": ["sucralfate"]},
    "labs.ecg": {"labs": {"potassium": 6.1}},
    "labs.creatine_kinase": {"meds": ["statin"]},
    "electrolytes.magnesium_dialysate": {"labs": {"magnesium": 0.6}},
    "electrolytes.magnesium_before_potassium_calcium": {"labs": {"magnesium": 0.6, "potassium": 3.3}},
    "electrolytes.calcium_dialysate": {"overrides": {"dialysis.dialysate_calcium_mmol_l": 1.0}},
    "electrolytes.potassium_dialysate": {"overrides": {"dialysis.dialysate_potassium_mmol_l": 1.0}},
    "electrolytes.bicarbonate_review": {"labs": {"bicarbonate": 18}},
    "electrolytes.stop_magnesium_sources": {"meds": ["magnesium_antacid_or_laxative"]},
    "electrolytes.sodium_caution": {"labs": {"sodium": 128}},
    "prescription.reassess_dry_weight": {"findings": {"intradialytic_hypotension": True}},
    "prescription.lower_uf_rate": {"overrides": {"dialysis.uf_volume_ml": 3800}},
    "prescription.fluid_sodium_counselling": {"overrides": {"dialysis.pre_weight_kg": 74.0}},
    "prescription.cool_dialysate": {"findings": {"intradialytic_hypotension": True}},
    "prescription.dialysate_temperature_floor": {"overrides": {"dialysis.dialysate_temperature_c": 35.0}},
    "prescription.sodium_profiling_caution": {"overrides": {"dialysis.sodium_profiling": True}},
    "prescription.bicarbonate_buffer": {"overrides": {"dialysis.buffer": "acetate"}},
    "prescription.high_flux": {"overrides": {"patient.dialysis_vintage_months": 80, "dialysis.dialyser_flux": "low"}},
    "prescription.adequacy_review": {"overrides": {"dialysis.missed_or_shortened_sessions_last_month": 2}},
    "prescription.intradialytic_hypotension": {"findings": {"intradialytic_hypotension": True}},
    "medications.taper_baclofen": {"meds": ["baclofen"]},
    "medications.remove_aluminium_sources": {"meds": ["aluminium_hydroxide"]},
    "medications.review_cramp_inducing": {"meds": ["statin", "fibrate"]},
    "medications.review_qt_drugs": {"meds": ["qt_prolonging_other"]},
    "differential.restless_legs": {"findings": {"urge_to_move_relieved_by_movement": True}},
    "differential.spasticity": {"conditions": ["multiple_sclerosis"]},
    "differential.dystonia_or_myoclonus": {"overrides": {"episode.kind": "jerks"}},
    "pharmacotherapy.vitamin_e": {"overrides": {"episode.episodes_last_4_weeks": 3}},
    "pharmacotherapy.vitamin_c_short": {"overrides": {"episode.episodes_last_4_weeks": 3}},
    "pharmacotherapy.levocarnitine": {
        "overrides": {"episode.episodes_last_4_weeks": 3, "previous_trials": FAILED_VITAMIN_E},
        "labs": {"carnitine_free": 30},
    },
    "pharmacotherapy.midodrine": {
        "findings": {"intradialytic_hypotension": True},
        "overrides": {"previous_trials": FAILED_VITAMIN_E},
    },
    "pharmacotherapy.gabapentin_post_dialysis": {
        "overrides": {"episode.episodes_last_4_weeks": 6, "previous_trials": FAILED_VITAMIN_E}
    },
    "pharmacotherapy.cyclobenzaprine_short": {
        "overrides": {"episode": {"timing": "between_sessions", "sites": ["back"], "kind": "spasm"}},
        "findings": SPINE_AND_CARDIAC_NO,
    },
    "monitoring.cramp_diary": {},
    "monitoring.magnesium_after_change": {"labs": {"magnesium": 0.6}},
    "monitoring.aluminium_schedule": {"meds": ["sucralfate"]},
    "monitoring.drug_trial_review": {"meds": ["vitamin_e"]},
    "monitoring.ecg": {"meds": ["antipsychotic"]},
}


def test_every_action_has_a_case() -> None:
    assert set(ACTION_CASES) == set(ACTIONS)


@pytest.mark.parametrize(("code", "kwargs"), list(ACTION_CASES.items()))
def test_action_is_reachable(code: str, kwargs: dict[str, Any]) -> None:
    plan = plan_for(**kwargs)
    assert code in actions(plan)
    act = next(a for s in plan.steps for a in s.actions if a.code == code)
    assert act.text and act.why and act.who in ("nurse", "nephrologist")
    assert act.evidence in ("V", "S", "U") and act.sources


def test_every_drug_gets_a_verdict_in_contract_order() -> None:
    plan = evaluate(make_case())
    assert [d.drug for d in plan.drugs] == list(DRUGS)
    produced = {d.verdict for d in plan.drugs}
    assert produced == {"avoid", "caution", "usable"}
