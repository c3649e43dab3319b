"""Property tests over generated valid and invalid cases (hypothesis)."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinic.engine import CaseError, evaluate, load_knowledge, plan_to_json, validate_case
from clinic.engine.contract import (
    ACCESS,
    BUFFERS,
    CONDITIONS,
    FINDINGS,
    FLUX,
    HEPATIC,
    KINDS,
    LAB_WHEN,
    MEDICATIONS,
    SEXES,
    SITES,
    STEPS,
    TIMINGS,
)
from clinic.engine.drugs import STRICTNESS
from clinic.engine.units import from_si

K = load_knowledge()
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def num(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False)


def maybe(s: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), s)


@st.composite
def lab_entries(draw: st.DrawFn) -> list[dict[str, Any]]:
    analytes = draw(st.lists(st.sampled_from(sorted(K.analytes)), unique=True, max_size=len(K.analytes)))
    out = []
    for code in analytes:
        a = K.analytes[code]
        span = a.plausible_max - a.plausible_min
        si = draw(num(a.plausible_min + span * 0.001, a.plausible_max - span * 0.01))
        unit = draw(st.sampled_from([u.unit for u in a.units]))
        value = round(from_si(code, si, unit, K), 6)
        entry: dict[str, Any] = {"analyte": code, "value": value, "unit": unit}
        when = draw(maybe(st.sampled_from(LAB_WHEN)))
        if when is not None:
            entry["when"] = when
        out.append(entry)
    return out


valid_cases = st.fixed_dictionaries(
    {"schema": st.just("chairside.case/1")},
    optional={
        "patient": st.fixed_dictionaries(
            {},
            optional={
                "age_years": num(18, 120),
                "sex": st.sampled_from(SEXES),
                "dialysis_vintage_months": num(0, 720),
                "sessions_completed": st.integers(0, 20000),
                "dry_weight_kg": num(20, 300),
                "diabetes": st.booleans(),
                "residual_urine_ml_per_day": num(0, 5000),
                "hepatic_impairment": st.sampled_from(HEPATIC),
                "access": st.sampled_from(ACCESS),
                "conditions": st.lists(st.sampled_from(CONDITIONS), max_size=5),
            },
        ),
        "episode": st.fixed_dictionaries(
            {},
            optional={
                "timing": st.sampled_from(TIMINGS),
                "ongoing": st.booleans(),
                "minutes_into_session": maybe(num(0, 720)),
                "hours_after_dialysis": maybe(num(0, 168)),
                "sites": st.lists(st.sampled_from(SITES), max_size=4),
                "kind": st.sampled_from(KINDS),
                "severity_0_10": num(0, 10),
                "episodes_last_4_weeks": st.integers(0, 500),
                "duration_weeks": num(0, 1040),
            },
        ),
        "findings": st.dictionaries(st.sampled_from(FINDINGS), maybe(st.booleans()), max_size=len(FINDINGS)),
        "vitals": st.fixed_dictionaries(
            {},
            optional={
                "sbp_pre_mmhg": num(40, 300),
                "sbp_nadir_mmhg": num(30, 300),
                "heart_rate_bpm": num(15, 250),
                "temperature_c": num(25, 45),
            },
        ),
        "labs": lab_entries(),
        "dialysis": st.fixed_dictionaries(
            {},
            optional={
                "pre_weight_kg": num(20, 300),
                "previous_post_weight_kg": num(20, 300),
                "target_weight_kg": num(20, 300),
                "session_minutes": num(30, 720),
                "sessions_per_week": st.integers(1, 7),
                "uf_volume_ml": maybe(num(0, 10000)),
                "dialysate_sodium_mmol_l": num(120, 160),
                "sodium_profiling": st.booleans(),
                "dialysate_potassium_mmol_l": num(0, 5),
                "dialysate_calcium_mmol_l": num(0.5, 2.0),
                "dialysate_magnesium_mmol_l": num(0, 1.0),
                "dialysate_bicarbonate_mmol_l": num(20, 50),
                "buffer": st.sampled_from(BUFFERS),
                "dialysate_temperature_c": num(33, 40),
                "blood_flow_ml_min": num(50, 600),
                "dialyser_flux": st.sampled_from(FLUX),
                "missed_or_shortened_sessions_last_month": st.integers(0, 31),
            },
        ),
        "medications": st.lists(
            st.one_of(st.sampled_from(MEDICATIONS), st.text(min_size=1, max_size=20).filter(str.strip)), max_size=8
        ),
    },
).map(lambda case: consistent(case))


def consistent(case: dict[str, Any]) -> dict[str, Any]:
    """Make the independently drawn fields agree with each other, as a real case does (the engine refuses
    contradictions: issue 17 point 7, tested in test_cross_checks.py)."""
    ep, p, d = case.get("episode", {}), case.get("patient", {}), case.get("dialysis", {})
    if ep.get("timing") in ("after_dialysis", "between_sessions"):
        ep.pop("minutes_into_session", None)
    if ep.get("timing") == "between_sessions" and ep.get("ongoing") is True:
        ep["ongoing"] = False
    if ep.get("timing") == "during_dialysis":
        ep.pop("hours_after_dialysis", None)
    if ep.get("minutes_into_session") is not None and d.get("session_minutes") is not None:
        ep["minutes_into_session"] = min(ep["minutes_into_session"], d["session_minutes"])
    vintage, sessions = p.get("dialysis_vintage_months"), p.get("sessions_completed")
    if vintage is not None and sessions is not None:
        low = math.floor(max(0.0, vintage - 1) * K.value("sessions_per_month_min"))
        high = math.ceil((vintage + 1) * K.value("sessions_per_month_max"))
        p["sessions_completed"] = min(max(sessions, low), high)
    gap = K.value("weight_gap_typo_kg")

    def near(value: float, other: float) -> float:
        return min(max(value, other - gap, 20.0), other + gap, 300.0)

    if d.get("target_weight_kg") is not None and p.get("dry_weight_kg") is not None:
        d["target_weight_kg"] = near(d["target_weight_kg"], p["dry_weight_kg"])
    ref = d.get("target_weight_kg", p.get("dry_weight_kg"))
    for key in ("pre_weight_kg", "previous_post_weight_kg"):
        if ref is not None and d.get(key) is not None:
            d[key] = near(d[key], ref)
    if d.get("pre_weight_kg") is not None and d.get("previous_post_weight_kg") is not None:
        d["previous_post_weight_kg"] = near(d["previous_post_weight_kg"], d["pre_weight_kg"])
        if ref is not None:
            d["previous_post_weight_kg"] = near(d["previous_post_weight_kg"], ref)
    return case


@SETTINGS
@given(valid_cases)
def test_valid_cases_never_crash_and_keep_safety_invariants(data: dict[str, Any]) -> None:
    plan = evaluate(data)
    assert plan_to_json(plan) == plan_to_json(evaluate(data))  # deterministic
    for drug in ("baclofen", "quinine", "quinidine"):
        assert plan.verdict(drug).verdict == "avoid"
    for v in plan.drugs:
        assert STRICTNESS[v.verdict] >= STRICTNESS[K.drugs[v.drug].verdict], v.drug
        assert v.sources
        assert (v.dose is None) == (v.verdict == "avoid")
    order = [s.code for s in plan.steps]
    assert order == [s for s in STEPS if s in order]
    for s in plan.steps:
        assert s.actions
        for a in s.actions:
            assert a.sources and a.evidence in ("V", "S", "U") and a.who in ("nurse", "nephrologist") and a.why
    ranks = [("emergency", "urgent", "soon").index(r.urgency) for r in plan.red_flags]
    assert ranks == sorted(ranks)
    for r in plan.red_flags:
        assert r.sources and r.evidence in ("V", "S", "U") and r.actions
    assert list(plan.missing) == sorted(set(plan.missing))
    # the cramp measures only when the episode is happening now during dialysis (the red-flag lead and the
    # unanswered-screen prompt may come at any time)
    ep = data.get("episode", {})
    if not (ep.get("timing") == "during_dialysis" and ep.get("ongoing") is True):
        acute = {a.code for s in plan.steps if s.code == "acute" for a in s.actions}
        assert acute <= {"acute.redflag_first", "acute.complete_red_flag_screen"}
    # pharmacotherapy never while an emergency/urgent red flag is open
    if any(r.urgency in ("emergency", "urgent") for r in plan.red_flags):
        assert not any(
            c.startswith("pharmacotherapy.") and c != "pharmacotherapy.cyclobenzaprine_short"
            for c in plan.action_codes()
        )
        assert "pharmacotherapy.cyclobenzaprine_short" not in plan.action_codes()


json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=50),
    st.text(alphabet="\u0000\ufffd🙂éß\u202e", max_size=10),
    st.just("x" * 5000),
)
json_values = st.recursive(
    json_leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(st.text(max_size=20), children, max_size=5)
    ),
    max_leaves=30,
)


def _raises_case_error(data: Any) -> None:
    try:
        validate_case(data)
    except CaseError as exc:
        assert exc.errors
        for e in exc.errors:
            assert set(e) == {"field", "message"}
            assert isinstance(e["field"], str) and isinstance(e["message"], str) and e["message"]
        return
    raise AssertionError("invalid input accepted")


@SETTINGS
@given(json_values)
def test_random_json_is_rejected_cleanly(data: Any) -> None:
    if isinstance(data, dict) and data.get("schema") == "chairside.case/1":
        return  # vanishingly rare; could be valid
    _raises_case_error(data)


SECTIONS = ("patient", "episode", "findings", "vitals", "labs", "dialysis", "medications")


@SETTINGS
@given(
    valid_cases,
    st.sampled_from(SECTIONS),
    st.one_of(st.text(min_size=1, max_size=30), st.sampled_from(["age_years", "timing", "fever", "pre_weight_kg"])),
    json_values,
)
def test_junk_inside_a_valid_case_is_rejected_cleanly(data: dict[str, Any], section: str, key: str, junk: Any) -> None:
    data = dict(data)
    current = data.get(section)
    if section in ("labs", "medications"):
        data[section] = [*(current or []), junk] if not isinstance(junk, str) or section == "labs" else junk
        if section == "medications" and isinstance(junk, str):
            data[section] = {"oops": junk}
    else:
        sect = dict(current or {})
        sect["zz_" + key] = junk  # unknown key: always an error
        data[section] = sect
    _raises_case_error(data)
