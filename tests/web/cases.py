"""Contract cases shared by the API and CLI tests."""

from __future__ import annotations

from typing import Any


def typical_case() -> dict[str, Any]:
    """The contract's example case: a long-vintage patient cramping in the chair."""
    return {
        "schema": "chairside.case/1",
        "patient": {
            "age_years": 67,
            "sex": "female",
            "dialysis_vintage_months": 150,
            "sessions_completed": 400,
            "dry_weight_kg": 70.0,
            "diabetes": True,
            "residual_urine_ml_per_day": 0,
            "hepatic_impairment": "none",
            "access": "fistula",
            "conditions": ["heart_block"],
        },
        "episode": {
            "timing": "during_dialysis",
            "ongoing": True,
            "minutes_into_session": 180,
            "sites": ["neck", "legs"],
            "kind": "cramp",
            "severity_0_10": 7,
            "episodes_last_4_weeks": 6,
            "duration_weeks": 3,
        },
        "findings": {"speech_disturbance": False, "chest_pain": False, "neck_pain_persistent": True},
        "vitals": {"sbp_pre_mmhg": 150, "sbp_nadir_mmhg": 88, "heart_rate_bpm": 80, "temperature_c": 36.8},
        "labs": [{"analyte": "magnesium", "value": 1.2, "unit": "mg/dL", "when": "pre_dialysis"}],
        "dialysis": {
            "pre_weight_kg": 74.0,
            "previous_post_weight_kg": 70.4,
            "target_weight_kg": 70.0,
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
        "medications": ["sevelamer", "gabapentin", "baclofen"],
    }
