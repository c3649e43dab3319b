"""Generated-case properties of the plan rules: conflicting comfort never survives a red flag that overrides
it, a drug trial never runs ahead of its unanswered screen, later treatment lines need a failed earlier one,
and the "do now" list stays short, urgent first and free of repeats."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from clinic.engine import evaluate, validate_case
from clinic.engine.actions import DO_NOW_MAX, drug_lines
from clinic.engine.derived import build_ctx
from clinic.engine.screens import open_screens
from clinic.engine.types import TRIAL_OUTCOMES

from .test_properties import SETTINGS, K, valid_cases

TRIAL_DRUGS = sorted({a.drug for a in K.actions.values() if a.drug is not None})
trials = st.lists(
    st.fixed_dictionaries(
        {"drug": st.sampled_from(TRIAL_DRUGS), "outcome": st.sampled_from(TRIAL_OUTCOMES)},
        optional={"weeks": st.integers(0, 52)},
    ),
    max_size=3,
)


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    case: dict[str, Any] = dict(draw(valid_cases))
    history = draw(st.one_of(st.none(), trials))
    if history is not None:
        case["previous_trials"] = history
    return case


@SETTINGS
@given(cases())
def test_no_action_survives_a_red_flag_it_yields_to(data: dict[str, Any]) -> None:
    plan = evaluate(data)
    raised = {r.code: r.urgency for r in plan.red_flags}
    for code in plan.action_codes():
        a = K.actions[code]
        assert not (set(a.suppressed_by) & set(raised)), (code, raised)
        assert not (set(a.suppressed_at) & set(raised.values())), (code, raised)
    if "emergency" in raised.values():
        acute = [a.code for s in plan.steps if s.code == "acute" for a in s.actions]
        assert acute and acute[0] == "acute.redflag_first"
        for comfort in ("acute.keep_blood_flow", "acute.physical_measures", "acute.hypertonic_rescue"):
            assert comfort not in acute


@SETTINGS
@given(cases())
def test_a_drug_trial_never_runs_ahead_of_an_unanswered_screen(data: dict[str, Any]) -> None:
    plan = evaluate(data)
    open_now = open_screens(build_ctx(validate_case(data), K))
    codes = plan.action_codes()
    for code in codes:
        waiting = set(K.actions[code].needs_screens) & set(open_now)
        assert not waiting, (code, waiting)
    held = [c for c in K.actions if K.actions[c].needs_screens and set(K.actions[c].needs_screens) & set(open_now)]
    if "pharmacotherapy.withheld_until_screen" in codes:
        assert held and "acute.complete_red_flag_screen" in codes


@SETTINGS
@given(cases())
def test_later_lines_need_a_failed_earlier_line(data: dict[str, Any]) -> None:
    plan = evaluate(data)
    lines = drug_lines(build_ctx(validate_case(data), K))
    failed = [t for t in data.get("previous_trials") or [] if t["outcome"] in ("no_benefit", "not_tolerated")]
    for code in plan.action_codes():
        a = K.actions[code]
        if a.line is not None and a.line > 1:
            assert any(lines.get(t["drug"], a.line) < a.line for t in failed), code
        if a.drug is not None:
            tried = [t for t in data.get("previous_trials") or [] if t["drug"] == a.drug]
            assert not any(t["outcome"] in ("no_benefit", "not_tolerated", "ongoing") for t in tried), code


@SETTINGS
@given(cases())
def test_do_now_is_short_urgent_first_one_line_and_no_repeats(data: dict[str, Any]) -> None:
    plan = evaluate(data)
    assert len(plan.do_now) <= DO_NOW_MAX
    assert all(d.text and "\n" not in d.text for d in plan.do_now)
    assert len({d.code for d in plan.do_now}) == len(plan.do_now)
    assert len({d.text for d in plan.do_now}) == len(plan.do_now)
    emergencies = [r.code for r in plan.red_flags if r.urgency == "emergency"]
    head = [d.code for d in plan.do_now[: min(len(emergencies), DO_NOW_MAX)]]
    assert head == emergencies[: len(head)]
    in_plan = set(plan.action_codes()) | {r.code for r in plan.red_flags}
    assert {d.code for d in plan.do_now} <= in_plan
