"""facts.md §1 contradiction table: one test per row asserting the resolution the engine encodes."""

from __future__ import annotations

from clinic.engine import plan_to_json
from clinic.engine.catalogue import render_markdown
from clinic.engine.drugs import check_order

from .conftest import FAILED_VITAMIN_E, SPINE_AND_CARDIAC_NO, action, actions, flags, plan_for

RICH = plan_for(
    meds=["gabapentin", "magnesium_oral", "sucralfate"],
    labs={"magnesium": 0.6, "carnitine_free": 30},
    overrides={"episode.episodes_last_4_weeks": 6, "previous_trials": FAILED_VITAMIN_E},
    findings={"intradialytic_hypotension": True},
)


def _all_text() -> str:
    return plan_to_json(RICH) + render_markdown()


def test_row01_baclofen_avoid_hard_stop_and_taper_existing_users() -> None:
    plan = plan_for(meds=["baclofen"])
    v = plan.verdict("baclofen")
    assert v.verdict == "avoid" and v.hard_stop
    assert "medications.taper_baclofen" in actions(plan)
    assert "NOT stop baclofen abruptly" in action(plan, "medications.taper_baclofen").text
    assert check_order("baclofen", 5, "mg").hard_stop


def test_row02_baclofen_evidence_is_cirrhosis_not_hd() -> None:
    why = plan_for().verdict("baclofen").why
    assert "cirrhosis" in why and "GFR < 30" in why


def test_row03_no_albumin_infusion_for_cramps() -> None:
    text = plan_to_json(RICH)
    assert "albumin infusion" not in text.lower()
    assert "20–40 g" not in text


def test_row04_quinidine_avoid() -> None:
    assert plan_for().verdict("quinidine").verdict == "avoid"
    assert check_order("quinidine", 200, "mg").hard_stop


def test_row05_quinine_avoid_hard_stop() -> None:
    v = plan_for(meds=["quinine"]).verdict("quinine")
    assert v.verdict == "avoid" and v.hard_stop
    assert not check_order("quinine", 300, "mg", None).allowed


def test_row06_gabapentin_100_to_300_after_hd_nephrologist_4_weeks() -> None:
    plan = plan_for(overrides={"episode.episodes_last_4_weeks": 6, "previous_trials": FAILED_VITAMIN_E})
    a = action(plan, "pharmacotherapy.gabapentin_post_dialysis")
    assert a.who == "nephrologist"
    assert "100 mg after each HD" in a.text and "300 mg after each HD" in a.text and "4 weeks" in a.text
    assert check_order("gabapentin", 300, "mg").allowed
    assert not check_order("gabapentin", 350, "mg").allowed


def test_row07_gabapentin_accumulates_despite_dialysis() -> None:
    assert "132 h" in plan_for().verdict("gabapentin").why


def test_row08_pruritus_drugs_excluded() -> None:
    text = _all_text().lower()
    for word in ("ketotifen", "capsaicin", "antihistamine"):
        assert word not in text


def test_row09_no_hypomagnesaemia_prevalence_encoded() -> None:
    text = _all_text()
    assert "60–65%" not in text and "60-65%" not in text


def test_row10_iv_magnesium_only_for_emergencies_oral_nephrologist_only() -> None:
    plan = plan_for(labs={"magnesium": 0.6})
    iv = plan.verdict("magnesium_iv")
    assert iv.verdict == "caution" and iv.dose is not None and "Never for routine cramps" in iv.dose
    assert plan.verdict("magnesium_dialysate").verdict == "usable"  # chronic repletion via dialysate
    assert "electrolytes.magnesium_dialysate" in actions(plan)
    assert "Nephrologist order only" in (plan.verdict("magnesium_oral").dose or "")
    assert "electrolytes.stop_magnesium_sources" in actions(plan_for(meds=["magnesium_antacid_or_laxative"]))


