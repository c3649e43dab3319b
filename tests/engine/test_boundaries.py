"""Issue 17 points 6 and 8: a value exactly at a threshold gets the decision the facts' inequality states in the unit
it was entered in (both unit systems), and pre- and post-dialysis samples are both kept, each read by the rules
that apply to it. The badge next to a value never contradicts the decision."""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

import pytest

from clinic.engine import CaseError, evaluate, load_knowledge, validate_case
from clinic.engine.integrity import check_integrity
from clinic.engine.knowledge import DEFAULT_DIR, normalise_unit
from clinic.engine.readings import LabValue, Reading, compare
from clinic.engine.units import classify

from .conftest import actions, flags, make_case, plan_for

K = load_knowledge()


def _step(limit: float) -> float:
    """One step in the last digit a lab would report next to ``limit`` (1.7 -> 0.01, 70 -> 0.1, 175 -> 1)."""
    return 10.0 ** (math.floor(math.log10(abs(limit))) - 2) if limit else 0.01


def _lab_threshold_cases() -> list[tuple[str, str, float]]:
    """(threshold id, accepted unit, value) at and one reporting step either side of every lab threshold."""
    out: list[tuple[str, str, float]] = []
    for t in K.thresholds.values():
        if t.analyte is None or t.op is None:
            continue
        a = K.analytes[t.analyte]
        for u in a.units:
            limit = t.in_units.get(normalise_unit(u.unit), t.value * u.from_si)
            for v in (limit - _step(limit), limit, limit + _step(limit)):
                out.append((t.id, u.unit, round(v, 9)))
    return out


def _reading(analyte: str, value: float, unit: str, when: str | None = "pre_dialysis") -> LabValue:
    u = K.analytes[analyte].unit_lookup[normalise_unit(unit)]
    return LabValue(analyte, [Reading(value, normalise_unit(unit), value * u.to_si, when)])


@pytest.mark.parametrize(("tid", "unit", "value"), _lab_threshold_cases())
def test_every_lab_threshold_decides_on_the_entered_unit(tid: str, unit: str, value: float) -> None:
    t = K.thresholds[tid]
    a = K.analytes[t.analyte or ""]
    u = a.unit_lookup[normalise_unit(unit)]
    stated = t.in_units.get(normalise_unit(unit))
    limit = stated if stated is not None else t.value * u.from_si
    assert t.op is not None
    assert t.hit(_reading(a.code, value, unit)) is compare(value, t.op, limit)
    # the badge agrees with every abnormal-value decision, in the same unit
    if not t.context and t.hit(_reading(a.code, value, unit)):
        badge = classify(a.code, _reading(a.code, value, unit), K)
        assert badge == ("low" if t.op in ("<", "<=") else "high"), (tid, unit, value, badge)


def test_lab_thresholds_have_equivalents_for_every_unit_with_a_factor() -> None:
    assert check_integrity(K) == []
    lab_thresholds = [t for t in K.thresholds.values() if t.analyte]
    assert len(lab_thresholds) >= 25


