"""Issue 17 point 7: contradictory or mis-typed inputs are refused with a message on the field to correct, or
(when possible but rarely real) computed and flagged at the top of the plan; never silently used."""

from __future__ import annotations

from typing import Any

import pytest

from clinic.engine import CaseError, evaluate, plan_to_dict, validate_case

from .conftest import make_case


def _errors(case: dict[str, Any]) -> list[dict[str, str]]:
    with pytest.raises(CaseError) as exc:
        validate_case(case)
    return exc.value.errors


def _fields(case: dict[str, Any]) -> list[str]:
    try:
        validate_case(case)
    except CaseError as exc:
        return [e["field"] for e in exc.errors]
    return []


# (overrides, fields refused; [] = accepted)
TABLE: list[tuple[dict[str, Any], list[str]]] = [
    # timing against "ongoing in the chair" and minutes into the session
    (
        {"episode.timing": "between_sessions", "episode.ongoing": True, "episode.minutes_into_session": 90},
        ["episode.ongoing", "episode.minutes_into_session"],
    ),
    ({"episode.timing": "between_sessions", "episode.ongoing": False, "episode.minutes_into_session": None}, []),
    ({"episode.timing": "after_dialysis", "episode.minutes_into_session": 30}, ["episode.minutes_into_session"]),
    ({"episode.timing": "during_dialysis", "episode.hours_after_dialysis": 2}, ["episode.hours_after_dialysis"]),
    ({"episode.minutes_into_session": 240}, []),  # exactly the session length
    ({"episode.minutes_into_session": 241}, ["episode.minutes_into_session"]),
    # sessions completed against months on dialysis (at least 2 a month after the first month, at most 31)
    ({"patient.dialysis_vintage_months": 120, "patient.sessions_completed": 3}, ["patient.sessions_completed"]),
    ({"patient.dialysis_vintage_months": 120, "patient.sessions_completed": 237}, ["patient.sessions_completed"]),
    ({"patient.dialysis_vintage_months": 120, "patient.sessions_completed": 238}, []),
    ({"patient.dialysis_vintage_months": 150, "patient.sessions_completed": 400}, []),  # the contract's example
    ({"patient.dialysis_vintage_months": 1, "patient.sessions_completed": 3}, []),  # first sessions
    ({"patient.dialysis_vintage_months": 0, "patient.sessions_completed": 0}, []),
    ({"patient.dialysis_vintage_months": 2, "patient.sessions_completed": 94}, ["patient.sessions_completed"]),
    # weights: more than 7 kg apart is a likely typo (Renalware's bound); exactly 7 kg is accepted
    ({"dialysis.pre_weight_kg": 77.0, "dialysis.uf_volume_ml": 2000}, []),
    ({"dialysis.pre_weight_kg": 77.1}, ["dialysis.pre_weight_kg"]),
    ({"dialysis.pre_weight_kg": 62.9}, ["dialysis.pre_weight_kg"]),
    ({"dialysis.pre_weight_kg": 47.0}, ["dialysis.pre_weight_kg"]),  # 74 typed as 47
    ({"dialysis.previous_post_weight_kg": 77.5}, ["dialysis.previous_post_weight_kg"]),
    (
        {"dialysis.target_weight_kg": 62.0, "patient.dry_weight_kg": 70.0},
        ["dialysis.pre_weight_kg", "dialysis.previous_post_weight_kg", "dialysis.target_weight_kg"],
    ),
    (
        {"dialysis.target_weight_kg": 62.9, "patient.dry_weight_kg": 70.0, "dialysis.pre_weight_kg": 64.0},
        ["dialysis.previous_post_weight_kg", "dialysis.target_weight_kg"],
    ),
    ({"dialysis.target_weight_kg": None, "dialysis.pre_weight_kg": 78.0}, ["dialysis.pre_weight_kg"]),
]


@pytest.mark.parametrize(("overrides", "refused"), TABLE)
def test_cross_field_checks(overrides: dict[str, Any], refused: list[str]) -> None:
    drop = [path for path, value in overrides.items() if value is None]
    case = make_case(overrides={p: v for p, v in overrides.items() if v is not None}, drop=drop)
    assert _fields(case) == refused


