"""Validation (every problem at once, with paths) and unit conversions (facts.md §3a factors)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from clinic.engine import CaseError, errors_to_json, evaluate, validate_case
from clinic.engine.units import UnitError, classify, convert, to_si

from .conftest import make_case

# ------------------------------------------------------------------------------------------------ units


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "si"),
    [
        ("magnesium", 1.7, "mg/dL", 0.699448),
        ("magnesium", 1.4, "mEq/L", 0.70),
        ("magnesium", 1.2, "mg/dL", 0.493728),
        ("calcium_ionised", 4.61, "mg/dL", 1.1502411),
        ("calcium_total", 10.0, "mg/dL", 2.4951),
        ("calcium_total", 5.0, "mEq/L", 2.5),
        ("phosphate", 2.5, "mg/dL", 0.807125),
        ("phosphate", 4.5, "mg/dL", 1.452825),
        ("albumin", 3.5, "g/dL", 35.0),
        ("potassium", 4.2, "mEq/L", 4.2),
        ("sodium", 140, "mEq/L", 140.0),
        ("bicarbonate", 22, "mEq/L", 22.0),
        ("aluminium", 20, "ng/mL", 20.0),
        ("aluminium", 20, "ug/L", 20.0),
        ("aluminium", 0.74, "µmol/L", 19.96668),
        ("aluminium", 2.22, "umol/L", 59.90004),
        ("glucose", 70, "mg/dL", 3.8857),
        ("urea", 175, "mg/dL BUN", 62.475),
        ("beta2_microglobulin", 3.0, "mg/dL", 30.0),
        ("carnitine_free", 40, "umol/L", 40.0),
        ("qtc", 480, "ms", 480.0),
    ],
)
def test_to_si_uses_exact_facts_factors(analyte: str, value: float, unit: str, si: float) -> None:
    assert to_si(analyte, value, unit) == pytest.approx(si, abs=1e-9)


@pytest.mark.parametrize(
    ("analyte", "value", "frm", "to", "expected"),
    [
        ("magnesium", 0.70, "mmol/L", "mg/dL", 1.70135),  # x 2.4305
        ("magnesium", 0.70, "mmol/L", "mEq/L", 1.40),
        ("magnesium", 1.7, "mg/dL", "mEq/L", 1.398896),  # via SI; facts: mg/dL x 0.82288 = mEq/L
        ("calcium_ionised", 1.15, "mmol/L", "mg/dL", 4.60897),  # x 4.0078
        ("phosphate", 1.45, "mmol/L", "mg/dL", 4.49123),  # x 3.0974
        ("aluminium", 200, "µg/L", "µmol/L", 7.4124),  # x 0.037062
        ("albumin", 40, "g/L", "g/dL", 4.0),
        ("magnesium", 0.5, "mmol/L", "mmol/L", 0.5),
    ],
)
def test_convert(analyte: str, value: float, frm: str, to: str, expected: float) -> None:
    assert convert(analyte, value, frm, to) == pytest.approx(expected, rel=1e-6)


def test_unit_spelling_is_forgiving_but_strict_on_meaning() -> None:
    assert to_si("magnesium", 0.8, " MMOL/l ") == 0.8
    assert to_si("aluminium", 10, "μg/L") == 10.0  # Greek mu
    with pytest.raises(UnitError, match="mg/dL is not a unit for potassium; use mmol/L or mEq/L"):
        to_si("potassium", 4.0, "mg/dL")
    with pytest.raises(UnitError):
        to_si("nonsense", 1, "mmol/L")
    with pytest.raises(UnitError):
        to_si("magnesium", math.nan, "mmol/L")


@pytest.mark.parametrize(
    ("analyte", "value", "badge"),
    [
        ("magnesium", 0.69, "low"),
        ("magnesium", 0.70, "normal"),
        ("magnesium", 1.05, "normal"),
        ("magnesium", 1.06, "high"),
        ("potassium", 5.1, "high"),
        ("aluminium", 19.9, "normal"),
        ("aluminium", 20, "high"),
        ("urea", 20, "high"),
        ("magnesium", None, None),
    ],
)
def test_classify(analyte: str, value: float | None, badge: str | None) -> None:
    assert classify(analyte, value) == badge


# ------------------------------------------------------------------------------------------- validation


def errors_of(data: Any) -> list[dict[str, str]]:
    with pytest.raises(CaseError) as exc:
        validate_case(data)
    errs = exc.value.errors
    assert errs and all(set(e) == {"field", "message"} for e in errs)
    return errs


def fields(errs: list[dict[str, str]]) -> set[str]:
    return {e["field"] for e in errs}


def test_valid_base_case_passes() -> None:
    case = validate_case(make_case())
    assert case.schema == "chairside.case/1" and len(case.labs) == 6


def test_all_problems_reported_at_once_with_paths() -> None:
    data = make_case(
        overrides={
            "patient.age_years": True,  # bool is not a number
            "patient.dry_weight_kg": -3,
            "patient.sex": "f",
            "episode.severity_0_10": 11,
            "episode.kind": "cramps",
            "dialysis.session_minutes": float("nan"),
            "dialysis.sessions_per_week": 2.5,
            "vitals.temperature_c": 98.6,
            "dialysis.blood_flow_ml_min": "350",
            "dialysis.dialysate_calcium_mmol_l": 2.5,  # looks like mEq/L
            "dialysis.extra_field": 1,
            "surprise": {},
        },
        findings={"speach_disturbance": False, "seizure": "yes"},  # type: ignore[dict-item]
    )
    data["labs"] = [
        {"analyte": "potassium", "value": 4.0, "unit": "mg/dL"},
        {"analyte": "potassium", "value": 0, "unit": "mmol/L"},
        {"analyte": "magnesium", "value": 50, "unit": "mmol/L"},
        {"analyte": "sodium", "value": True, "unit": "mmol/L"},
        {"analyte": "magnesiumm", "value": 1, "unit": "mmol/L"},
        {"analyte": "glucose", "value": 5, "unit": "mmol/L", "when": "yesterday", "note": "x"},
        {"analyte": "calcium_ionised", "value": 1.1},
        "potassium 4",
    ]
    data["medications"] = ["baclofen", 42, "", "x" * 500]
    data["schema"] = "chairside.case/2"
    errs = errors_of(data)
    got = fields(errs)
    expected = {
        "schema",
        "surprise",
        "patient.age_years",
        "patient.dry_weight_kg",
        "patient.sex",
        "episode.severity_0_10",
        "episode.kind",
        "dialysis.session_minutes",
        "dialysis.sessions_per_week",
        "dialysis.blood_flow_ml_min",
        "dialysis.dialysate_calcium_mmol_l",
        "dialysis.extra_field",
        "vitals.temperature_c",
        "findings.speach_disturbance",
        "findings.seizure",
        "labs[0].unit",
        "labs[1].value",
        "labs[2].value",
        "labs[3].value",
        "labs[4].analyte",
        "labs[5].when",
        "labs[5].note",
        "labs[6].unit",
        "labs[7]",
        "medications[1]",
        "medications[2]",
        "medications[3]",
    }
    assert expected <= got, expected - got
    msgs = {e["field"]: e["message"] for e in errs}
    assert msgs["labs[0].unit"] == "mg/dL is not a unit for potassium; use mmol/L or mEq/L"
    assert "potassium 0 mmol/L is not possible in a living patient" in msgs["labs[1].value"]
    assert "magnesium 50 mmol/L is not possible in a living patient" in msgs["labs[2].value"]
    assert "did you mean 'speech_disturbance'" in msgs["findings.speach_disturbance"]
    assert "did you mean 'magnesium'" in msgs["labs[4].analyte"]
    assert "must be a number" in msgs["patient.age_years"]
    assert "°F" in msgs["vitals.temperature_c"]
    assert "mEq/L" in msgs["dialysis.dialysate_calcium_mmol_l"]
    json.loads(errors_to_json(errs))


def test_schema_required_and_object_required() -> None:
    assert fields(errors_of({})) == {"schema"}
    assert fields(errors_of([])) == {"case"}
    assert fields(errors_of(None)) == {"case"}
    assert fields(errors_of({"schema": "chairside.case/1", "labs": {}})) == {"labs"}


def test_duplicate_analyte_at_the_same_time_is_an_error() -> None:
    data = make_case(labs={"potassium": 4.0})
    data["labs"].append({"analyte": "potassium", "value": 3.0, "unit": "mmol/L", "when": "pre_dialysis"})
    errs = errors_of(data)
    assert [e["field"] for e in errs] == ["labs[6].analyte"]
    assert "entered twice" in errs[0]["message"] and "post_dialysis" in errs[0]["message"]


def test_pre_and_post_dialysis_values_of_one_analyte_are_both_valid() -> None:
    data = make_case(labs={"potassium": 4.2})
    data["labs"].append({"analyte": "potassium", "value": 2.5, "unit": "mmol/L", "when": "post_dialysis"})
    case = validate_case(data)
    assert sorted((lab.when, lab.value) for lab in case.labs if lab.analyte == "potassium") == [
        ("post_dialysis", 2.5),
        ("pre_dialysis", 4.2),
    ]


def test_children_are_rejected() -> None:
    errs = errors_of(make_case(overrides={"patient.age_years": 15}))
    assert "adults" in errs[0]["message"]


def test_nulls_mean_not_assessed() -> None:
    data = make_case(overrides={"episode.hours_after_dialysis": None, "dialysis.uf_volume_ml": None})
    data["findings"]["fever"] = None
    plan = evaluate(data)
    assert "findings.fever" in plan.missing


def test_unknown_medications_are_warnings_not_errors() -> None:
    plan = evaluate(make_case(meds=["Sevelamer", "foo", "Baclofen "]))
    assert plan.warnings == ("unrecognised medication: foo",)
    assert plan.verdict("baclofen").on_medication_list


def test_integers_accept_integral_floats() -> None:
    case = validate_case(make_case(overrides={"dialysis.sessions_per_week": 3.0}))
    assert case.dialysis.sessions_per_week == 3


def test_unit_may_be_omitted_only_when_unambiguous() -> None:
    data = make_case()
    data["labs"].append({"analyte": "qtc", "value": 450})
    assert validate_case(data).labs[-1].unit == "ms"
    data["labs"].append({"analyte": "albumin", "value": 35})
    assert "labs[7].unit" in fields(errors_of(data))


def test_post_dialysis_sample_warns() -> None:
    data = make_case(labs={"potassium": None})
    data["labs"].append({"analyte": "potassium", "value": 3.2, "unit": "mmol/L", "when": "post_dialysis"})
    plan = evaluate(data)
    assert any("after dialysis" in w for w in plan.warnings)


# ----------------------------------------------------------------------------------------------- missing


def test_complete_case_has_nothing_missing() -> None:
    assert evaluate(make_case()).missing == ()


def test_cramp_case_without_labs_orders_them_and_is_never_normal() -> None:
    data = make_case()
    del data["labs"]
    plan = evaluate(data)
    assert "labs.magnesium" in plan.missing and "labs.potassium" in plan.missing
    a = next(a for s in plan.steps for a in s.actions if a.code == "labs.order_missing")
    assert "magnesium" in a.text and "ionised calcium" in a.text
    assert plan.derived.labs_si == {} and plan.derived.lab_flags == {}
    assert list(plan.missing) == sorted(plan.missing)


def test_minimal_case_lists_targeted_missing_inputs() -> None:
    plan = evaluate({"schema": "chairside.case/1", "episode": {"kind": "cramp"}})
    m = set(plan.missing)
    assert {"labs.magnesium", "findings.chest_pain", "dialysis.pre_weight_kg", "episode.timing", "medications"} <= m
    # not a dump of every finding: non-screen findings are not listed without a reason
    assert "findings.torticollis" not in m and "findings.headache" not in m
    assert "labs.beta2_microglobulin" not in m


def test_spine_pain_asks_for_deficits_and_vintage() -> None:
    plan = evaluate(make_case(findings={"neck_pain_persistent": True}, drop=["patient.dialysis_vintage_months"]))
    assert {"findings.hand_clumsiness", "findings.gait_change", "patient.dialysis_vintage_months"} <= set(plan.missing)