# (labs, expected red flags {code: urgency or None}, actions that must / must not be in the plan)
Case = tuple[dict[str, Any], dict[str, str | None], set[str], set[str]]
PLANS: list[Case] = [
    # magnesium: < 0.70 mmol/L = < 1.7 mg/dL = < 1.4 mEq/L (dialysate review)
    ({"magnesium": (1.7, "mg/dL")}, {}, set(), {"electrolytes.magnesium_dialysate"}),
    ({"magnesium": (1.69, "mg/dL")}, {}, {"electrolytes.magnesium_dialysate"}, set()),
    ({"magnesium": (1.4, "mEq/L")}, {}, set(), {"electrolytes.magnesium_dialysate"}),
    ({"magnesium": (1.39, "mEq/L")}, {}, {"electrolytes.magnesium_dialysate"}, set()),
    ({"magnesium": 0.70}, {}, set(), {"electrolytes.magnesium_dialysate"}),
    ({"magnesium": 0.699}, {}, {"electrolytes.magnesium_dialysate"}, set()),
    # severe: < 0.5 mmol/L = < 1.2 mg/dL = < 1.0 mEq/L (arrhythmia risk)
    ({"magnesium": (1.2, "mg/dL")}, {"redflag.arrhythmia_risk": None}, set(), set()),
    ({"magnesium": (1.19, "mg/dL")}, {"redflag.arrhythmia_risk": "urgent"}, set(), set()),
    ({"magnesium": (1.0, "mEq/L")}, {"redflag.arrhythmia_risk": None}, set(), set()),
    ({"magnesium": (0.99, "mEq/L")}, {"redflag.arrhythmia_risk": "urgent"}, set(), set()),
    # hypermagnesaemia: >= 2.0 mmol/L = >= 4.9 mg/dL = >= 4 mEq/L
    ({"magnesium": (4.9, "mg/dL")}, {"redflag.hypermagnesaemia": "urgent"}, set(), set()),
    ({"magnesium": (4.89, "mg/dL")}, {"redflag.hypermagnesaemia": None}, set(), set()),
    ({"magnesium": (4.0, "mEq/L")}, {"redflag.hypermagnesaemia": "urgent"}, set(), set()),
    ({"magnesium": (3.99, "mEq/L")}, {"redflag.hypermagnesaemia": None}, set(), set()),
    # Mg intake: > 1.25 mmol/L = > 3.0 mg/dL
    ({"magnesium": (3.0, "mg/dL")}, {}, set(), {"electrolytes.stop_magnesium_sources"}),
    ({"magnesium": (3.01, "mg/dL")}, {}, {"electrolytes.stop_magnesium_sources"}, set()),
    # ionised calcium: critical < 0.80 mmol/L = < 3.2 mg/dL; low < 1.0 = < 4.0 mg/dL
    ({"calcium_ionised": (3.2, "mg/dL")}, {"redflag.tetany": None, "redflag.arrhythmia_risk": "urgent"}, set(), set()),
    ({"calcium_ionised": (3.19, "mg/dL")}, {"redflag.tetany": "emergency"}, set(), set()),
    ({"calcium_ionised": (1.6, "mEq/L")}, {"redflag.tetany": None}, set(), set()),
    ({"calcium_ionised": (1.59, "mEq/L")}, {"redflag.tetany": "emergency"}, set(), set()),
    ({"calcium_ionised": (4.0, "mg/dL")}, {"redflag.arrhythmia_risk": None}, set(), set()),
    ({"calcium_ionised": (3.99, "mg/dL")}, {"redflag.arrhythmia_risk": "urgent"}, set(), set()),
    ({"calcium_ionised": 0.80}, {"redflag.tetany": None}, set(), set()),
    ({"calcium_ionised": 0.799}, {"redflag.tetany": "emergency"}, set(), set()),
    # glucose: < 70 mg/dL (3.9 mmol/L)
    ({"glucose": (70, "mg/dL")}, {"redflag.hypoglycaemia": None}, set(), set()),
    ({"glucose": (69.9, "mg/dL")}, {"redflag.hypoglycaemia": "emergency"}, set(), set()),
    ({"glucose": 3.9}, {"redflag.hypoglycaemia": None}, set(), set()),
    ({"glucose": 3.89}, {"redflag.hypoglycaemia": "emergency"}, set(), set()),
    # aluminium: >= 20 µg/L = >= 0.74 µmol/L (remove sources); > 60 = > 2.22 µmol/L (flag)
    ({"aluminium": (0.74, "µmol/L")}, {}, {"medications.remove_aluminium_sources"}, set()),
    ({"aluminium": (0.73, "umol/L")}, {}, set(), {"medications.remove_aluminium_sources"}),
    ({"aluminium": (2.22, "µmol/L")}, {"redflag.aluminium": None}, set(), set()),
    ({"aluminium": (2.23, "µmol/L")}, {"redflag.aluminium": "urgent"}, set(), set()),
    # potassium: identical numbers in mmol/L and mEq/L
    ({"potassium": (6.5, "mEq/L")}, {"redflag.hyperkalaemia": "emergency"}, set(), set()),
    ({"potassium": (6.49, "mEq/L")}, {"redflag.hyperkalaemia": "urgent"}, set(), set()),
    ({"potassium": (2.5, "mEq/L")}, {"redflag.hypokalaemia": "urgent"}, set(), set()),
    ({"potassium": (2.49, "mEq/L")}, {"redflag.hypokalaemia": "emergency"}, set(), set()),
]


