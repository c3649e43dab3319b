"""The longest case the print layout must fit; the shared cases are in tests/cases.py."""

from __future__ import annotations

from typing import Any

from tests.cases import typical_case


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
