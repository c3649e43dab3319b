"""Contract cases shared by the API and CLI tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TYPICAL_CASE_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "contract_example_case.json"


def typical_case() -> dict[str, Any]:
    """The contract's example case: a long-vintage patient cramping in the chair. One file, shared with the engine's
    golden test (tests/engine/cases/contract_example.json) and the benchmark (bench/bench_engine.py)."""
    return json.loads(TYPICAL_CASE_FILE.read_text(encoding="utf-8"))  # a fresh copy for every caller


SCREEN_NO = dict.fromkeys(
    (
        "speech_disturbance",
        "confusion",
        "myoclonus",
        "seizure",
        "arm_weakness_or_numbness",
        "fever",
        "chest_pain",
        "palpitations",
        "syncope",
        "carpopedal_spasm",
        "perioral_tingling",
        "shivering_or_rigors",
        "access_hand_ischaemia",
        "hand_clumsiness",
        "gait_change",
        "sphincter_change",
        "hyperreflexia_or_clonus",
    ),
    False,
)


def simple_case() -> dict[str, Any]:
    """A typical chairside cramp: legs, late in the session, everything measured, no red flag."""
    return {
        "schema": "chairside.case/1",
        "patient": {
            "age_years": 58,
            "sex": "male",
            "dialysis_vintage_months": 30,
            "sessions_completed": 380,
            "dry_weight_kg": 80.0,
            "diabetes": False,
            "residual_urine_ml_per_day": 0,
            "hepatic_impairment": "none",
            "access": "fistula",
            "conditions": [],
        },
        "episode": {
            "timing": "during_dialysis",
            "ongoing": True,
            "minutes_into_session": 200,
            "sites": ["legs"],
            "kind": "cramp",
            "severity_0_10": 6,
            "episodes_last_4_weeks": 3,
            "duration_weeks": 4,
        },
        "findings": dict(SCREEN_NO),
        "vitals": {"sbp_pre_mmhg": 142, "sbp_nadir_mmhg": 124, "heart_rate_bpm": 76, "temperature_c": 36.6},
        "labs": [
            {"analyte": "magnesium", "value": 0.82, "unit": "mmol/L", "when": "pre_dialysis"},
            {"analyte": "potassium", "value": 4.9, "unit": "mmol/L", "when": "pre_dialysis"},
            {"analyte": "calcium_ionised", "value": 1.18, "unit": "mmol/L", "when": "pre_dialysis"},
            {"analyte": "sodium", "value": 138, "unit": "mmol/L", "when": "pre_dialysis"},
            {"analyte": "phosphate", "value": 1.4, "unit": "mmol/L", "when": "pre_dialysis"},
            {"analyte": "bicarbonate", "value": 23, "unit": "mmol/L", "when": "pre_dialysis"},
        ],
        "dialysis": {
            "pre_weight_kg": 83.0,
            "previous_post_weight_kg": 80.4,
            "target_weight_kg": 80.0,
            "session_minutes": 240,
            "sessions_per_week": 3,
            "dialysate_sodium_mmol_l": 138,
            "sodium_profiling": False,
            "dialysate_potassium_mmol_l": 2.0,
            "dialysate_calcium_mmol_l": 1.25,
            "dialysate_magnesium_mmol_l": 0.5,
            "dialysate_bicarbonate_mmol_l": 35,
            "buffer": "bicarbonate",
            "dialysate_temperature_c": 36.5,
            "blood_flow_ml_min": 350,
            "dialyser_flux": "high",
            "missed_or_shortened_sessions_last_month": 0,
        },
        "medications": ["sevelamer", "statin"],
    }


def worst_case() -> dict[str, Any]:
    """Many red flags at once: the longest plan the print layout must still fit in three pages."""
    case = typical_case()
    case["findings"] = {
        "speech_disturbance": True,
        "myoclonus": True,
        "seizure": True,
        "confusion": True,
        "chest_pain": True,
        "neck_pain_persistent": True,
        "arm_weakness_or_numbness": True,
        "fever": True,
        "palpitations": True,
        "carpopedal_spasm": True,
        "shivering_or_rigors": True,
        "access_hand_ischaemia": True,
        "torticollis": True,
        "focal_deficit": True,
        "aluminium_exposure": True,
        "severe_muscle_pain_or_weakness": True,
    }
    case["labs"] = [
        {"analyte": "potassium", "value": 6.8, "unit": "mmol/L"},
        {"analyte": "magnesium", "value": 0.45, "unit": "mmol/L"},
        {"analyte": "calcium_ionised", "value": 0.78, "unit": "mmol/L"},
        {"analyte": "sodium", "value": 122, "unit": "mmol/L"},
        {"analyte": "glucose", "value": 3.1, "unit": "mmol/L"},
        {"analyte": "aluminium", "value": 250, "unit": "µg/L"},
        {"analyte": "qtc", "value": 530, "unit": "ms"},
        {"analyte": "creatine_kinase_x_uln", "value": 8, "unit": "x ULN"},
    ]
    case["medications"] = [
        "baclofen",
        "gabapentin",
        "cefepime",
        "metoclopramide",
        "cyclobenzaprine",
        "ssri_or_snri",
        "aluminium_hydroxide",
        "statin",
        "fibrate",
        "insulin",
    ]
    case["dialysis"]["dialysate_temperature_c"] = 35.0
    case["dialysis"]["dialysate_potassium_mmol_l"] = 1.0
    return case