@pytest.mark.parametrize(("labs", "expect_flags", "must", "must_not"), PLANS)
def test_plan_at_and_around_thresholds_in_both_unit_systems(
    labs: dict[str, Any], expect_flags: dict[str, str | None], must: set[str], must_not: set[str]
) -> None:
    plan = plan_for(labs=labs)
    got = flags(plan)
    for code, urgency in expect_flags.items():
        assert got.get(code) == urgency, (code, got)
    assert must <= actions(plan)
    assert not must_not & actions(plan)


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "badge"),
    [
        ("magnesium", 1.7, "mg/dL", "normal"),
        ("magnesium", 1.69, "mg/dL", "low"),
        ("magnesium", 2.55, "mg/dL", "normal"),
        ("magnesium", 2.56, "mg/dL", "high"),
        ("glucose", 70, "mg/dL", "normal"),
        ("glucose", 69.9, "mg/dL", "low"),
        ("phosphate", 2.5, "mg/dL", "normal"),  # 0.8071 mmol/L would be below 0.81
        ("phosphate", 2.49, "mg/dL", "low"),
        ("calcium_ionised", 4.61, "mg/dL", "normal"),
        ("calcium_total", 8.5, "mg/dL", "normal"),
        ("albumin", 3.5, "g/dL", "normal"),
        ("albumin", 3.49, "g/dL", "low"),
        ("aluminium", 0.74, "µmol/L", "high"),
        ("qtc", 450, "ms", "high"),  # prolonged >= 450 ms
        ("qtc", 449, "ms", "normal"),
    ],
)
def test_badge_on_the_entered_unit(analyte: str, value: float, unit: str, badge: str) -> None:
    si = value * K.analytes[analyte].unit_lookup[normalise_unit(unit)].to_si
    assert classify(analyte, si, K, entered_value=value, entered_unit=unit) == badge
    assert classify(analyte, _reading(analyte, value, unit), K) == badge
    assert plan_for(labs={analyte: (value, unit)}).derived.lab_flags[analyte] == badge


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_DIR, target)
    return target


