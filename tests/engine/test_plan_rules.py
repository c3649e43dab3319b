"""When actions fire (issue: plans that fit the emergency, drugs gated on a finished screen, treatment lines,
order and noise, and written-out rule conditions). Table-driven, at and around each boundary, in both unit
systems where a lab is involved. Generated-case properties are in test_plan_properties.py."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from clinic.engine import evaluate, load_knowledge, validate_case
from clinic.engine.catalogue import render_markdown
from clinic.engine.integrity import check_integrity

from .conftest import FAILED_VITAMIN_E, SPINE_AND_CARDIAC_NO, action, actions, flags, make_case, plan_for

ROOT = Path(__file__).resolve().parents[2]
K = load_knowledge()
COMFORT = ("acute.keep_blood_flow", "acute.physical_measures", "acute.hypertonic_rescue")


def acute_codes(plan: Any) -> list[str]:
    return [a.code for s in plan.steps if s.code == "acute" for a in s.actions]


# ------------------------------------------------------------------------ 1. cramp care during an emergency

# (case kwargs, red flag, urgency, actions that must be absent from the whole plan)
EMERGENCY_CASES: list[tuple[str, dict[str, Any], str, str, tuple[str, ...]]] = [
    ("seizure", {"findings": {"seizure": True}}, "redflag.seizure", "emergency", (*COMFORT, "acute.reduce_uf")),
    (
        "myocardial ischaemia (chest pain)",
        {"findings": {"chest_pain": True}},
        "redflag.acute_coronary",
        "emergency",
        (*COMFORT, "acute.reduce_uf"),
    ),
    (
        "jaw spasm with sweating",
        {"overrides": {"episode.sites": ["face"], "episode.kind": "spasm"}, "findings": {"diaphoresis": True}},
        "redflag.acute_coronary",
        "emergency",
        COMFORT,
    ),
    (
        "disequilibrium, first sessions, high UF rate",
        {
            "overrides": {"patient.sessions_completed": 2, "dialysis.uf_volume_ml": 3800},
            "findings": {"headache": True},
        },
        "redflag.disequilibrium",
        "urgent",
        (
            "acute.keep_blood_flow",
            "acute.hypertonic_rescue",
            "prescription.lower_uf_rate",
            "prescription.adequacy_review",
        ),
    ),
    (
        "disequilibrium with missed sessions",
        {
            "overrides": {"dialysis.missed_or_shortened_sessions_last_month": 3},
            "findings": {"confusion": True},
        },
        "redflag.disequilibrium",
        "urgent",
        ("acute.keep_blood_flow", "prescription.adequacy_review"),
    ),
    (
        "severe hyponatraemia (mmol/L)",
        {"labs": {"sodium": 122}},
        "redflag.hyponatraemia",
        "urgent",
        ("acute.keep_blood_flow", "acute.hypertonic_rescue"),
    ),
    (
        "severe hyponatraemia (mEq/L)",
        {"labs": {"sodium": (124.9, "mEq/L")}},
        "redflag.hyponatraemia",
        "urgent",
        ("acute.keep_blood_flow", "acute.hypertonic_rescue"),
    ),
    ("stroke", {"findings": {"focal_deficit": True}}, "redflag.stroke", "emergency", COMFORT),
    (
        "tetany",
        {"findings": {"carpopedal_spasm": True}},
        "redflag.tetany",
        "emergency",
        COMFORT,
    ),
    (
        "access-hand ischaemia",
        {"findings": {"access_hand_ischaemia": True}},
        "redflag.access_ischaemia",
        "urgent",
        ("acute.physical_measures", "acute.hypertonic_rescue"),
    ),
    (
        "hyperkalaemia emergency (mEq/L)",
        {"labs": {"potassium": (6.5, "mEq/L")}},
        "redflag.hyperkalaemia",
        "emergency",
        COMFORT,
    ),
]


@pytest.mark.parametrize(
    ("kwargs", "flag", "urgency", "absent"),
    [c[1:] for c in EMERGENCY_CASES],
    ids=[c[0] for c in EMERGENCY_CASES],
)
def test_red_flag_leads_and_conflicting_comfort_is_left_out(
    kwargs: dict[str, Any], flag: str, urgency: str, absent: tuple[str, ...]
) -> None:
    plan = plan_for(**kwargs)
    assert flags(plan).get(flag) == urgency
    codes = actions(plan)
    assert not set(absent) & codes, set(absent) & codes
    # the acute step leads with the flag's own first action
    assert acute_codes(plan)[0] == "acute.redflag_first"
    lead = action(plan, "acute.redflag_first")
    assert K.red_flags[flag].actions[0] in lead.text
    assert lead.text.startswith(K.advice["not_a_simple_cramp"])


def test_without_a_red_flag_the_cramp_care_is_all_there() -> None:
    codes = actions(plan_for())
    assert {"acute.reduce_uf", *COMFORT} <= codes
    assert "acute.redflag_first" not in codes


@pytest.mark.parametrize(
    ("sodium", "unit", "suppressed"),
    [(125.0, "mmol/L", False), (124.9, "mmol/L", True), (125.0, "mEq/L", False), (124.99, "mEq/L", True)],
)
def test_hyponatraemia_boundary_for_the_sodium_load(sodium: float, unit: str, suppressed: bool) -> None:
    plan = plan_for(labs={"sodium": (sodium, unit)})
    assert ("acute.hypertonic_rescue" not in actions(plan)) is suppressed
    assert ("redflag.hyponatraemia" in flags(plan)) is suppressed


def test_an_urgent_flag_that_does_not_conflict_keeps_the_cramp_care() -> None:
    plan = plan_for(labs={"potassium": 6.2})  # urgent hyperkalaemia: dialyse; the cramp may still be a cramp
    assert flags(plan)["redflag.hyperkalaemia"] == "urgent"
    assert acute_codes(plan)[0] == "acute.redflag_first"
    assert {"acute.reduce_uf", "acute.keep_blood_flow", "acute.physical_measures"} <= actions(plan)
    assert "deal with the open red flag first" in action(plan, "acute.hypertonic_rescue").why


def test_which_action_yields_is_data_not_code(tmp_path: Path) -> None:
    """Remove suppressed_by/suppressed_at from keep_blood_flow in a copy of the knowledge: it comes back."""
    src = ROOT / "clinic" / "knowledge"
    for f in src.glob("*.toml"):
        shutil.copy(f, tmp_path / f.name)
    path = tmp_path / "actions.toml"
    text = path.read_text(encoding="utf-8")
    block_start = text.index('[action."acute.keep_blood_flow"]')
    block_end = text.index("[action.", block_start + 10)
    block = re.sub(r"(?m)^suppressed_(by|at) = .*\n", "", text[block_start:block_end])
    path.write_text(text[:block_start] + block + text[block_end:], encoding="utf-8")
    k2 = load_knowledge(tmp_path)
    case = make_case(findings={"seizure": True})
    assert "acute.keep_blood_flow" not in evaluate(case).action_codes()
    assert "acute.keep_blood_flow" in evaluate(case, k2).action_codes()


def test_emergency_outside_the_chair_still_leads_with_the_flag() -> None:
    plan = plan_for(
        overrides={"episode.timing": "between_sessions", "episode.ongoing": False}, findings={"seizure": True}
    )
    assert acute_codes(plan) == ["acute.redflag_first"]
    urgent = plan_for(
        overrides={"episode.timing": "between_sessions", "episode.ongoing": False}, labs={"potassium": 6.2}
    )
    assert "acute.redflag_first" not in actions(urgent)  # urgent flags lead only in the chair


# --------------------------------------------------------------------------------- 2. myocardial ischaemia

UPPER = ("neck", "shoulders", "face", "arms")
FEATURES: list[tuple[str, dict[str, Any]]] = [
    ("breathlessness", {"findings": {"dyspnoea": True}}),
    ("sweating", {"findings": {"diaphoresis": True}}),
    ("palpitations", {"findings": {"palpitations": True}}),
    ("fainting", {"findings": {"syncope": True}}),
    ("hypotension reported", {"findings": {"intradialytic_hypotension": True}}),
    ("nadir 89 mmHg", {"vitals": {"sbp_pre_mmhg": 120, "sbp_nadir_mmhg": 89}}),
    ("heart rate 49", {"vitals": {"sbp_pre_mmhg": 140, "sbp_nadir_mmhg": 125, "heart_rate_bpm": 49}}),
]


def _acs_case(site: str, feature: dict[str, Any]) -> dict[str, Any]:
    overrides: dict[str, Any] = {"episode.sites": [site], "episode.kind": "spasm"}
    if "vitals" in feature:
        overrides["vitals"] = feature["vitals"]
    return make_case(overrides=overrides, findings=feature.get("findings"))


@pytest.mark.parametrize("site", UPPER)
@pytest.mark.parametrize(("label", "feature"), FEATURES, ids=[f[0] for f in FEATURES])
def test_upper_body_spasm_with_an_ischaemic_feature_is_an_emergency(
    site: str, label: str, feature: dict[str, Any]
) -> None:
    plan = evaluate(_acs_case(site, feature))
    assert flags(plan).get("redflag.acute_coronary") == "emergency"
    assert not set(COMFORT) & actions(plan)


@pytest.mark.parametrize(
    ("site", "feature"),
    [
        ("legs", {"findings": {"diaphoresis": True}}),  # not an upper-body site
        ("hands", {"findings": {"dyspnoea": True}}),
        ("face", {"findings": {"diaphoresis": False}}),  # answered no
        ("face", {"vitals": {"sbp_pre_mmhg": 105, "sbp_nadir_mmhg": 90}}),  # nadir 90 is not < 90; fall 15 < 20
        ("arms", {"vitals": {"sbp_pre_mmhg": 140, "sbp_nadir_mmhg": 125, "heart_rate_bpm": 50}}),  # 50 not < 50
    ],
)
def test_no_ischaemia_flag_without_an_upper_site_and_a_feature(site: str, feature: dict[str, Any]) -> None:
    assert "redflag.acute_coronary" not in flags(evaluate(_acs_case(site, feature)))


def test_unanswered_coronary_questions_are_missing_and_hold_drugs() -> None:
    plan = plan_for(overrides={"episode.sites": ["shoulders"], "episode.episodes_last_4_weeks": 5})
    assert {"findings.dyspnoea", "findings.diaphoresis"} <= set(plan.missing)
    assert "pharmacotherapy.vitamin_e" not in actions(plan)
    assert "pharmacotherapy.withheld_until_screen" in actions(plan)


def test_shoulders_and_jaw_are_contract_sites() -> None:
    case = validate_case(make_case(overrides={"episode.sites": ["shoulders", "face"]}))
    assert case.episode.sites == frozenset({"shoulders", "face"})


# ------------------------------------------------------------------------- 3. drugs withheld before the screen

LONG_VINTAGE_NECK = {
    "overrides": {
        "patient.dialysis_vintage_months": 150,
        "episode": {"timing": "between_sessions", "sites": ["neck"], "kind": "spasm", "episodes_last_4_weeks": 6},
        "findings": {},
    }
}


def test_long_vintage_neck_spasm_with_no_findings_gets_no_drug() -> None:
    plan = plan_for(**LONG_VINTAGE_NECK)
    codes = actions(plan)
    for trial in (
        "pharmacotherapy.cyclobenzaprine_short",
        "pharmacotherapy.vitamin_e",
        "pharmacotherapy.gabapentin_post_dialysis",
    ):
        assert trial not in codes
    held = action(plan, "pharmacotherapy.withheld_until_screen")
    assert "withheld until the red-flag screen is complete" in held.text
    assert "cyclobenzaprine" in held.why.lower() and "vitamin e" in held.why.lower()
    assert plan.do_now[0].code == "acute.complete_red_flag_screen"
    assert plan.do_now[0].text.startswith("Finish the 60-second red-flag screen")


NECK_SCREEN = [p for p in K.screens["neck_spine"].items if p.startswith("findings.")]
SIXTY = [f"findings.{f}" for f in K.screen_findings]


def _neck_spasm(drop: str | None) -> dict[str, Any]:
    case = make_case(
        overrides={"episode": {"timing": "between_sessions", "sites": ["neck"], "kind": "spasm"}},
        findings=SPINE_AND_CARDIAC_NO,
    )
    if drop is not None:
        section, _, key = drop.partition(".")
        case[section].pop(key)
    return case


def test_neck_spasm_with_every_question_answered_gets_cyclobenzaprine() -> None:
    assert "pharmacotherapy.cyclobenzaprine_short" in evaluate(_neck_spasm(None)).action_codes()


@pytest.mark.parametrize("question", [*NECK_SCREEN, *SIXTY, "patient.dialysis_vintage_months", "patient.access"])
def test_one_unanswered_question_withholds_the_muscle_relaxant(question: str) -> None:
    plan = evaluate(_neck_spasm(question))
    assert "pharmacotherapy.cyclobenzaprine_short" not in plan.action_codes()
    assert "pharmacotherapy.withheld_until_screen" in plan.action_codes()
    assert question in plan.missing


@pytest.mark.parametrize("question", SIXTY)
def test_one_unanswered_60_second_question_withholds_vitamin_e(question: str) -> None:
    case = make_case(overrides={"episode.episodes_last_4_weeks": 3})
    case["findings"].pop(question.split(".", 1)[1])
    plan = evaluate(case)
    assert "pharmacotherapy.vitamin_e" not in plan.action_codes()
    assert plan.do_now[0].code == "acute.complete_red_flag_screen"


def test_not_assessed_is_not_no_but_no_is_no() -> None:
    answered = make_case(overrides={"episode.episodes_last_4_weeks": 3})
    assert "pharmacotherapy.vitamin_e" in evaluate(answered).action_codes()
    unanswered = make_case(overrides={"episode.episodes_last_4_weeks": 3})
    unanswered["findings"]["fever"] = None  # explicit null = not assessed
    assert "pharmacotherapy.vitamin_e" not in evaluate(unanswered).action_codes()


# ------------------------------------------------------------------------------------ 4. treatment lines

FIRST_VISIT = {
    "overrides": {"episode.episodes_last_4_weeks": 6},
    "labs": {"carnitine_free": 30},
    "findings": {"intradialytic_hypotension": True},
}
LATER = ("pharmacotherapy.levocarnitine", "pharmacotherapy.midodrine", "pharmacotherapy.gabapentin_post_dialysis")


@pytest.mark.parametrize(
    ("trials", "later_offered", "vitamin_e_offered"),
    [
        (None, False, True),  # not recorded: first line only
        ([], False, True),  # recorded, nothing tried
        ([{"drug": "vitamin_e", "outcome": "no_benefit"}], True, False),
        ([{"drug": "vitamin_e", "outcome": "not_tolerated", "weeks": 2}], True, False),
        ([{"drug": "vitamin_e", "outcome": "benefit", "weeks": 12}], False, True),
        ([{"drug": "vitamin_e", "outcome": "ongoing", "weeks": 3}], False, False),
        ([{"drug": "gabapentin", "outcome": "no_benefit"}], False, True),  # a later line failing opens nothing
    ],
)
def test_later_lines_only_after_a_documented_failed_earlier_line(
    trials: list[dict[str, Any]] | None, later_offered: bool, vitamin_e_offered: bool
) -> None:
    kwargs = dict(FIRST_VISIT)
    if trials is not None:
        kwargs = {**kwargs, "overrides": {**FIRST_VISIT["overrides"], "previous_trials": trials}}
    # nadir and IDH documented; vitamin E line-1 always clinically indicated here
    plan = plan_for(**kwargs)
    codes = actions(plan)
    for code in LATER:
        if code == "pharmacotherapy.gabapentin_post_dialysis" and trials and trials[0]["drug"] == "gabapentin":
            assert code not in codes  # never re-proposed after its own failed trial
            continue
        assert (code in codes) is later_offered, code
    assert ("pharmacotherapy.vitamin_e" in codes) is vitamin_e_offered


def test_a_failed_line_is_named_in_the_later_line_why() -> None:
    plan = plan_for(overrides={"episode.episodes_last_4_weeks": 6, "previous_trials": FAILED_VITAMIN_E})
    assert "documented failed trial of Vitamin E" in action(plan, "pharmacotherapy.gabapentin_post_dialysis").why


@pytest.mark.parametrize(("episodes", "gabapentin"), [(3, False), (4, True)])  # frequent_episodes_4w >= 4
def test_gabapentin_frequency_boundary(episodes: int, gabapentin: bool) -> None:
    plan = plan_for(overrides={"episode.episodes_last_4_weeks": episodes, "previous_trials": FAILED_VITAMIN_E})
    assert ("pharmacotherapy.gabapentin_post_dialysis" in actions(plan)) is gabapentin


@pytest.mark.parametrize(
    ("vitals", "nurse_no", "idh"),
    [
        ({"sbp_pre_mmhg": 140, "sbp_nadir_mmhg": 115}, False, True),  # fall 25 with a cramp: inferred IDH
        ({"sbp_pre_mmhg": 140, "sbp_nadir_mmhg": 115}, True, False),  # ... never against the nurse's "no"
        ({"sbp_pre_mmhg": 140, "sbp_nadir_mmhg": 120}, False, True),  # fall of exactly 20 (>= 20)
        ({"sbp_pre_mmhg": 140, "sbp_nadir_mmhg": 121}, False, False),  # fall of 19
        ({"sbp_pre_mmhg": 120, "sbp_nadir_mmhg": 89}, True, True),  # a measured nadir < 90 is documented
    ],
)
def test_midodrine_only_for_documented_hypotension(vitals: dict[str, float], nurse_no: bool, idh: bool) -> None:
    findings = {"intradialytic_hypotension": False} if nurse_no else {}
    plan = plan_for(
        overrides={"vitals": vitals, "previous_trials": FAILED_VITAMIN_E, "episode.episodes_last_4_weeks": 3},
        findings=findings,
    )
    assert plan.derived.intradialytic_hypotension is idh
    assert ("pharmacotherapy.midodrine" in actions(plan)) is idh


def test_old_cases_without_previous_trials_stay_valid() -> None:
    assert validate_case(make_case()).previous_trials is None


@pytest.mark.parametrize(
    ("trials", "field"),
    [
        ("vitamin_e", "previous_trials"),
        ([{"drug": "vitamin_x", "outcome": "no_benefit"}], "previous_trials[0].drug"),
        ([{"drug": "vitamin_e", "outcome": "failed"}], "previous_trials[0].outcome"),
        ([{"drug": "vitamin_e", "outcome": "no_benefit", "weeks": -1}], "previous_trials[0].weeks"),
        ([{"drug": "vitamin_e", "outcome": "no_benefit", "weeks": 521}], "previous_trials[0].weeks"),
        ([{"drug": "vitamin_e", "outcome": "no_benefit", "dose": 400}], "previous_trials[0].dose"),
        (["vitamin_e"], "previous_trials[0]"),
    ],
)
def test_bad_previous_trials_are_refused_with_a_field_path(trials: Any, field: str) -> None:
    from clinic.engine import CaseError

    with pytest.raises(CaseError) as err:
        validate_case(make_case(overrides={"previous_trials": trials}))
    assert field in [e["field"] for e in err.value.errors]


# ------------------------------------------------------------------------------------- 9. order and noise


@pytest.mark.parametrize("potassium", [(6.2, "mmol/L"), (6.2, "mEq/L"), (6.0, "mmol/L"), (6.5, "mEq/L")])
def test_ecg_comes_before_missing_bloods(potassium: tuple[float, str]) -> None:
    plan = plan_for(labs={"potassium": potassium, "magnesium": None, "sodium": None})
    labs_step = next(s for s in plan.steps if s.code == "labs")
    order = [a.code for a in labs_step.actions]
    assert order.index("labs.ecg") < order.index("labs.order_missing")
    codes = [d.code for d in plan.do_now]
    ecg = next(i for i, d in enumerate(plan.do_now) if "ECG" in d.text)
    if "labs.order_missing" in codes:
        assert ecg < codes.index("labs.order_missing")


def test_creatine_kinase_is_asked_for_once() -> None:
    plan = plan_for(meds=["statin"], findings={"severe_muscle_pain_or_weakness": True})
    assert "labs.creatine_kinase" in actions(plan)
    missing_text = " ".join(a.text for s in plan.steps for a in s.actions if a.code == "labs.order_missing")
    assert "creatine kinase" not in missing_text.lower() and "CK" not in missing_text
    texts = [d.text for d in plan.do_now]
    assert len(texts) == len(set(texts))


@pytest.mark.parametrize(
    ("label", "kwargs", "fires"),
    [
        (
            "recurrent late-session",
            {"overrides": {"episode.episodes_last_4_weeks": 3, "episode.minutes_into_session": 180}},
            True,
        ),
        (
            "recurrent at exactly half",
            {"overrides": {"episode.episodes_last_4_weeks": 2, "episode.minutes_into_session": 120}},
            True,
        ),
        (
            "recurrent just before half",
            {"overrides": {"episode.episodes_last_4_weeks": 2, "episode.minutes_into_session": 119}},
            False,
        ),
        (
            "late but a single episode",
            {"overrides": {"episode.episodes_last_4_weeks": 1, "episode.minutes_into_session": 200}},
            False,
        ),
        ("hypotension", {"findings": {"intradialytic_hypotension": True}}, True),
        ("high UF rate alone", {"overrides": {"dialysis.uf_volume_ml": 3800}}, False),
        ("high weight gain alone", {"overrides": {"dialysis.pre_weight_kg": 74.0}}, False),
        (
            "tetany with a high UF rate",
            {
                "findings": {"carpopedal_spasm": True},
                "labs": {"calcium_ionised": 0.75},
                "overrides": {"dialysis.uf_volume_ml": 3800},
            },
            False,
        ),
        (
            "cord compression",
            {
                "findings": {"neck_pain_persistent": True, "arm_weakness_or_numbness": True},
                "overrides": {"patient.dialysis_vintage_months": 130, "dialysis.uf_volume_ml": 3800},
            },
            False,
        ),
        (
            "after dialysis",
            {"overrides": {"episode.timing": "after_dialysis", "episode.episodes_last_4_weeks": 5}},
            False,
        ),
    ],
)
def test_dry_weight_review_only_with_recurrent_late_cramps_or_hypotension(
    label: str, kwargs: dict[str, Any], fires: bool
) -> None:
    assert ("prescription.reassess_dry_weight" in actions(plan_for(**kwargs))) is fires


@pytest.mark.parametrize(
    ("timing", "ongoing", "verdict"),
    [("during_dialysis", True, "usable"), ("between_sessions", False, "caution"), ("after_dialysis", False, "caution")],
)
def test_dextrose_50_route_is_the_venous_line_during_dialysis(timing: str, ongoing: bool, verdict: str) -> None:
    plan = plan_for(overrides={"episode.timing": timing, "episode.ongoing": ongoing})
    v = plan.verdict("dextrose_50")
    assert v.verdict == verdict
    assert "VENOUS BLOOD LINE during HD only" in (v.dose or "")


@pytest.mark.parametrize(("ml", "allowed"), [(50, True), (50.5, False), (51, False)])
def test_dextrose_50_volume_limit(ml: float, allowed: bool) -> None:
    from clinic.engine.drugs import check_order

    assert check_order("dextrose_50", ml, "mL").allowed is allowed


DO_NOW_CASES = [
    {},
    {"findings": {"seizure": True, "chest_pain": True, "carpopedal_spasm": True}, "labs": {"potassium": 6.6}},
    {"labs": {"potassium": 6.2, "magnesium": None, "sodium": None}, "meds": ["statin"]},
    LONG_VINTAGE_NECK,
    {"findings": {"intradialytic_hypotension": True}, "overrides": {"patient.diabetes": None}},
]


@pytest.mark.parametrize("kwargs", DO_NOW_CASES)
def test_do_now_is_short_urgent_first_and_one_line(kwargs: dict[str, Any]) -> None:
    plan = plan_for(**kwargs)
    assert 1 <= len(plan.do_now) <= 5
    assert all("\n" not in d.text and d.text for d in plan.do_now)
    assert len({d.code for d in plan.do_now}) == len(plan.do_now)
    emergencies = [r.code for r in plan.red_flags if r.urgency == "emergency"]
    head = [d.code for d in plan.do_now[: len(emergencies)]]
    assert head == emergencies[: len(head)]


def test_do_now_is_in_the_plan_json() -> None:
    from clinic.engine import plan_to_dict

    out = plan_to_dict(plan_for(findings={"seizure": True}))
    assert out["do_now"][0]["code"] == "redflag.seizure"
    assert set(out["do_now"][0]) == {"code", "text"}


# ------------------------------------------------------------------------------- 10. when does a rule fire


def test_every_rule_says_when_it_fires_and_the_catalogue_prints_it() -> None:
    md = render_markdown(K)
    for code, r in K.red_flags.items():
        assert r.fires_when and "\n" not in r.fires_when, code
        assert f"- **Fires when:** {r.fires_when}" in md
    for code, a in K.actions.items():
        assert a.fires_when and "\n" not in a.fires_when, code
        assert f"*Fires when:* {a.fires_when}." in md
    assert "*Left out when raised:* any emergency red flag" in md
    assert "*Withheld until answered:*" in md and "*line 3*" in md


def _copy_without(tmp_path: Path, file: str, header: str) -> Path:
    src = ROOT / "clinic" / "knowledge"
    for f in src.glob("*.toml"):
        shutil.copy(f, tmp_path / f.name)
    path = tmp_path / file
    text = path.read_text(encoding="utf-8")
    start = text.index(header)
    line = text.index("fires_when = ", start)
    end = text.index("\n", line) + 1
    path.write_text(text[:line] + text[end:], encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("file", "header", "what"),
    [
        ("actions.toml", '[action."acute.reduce_uf"]', "action 'acute.reduce_uf'"),
        ("redflags.toml", "[redflag.seizure]", "red flag 'redflag.seizure'"),
    ],
)
def test_integrity_refuses_a_rule_without_fires_when(tmp_path: Path, file: str, header: str, what: str) -> None:
    k2 = load_knowledge(_copy_without(tmp_path, file, header))
    assert f"{what}: no 'fires_when' (one line saying when the rule fires)" in check_integrity(k2)
    assert check_integrity(K) == []


def test_threshold_operators_come_from_the_knowledge() -> None:
    """No engine module writes a comparison operator next to a threshold value it looked up."""
    retyped = re.compile(r"[<>]=?\s*\{fmt_number\(\s*c?\.?k\.value\(")
    for path in (ROOT / "clinic" / "engine").glob("*.py"):
        assert not retyped.search(path.read_text(encoding="utf-8")), path.name
    assert "{threshold.k_high_mild.text}" not in K.actions["labs.ecg"].fires_when
    assert K.thresholds["k_high_mild"].text in K.actions["labs.ecg"].fires_when


def test_repeated_advice_lives_once() -> None:
    texts = [p.read_text(encoding="utf-8") for p in (ROOT / "clinic" / "knowledge").glob("*.toml")]
    texts += [p.read_text(encoding="utf-8") for p in (ROOT / "clinic" / "engine").glob("*.py")]
    assert sum(t.lower().count("abrupt") for t in texts) == 1
    plan = plan_for(meds=["baclofen"])
    assert K.advice["baclofen_taper"] in plan.verdict("baclofen").why
    assert K.advice["baclofen_taper"] in action(plan, "medications.taper_baclofen").text