def test_row11_magnesium_first_only_for_non_urgent_repletion() -> None:
    code = "electrolytes.magnesium_before_potassium_calcium"
    assert code in actions(plan_for(labs={"magnesium": 0.6, "potassium": 3.3}))
    # never delays IV calcium for tetany, seizure, arrhythmia or severe hypokalaemia
    assert code not in actions(
        plan_for(labs={"magnesium": 0.6, "calcium_ionised": 1.05}, findings={"carpopedal_spasm": True})
    )
    assert code not in actions(plan_for(labs={"magnesium": 0.6, "potassium": 3.3}, findings={"seizure": True}))
    assert code not in actions(plan_for(labs={"magnesium": 0.6, "potassium": 2.8}))
    assert code not in actions(plan_for(labs={"magnesium": 0.6, "potassium": 3.3}, findings={"palpitations": True}))
    assert code not in actions(plan_for(labs={"magnesium": 0.6, "potassium": 3.3, "qtc": 520}))
    # and never without documented hypomagnesaemia
    assert code not in actions(plan_for(labs={"magnesium": None, "potassium": 3.3}))
    tetany = plan_for(findings={"carpopedal_spasm": True})
    rf = next(r for r in tetany.red_flags if r.code == "redflag.tetany")
    assert any("do NOT wait" in a for a in rf.actions)


def test_row12_dialysate_temperature_floor_35_5_not_34_35() -> None:
    plan = plan_for(overrides={"dialysis.dialysate_temperature_c": 34.5})
    assert "prescription.dialysate_temperature_floor" in actions(plan)
    cool = plan_for(findings={"intradialytic_hypotension": True}, overrides={"vitals": {"temperature_c": 36.0}})
    why = action(cool, "prescription.cool_dialysate").why
    assert "target 35.5–35.5 °C" in why  # 0.5–0.9 below 36.0 would be 35.1–35.5: floored at 35.5
    assert "never below 35.5" in action(cool, "prescription.cool_dialysate").text


def test_row13_high_sodium_dialysate_nephrologist_only_and_blocked_below_130() -> None:
    plan = plan_for(overrides={"dialysis.sodium_profiling": True}, labs={"sodium": 128})
    a = action(plan, "prescription.sodium_profiling_caution")
    assert a.who == "nephrologist" and "CONTRAINDICATED" in a.why
    assert "electrolytes.sodium_caution" in actions(plan)


def test_row14_acute_reduce_uf_first_keep_qb_saline_if_hypotensive() -> None:
    plan = plan_for(overrides={"vitals": {"sbp_pre_mmhg": 130, "sbp_nadir_mmhg": 85}})
    acute = next(s for s in plan.steps if s.code == "acute")
    assert acute.actions[0].code == "acute.reduce_uf"
    codes = [a.code for a in acute.actions]
    assert "acute.keep_blood_flow" in codes and "acute.saline_bolus" in codes
    assert "acute.saline_bolus" not in actions(plan_for())  # normotensive


def test_row15_rescue_agents_equivalent_dextrose_preferred_in_non_diabetics() -> None:
    plan = plan_for(overrides={"patient.diabetes": False})
    a = action(plan, "acute.hypertonic_rescue")
    assert "work equally well" in a.text and "15–20 mL" in a.text and "never more than 20 mL" in a.text
    assert "dextrose 50% is the preferred" in a.why
    diabetic = plan_for(overrides={"patient.diabetes": True})
    assert "dextrose is not preferred" in action(diabetic, "acute.hypertonic_rescue").why
    assert diabetic.verdict("dextrose_50").verdict == "caution"
    assert diabetic.verdict("hypertonic_saline").verdict == "usable"


def test_row16_no_oxygen_for_cramps() -> None:
    assert "oxygen" not in plan_to_json(RICH).lower()


def test_row17_cyclobenzaprine_caution_short_course_not_intradialytic() -> None:
    out = plan_for(
        overrides={"episode": {"timing": "between_sessions", "sites": ["neck"], "kind": "spasm"}},
        findings=SPINE_AND_CARDIAC_NO,
    )
    assert out.verdict("cyclobenzaprine").verdict == "caution"
    a = action(out, "pharmacotherapy.cyclobenzaprine_short")
    assert "2–3 weeks" in a.text and "not for intradialytic cramps" in a.text
    assert plan_for().verdict("cyclobenzaprine").verdict == "avoid"  # intradialytic cramp