def test_integrity_refuses_a_missing_or_wrong_unit_equivalent(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    path = target / "thresholds.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('in_units = { "mg/dL" = 1.7, "mEq/L" = 1.4 }', 'in_units = { "mg/dL" = 17 }'))
    problems = check_integrity(load_knowledge(target))
    assert any("'mg_low'" in p and "more than 2.5 %" in p for p in problems), problems
    assert any("'mg_low'" in p and "no limit in mEq/L" in p for p in problems), problems


def test_integrity_refuses_a_badge_that_would_contradict_a_decision(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    path = target / "analytes.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("reference_low = 3.9\n", "reference_low = 3.5\n"), encoding="utf-8")
    problems = check_integrity(load_knowledge(target))
    assert any("'glucose_low' and the glucose badge disagree" in p for p in problems), problems


# ------------------------------------------------------------------------------------- pre / post dialysis


def _with_post(pre: dict[str, Any] | None, post: dict[str, tuple[float, str]]) -> dict[str, Any]:
    case = make_case(labs=pre)
    for analyte, (value, unit) in post.items():
        case["labs"].append({"analyte": analyte, "value": value, "unit": unit, "when": "post_dialysis"})
    return case


def test_pre_4_2_and_post_2_5_potassium_both_kept_post_drives_hypokalaemia() -> None:
    plan = evaluate(_with_post({"potassium": 4.2}, {"potassium": (2.5, "mmol/L")}))
    rf = next(r for r in plan.red_flags if r.code == "redflag.hypokalaemia")
    assert rf.urgency == "urgent"  # < 3.0 (post-dialysis counts); not < 2.5
    assert "2.5 mmol/L (post-dialysis)" in rf.why and "4.2 mmol/L (pre-dialysis)" in rf.why
    assert plan.derived.labs_si["potassium"] == 4.2
    assert plan.derived.labs_si_post_dialysis == {"potassium": 2.5}
    assert "labs.potassium" not in plan.missing


@pytest.mark.parametrize(
    ("post_k", "hypok"),
    [(3.0, None), (2.99, "urgent"), (2.5, "urgent"), (2.49, "emergency")],
)
def test_post_dialysis_hypokalaemia_tiers(post_k: float, hypok: str | None) -> None:
    f = flags(evaluate(_with_post({"potassium": 4.2}, {"potassium": (post_k, "mEq/L")})))
    assert f.get("redflag.hypokalaemia") == hypok


def test_post_dialysis_value_is_not_read_by_pre_dialysis_rules() -> None:
    # "pre-HD K < 3.5" (arrhythmia risk, bath review) and "pre-HD Mg < 0.70" read pre-dialysis samples only
    plan = evaluate(
        _with_post({"potassium": 4.2, "magnesium": 0.85}, {"potassium": (3.2, "mmol/L"), "magnesium": (0.6, "mmol/L")})
    )
    assert "redflag.arrhythmia_risk" not in flags(plan)
    assert not {"electrolytes.potassium_dialysate", "electrolytes.magnesium_dialysate"} & actions(plan)


def test_post_dialysis_only_sample_leaves_the_pre_dialysis_value_missing() -> None:
    case = _with_post({"potassium": None}, {"potassium": (2.4, "mmol/L")})
    plan = evaluate(case)
    assert "labs.potassium" in plan.missing
    assert flags(plan)["redflag.hypokalaemia"] == "emergency"  # but the emergency is still seen
    assert "labs.order_missing" in actions(plan)


def test_post_dialysis_ionised_calcium_and_glucose_count() -> None:
    f = flags(evaluate(_with_post(None, {"calcium_ionised": (0.75, "mmol/L"), "glucose": (65, "mg/dL")})))
    assert f["redflag.tetany"] == "emergency" and f["redflag.hypoglycaemia"] == "emergency"


def test_same_analyte_twice_at_the_same_time_is_still_refused() -> None:
    case = _with_post({"potassium": 4.2}, {"potassium": (2.5, "mmol/L")})
    case["labs"].append({"analyte": "potassium", "value": 2.6, "unit": "mmol/L", "when": "post_dialysis"})
    with pytest.raises(CaseError) as exc:
        validate_case(case)
    assert [e["field"] for e in exc.value.errors] == [f"labs[{len(case['labs']) - 1}].analyte"]
    assert "post-dialysis" in exc.value.errors[0]["message"]


def test_labvalue_survives_copy_and_pickle() -> None:
    import copy
    import pickle

    v = _reading("magnesium", 1.7, "mg/dL")
    for clone in (copy.deepcopy(v), pickle.loads(pickle.dumps(v))):
        assert clone == v and clone.readings == v.readings and clone.analyte == "magnesium"


def test_catalogue_shows_each_lab_threshold_in_every_unit_and_its_samples() -> None:
    from clinic.engine.catalogue import render_markdown

    text = render_markdown(K)
    row = next(line for line in text.splitlines() if line.startswith("| `mg_low`"))
    assert "= 1.7 mg/dL = 1.4 mEq/L" in row and "not post-dialysis samples" in row
    row = next(line for line in text.splitlines() if line.startswith("| `k_low_emergency`"))
    assert "post-dialysis samples too" in row
    row = next(line for line in text.splitlines() if line.startswith("| Glucose"))
    assert "70–198 mg/dL" in row