def test_contradiction_messages_name_both_sides() -> None:
    errors = _errors(
        make_case(
            overrides={
                "episode.timing": "between_sessions",
                "episode.ongoing": True,
                "patient.sessions_completed": 3,
                "patient.dialysis_vintage_months": 24,
            }
        )
    )
    by_field = {e["field"]: e["message"] for e in errors}
    assert "between sessions" in by_field["episode.ongoing"]
    assert "24 months on dialysis" in by_field["patient.sessions_completed"]
    weight = _errors(make_case(overrides={"dialysis.pre_weight_kg": 78.0}))[0]
    assert weight["field"] == "dialysis.pre_weight_kg" and "typo" in weight["message"] and "7 kg" in weight["message"]


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "suggests"),
    [
        ("calcium_ionised", 3.2, "mmol/L", "did you mean mg/dL"),
        ("calcium_ionised", 4.6, "mmol/L", "did you mean mg/dL"),
        ("calcium_total", 9.0, "mmol/L", "did you mean mg/dL"),
        ("albumin", 3.5, "g/L", "did you mean g/dL"),
        ("magnesium", 20.0, "mg/dL", "did you mean"),  # 20 mg/dL = 8.2 mmol/L: out of range in every unit?
        ("glucose", 90.0, "mmol/L", "did you mean mg/dL"),
        ("phosphate", 8.0, "mmol/L", "did you mean mg/dL"),
        ("aluminium", 60.0, "µmol/L", "did you mean µg/L"),
    ],
)
def test_impossible_value_suggests_the_unit_it_fits(analyte: str, value: float, unit: str, suggests: str) -> None:
    errors = _errors(make_case(labs={analyte: (value, unit)}))
    assert len(errors) == 1 and errors[0]["field"].endswith(".value")
    message = errors[0]["message"]
    assert "not possible in a living patient" in message
    if analyte == "magnesium":
        assert message.endswith("mmol/L)")  # no unit makes 20 possible: no guess offered
    else:
        assert suggests in message


@pytest.mark.parametrize(
    ("analyte", "low", "high"),
    [
        ("magnesium", 0.1, 7.5),
        ("calcium_ionised", 0.3, 3.0),
        ("calcium_total", 0.8, 5.5),
        ("albumin", 8.0, 60.0),
        ("potassium", 1.0, 11.0),
        ("sodium", 95.0, 190.0),
        ("glucose", 0.5, 85.0),
    ],
)
def test_plausibility_bounds_are_inclusive(analyte: str, low: float, high: float) -> None:
    for value, ok in ((low, True), (high, True), (round(low * 0.99, 4), False), (round(high * 1.01, 4), False)):
        assert (_fields(make_case(labs={analyte: value})) == []) is ok, (analyte, value)


LIGHT = {"patient.dry_weight_kg": 60.0, "dialysis.target_weight_kg": 60.0, "dialysis.previous_post_weight_kg": 60.0}


@pytest.mark.parametrize(
    ("overrides", "checks"),
    [
        (
            {**LIGHT, "dialysis.pre_weight_kg": 66.0, "dialysis.uf_volume_ml": 4000},
            0,
        ),  # IDWG 10.0 %: at the limit (> 10 is flagged)
        ({**LIGHT, "dialysis.pre_weight_kg": 66.1, "dialysis.uf_volume_ml": 4000}, 1),  # 10.17 %
        ({**LIGHT, "dialysis.pre_weight_kg": 62.0, "dialysis.uf_volume_ml": 6000}, 0),  # 25.0 mL/kg/h: at the limit
        ({**LIGHT, "dialysis.pre_weight_kg": 62.0, "dialysis.uf_volume_ml": 6060}, 1),  # 25.25 mL/kg/h
    ],
)
def test_implausible_gain_or_uf_rate_is_flagged_at_the_top(overrides: dict[str, Any], checks: int) -> None:
    plan = evaluate(make_case(overrides=overrides))
    assert len(plan.input_checks) == checks
    assert len(plan_to_dict(plan)["input_checks"]) == checks
    if checks:
        assert plan.input_checks[0].startswith("Check the weights")