def test_row18_vitamin_e_low_certainty_no_68_percent_claim() -> None:
    a = action(plan_for(overrides={"episode.episodes_last_4_weeks": 6}), "pharmacotherapy.vitamin_e")
    assert "low-certainty" in a.text and "400 IU" in a.text
    assert "68.3" not in plan_to_json(RICH)


def test_row19_levocarnitine_optional_nephrologist_trial() -> None:
    a = action(RICH, "pharmacotherapy.levocarnitine")
    assert a.who == "nephrologist"
    plan = plan_for(overrides={"episode.episodes_last_4_weeks": 6})  # no carnitine level -> no trial
    assert "pharmacotherapy.levocarnitine" not in actions(plan)


def test_row20_midodrine_only_for_idh_driven_cramps() -> None:
    assert "pharmacotherapy.midodrine" not in actions(plan_for(overrides={"episode.episodes_last_4_weeks": 6}))
    idh = {"intradialytic_hypotension": True}
    assert "pharmacotherapy.midodrine" in actions(
        plan_for(findings=idh, overrides={"previous_trials": FAILED_VITAMIN_E})
    )
    assert "pharmacotherapy.midodrine" not in actions(plan_for(findings=idh))  # second line: vitamin E first


def test_row21_kdoqi_aluminium_thresholds_and_normal_level_does_not_exclude() -> None:
    assert "redflag.aluminium" not in flags(plan_for(labs={"aluminium": 60}))
    assert flags(plan_for(labs={"aluminium": 150}))["redflag.aluminium"] == "urgent"
    low = plan_for(labs={"aluminium": 10}, meds=["sucralfate"], findings={"speech_disturbance": True})
    assert "redflag.aluminium" in flags(low)
    assert "150–350" not in _all_text() and "400–1000" not in _all_text()


def test_row22_no_76_percent_arrhythmia_figure() -> None:
    assert "76%" not in _all_text()


def test_row23_no_fixed_4_to_5_hour_monitoring_window() -> None:
    plan = plan_for(meds=["antipsychotic"])
    text = action(plan, "monitoring.ecg").text
    assert "no fixed post-dialysis monitoring window" in text
    assert "4–5 h" not in plan_to_json(plan)


def test_row24_no_cirrhosis_diuretic_monitoring_attached_to_baclofen() -> None:
    v = plan_for(meds=["baclofen"]).verdict("baclofen")
    assert "creatinine" not in (v.monitoring or "").lower()


def test_row25_no_70_percent_termination_statistic() -> None:
    assert "70%" not in _all_text()


def test_row26_dsa_screen_from_5_years() -> None:
    f = flags(
        plan_for(
            overrides={"patient.dialysis_vintage_months": 60},
            findings={
                "back_pain_persistent": True,
                "hand_clumsiness": False,
                "gait_change": False,
                "sphincter_change": False,
                "hyperreflexia_or_clonus": False,
            },
        )
    )
    assert f["redflag.dsa_suspected"] == "soon"


def test_row27_oral_magnesium_not_without_nephrologist() -> None:
    v = plan_for(labs={"magnesium": 0.6}).verdict("magnesium_oral")
    assert v.verdict == "caution" and "Nephrologist order only" in (v.dose or "")
    assert "12–24 mmol" not in (v.dose or "")


def test_row28_physical_measures_are_adjuncts() -> None:
    a = action(plan_for(), "acute.physical_measures")
    assert "Adjunct only" in a.text and a.evidence == "S" and a.who == "nurse"


def test_row29_no_anaemia_rule() -> None:
    assert "anaemia" not in " ".join(actions(RICH))
    assert "K/DOQI" not in plan_to_json(RICH)


def test_row30_baclofen_taper_cites_the_label() -> None:
    a = action(plan_for(meds=["baclofen"]), "medications.taper_baclofen")
    assert "R3" in a.sources and a.evidence == "V"
