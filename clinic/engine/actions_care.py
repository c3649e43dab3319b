"""Triggers of the "medications", "differential", "pharmacotherapy" and "monitoring" steps. Texts: actions.toml.

Drug-trial triggers only say whether the drug is clinically indicated for this case. Whether it is offered at
all also depends on reviewed data applied by ``actions.build_steps``: its verdict (``drug``), its treatment line
(``line``: later lines only after a documented failed trial of an earlier one), the screens it waits for
(``needs_screens``) and the red flags that leave it out.
"""

from __future__ import annotations

from .action_rules import Result, State, cramp_like, join, recurrent, serious_flags, trigger
from .derived import Ctx
from .knowledge import fmt_number
from .screens import describe

# ------------------------------------------------------------------------------------------ medications


@trigger("medications.taper_baclofen")
def _baclofen(c: Ctx, st: State) -> Result:
    return "Baclofen is on the medication list" if c.med("baclofen") else None


@trigger("medications.remove_aluminium_sources")
def _al_sources(c: Ctx, st: State) -> Result:
    parts = []
    meds = c.group("aluminium_sources")
    if meds:
        parts.append(f"on {c.mnames(meds)}" + (" with citrate" if c.med("citrate") else ""))
    if c.lab_hit("al_find_source", "aluminium"):
        parts.append(f"serum {c.labtxt('aluminium')}")
    if c.f("aluminium_exposure"):
        parts.append("aluminium exposure reported")
    return join(parts) if parts else None


@trigger("medications.review_cramp_inducing")
def _cramp_drugs(c: Ctx, st: State) -> Result:
    groups = [
        ("myotoxic", "myopathy"),
        ("calcimimetic", "low calcium"),
        ("dystonia_inducing", "dystonia"),
    ]
    parts = []
    for group, why in groups:
        meds = c.group(group)
        if meds:
            parts.append(f"{c.mnames(meds)} ({why})")
    if c.med("cefepime"):
        parts.append("Cefepime (neurotoxicity)")
    if c.med("diuretic"):
        urine = c.case.patient.residual_urine_ml_per_day
        if c.hit("residual_urine_significant", urine):
            parts.append(f"Diuretic with residual urine {fmt_number(urine or 0)} mL/day (volume, K and Mg losses)")
        elif urine is not None:
            parts.append(f"Diuretic with residual urine {fmt_number(urine)} mL/day (little expected benefit)")
        else:
            parts.append("Diuretic (residual urine not recorded)")
    gaba = c.group("gabapentinoid")
    if len(gaba) > 1:
        parts.append("gabapentin AND pregabalin (never combine)")
    elif gaba and c.group("sedative_respiratory"):
        parts.append(f"{c.mnames(gaba)} with {c.mnames(c.group('sedative_respiratory'))} (respiratory depression)")
    return join(parts) if parts else None


@trigger("medications.review_qt_drugs")
def _qt(c: Ctx, st: State) -> Result:
    meds = c.group("qt_prolonging")
    if not meds:
        return None
    parts = [f"on {c.mnames(meds)}"]
    if "qtc" in c.labs:
        parts.append(f"QTc {fmt_number(c.labs['qtc'])} ms")
    else:
        parts.append("no QTc on file")
    return join(parts)


# ----------------------------------------------------------------------------------------- differential


@trigger("differential.restless_legs")
def _rls(c: Ctx, st: State) -> Result:
    if not c.f("urge_to_move_relieved_by_movement"):
        return None
    return "Urge to move that is relieved by movement"


@trigger("differential.spasticity")
def _spasticity(c: Ctx, st: State) -> Result:
    parts = []
    if c.f("hyperreflexia_or_clonus"):
        parts.append(c.fname("hyperreflexia_or_clonus"))
    conds = [x for x in ("spinal_cord_injury", "multiple_sclerosis", "stroke") if c.cond(x)]
    if conds:
        parts.append(", ".join(c.k.conditions[x].lower() for x in conds))
    if c.case.episode.kind == "stiffness":
        parts.append("stiffness rather than cramp")
    if c.med("baclofen"):
        parts.append("baclofen on the list (usually prescribed for spasticity)")
    return join(parts) if parts else None


@trigger("differential.dystonia_or_myoclonus")
def _dystonia(c: Ctx, st: State) -> Result:
    parts = []
    if c.case.episode.kind in ("jerks", "twitching"):
        parts.append(f"the episode is described as {c.case.episode.kind}")
    signs = c.any_f("myoclonus", "torticollis", "asterixis")
    if signs:
        parts.append(c.fnames(signs))
    return join(parts) if parts else None


# -------------------------------------------------------------------------------------- pharmacotherapy


def _pharm_gate(c: Ctx, st: State) -> str | None:
    """Common clinical gate for cramp drug trials: recurrent cramps, no open emergency/urgent red flag."""
    if not cramp_like(c) or not recurrent(c) or serious_flags(c):
        return None
    pending = [
        code for code in st.fired if code.startswith(("prescription.", "electrolytes.")) or code == "labs.order_missing"
    ]
    n = fmt_number(c.case.episode.episodes_last_4_weeks or 0)
    if pending:
        return f"{n} episodes in 4 weeks; only if cramps persist after the lab, dialysate and prescription steps above"
    return f"{n} episodes in 4 weeks; no pending prescription change found in the data given"


@trigger("pharmacotherapy.vitamin_e")
def _vit_e(c: Ctx, st: State) -> Result:
    gate = _pharm_gate(c, st)
    if gate is None:
        return None
    v = st.verdicts.get("vitamin_e")
    return join([gate, "bleeding risk: prescriber to weigh it" if v is not None and v.tightened_by else ""])


@trigger("pharmacotherapy.vitamin_c_short")
def _vit_c(c: Ctx, st: State) -> Result:
    if "pharmacotherapy.vitamin_e" not in st.fired:  # only ever alongside a vitamin E trial
        return None
    return join([_pharm_gate(c, st) or "", "short course only (oxalate)"])


@trigger("pharmacotherapy.levocarnitine")
def _carnitine(c: Ctx, st: State) -> Result:
    if not c.lab_hit("carnitine_low", "carnitine_free"):
        return None
    if serious_flags(c) or not cramp_like(c) or not (recurrent(c) or c.idh):
        return None
    return join(
        [
            f"{c.labtxt('carnitine_free')} ({c.k.t('carnitine_low').text})",
            _pharm_gate(c, st) or c.vol.idh_reason,
        ]
    )


@trigger("pharmacotherapy.midodrine")
def _midodrine(c: Ctx, st: State) -> Result:
    # c.idh is documented hypotension: a reported IDH, a low nadir, or a symptomatic fall the nurse did not
    # contradict (derived.volume never infers IDH from the cramp when "no hypotension" was recorded).
    if not c.idh or serious_flags(c) or not cramp_like(c):
        return None
    if not (recurrent(c) or c.case.episode.timing == "during_dialysis"):
        return None
    return join(
        [
            f"cramps with intradialytic hypotension ({c.vol.idh_reason})",
            "only if IDH persists after the prescription steps",
        ]
    )


@trigger("pharmacotherapy.gabapentin_post_dialysis")
def _gabapentin(c: Ctx, st: State) -> Result:
    gate = _pharm_gate(c, st)
    if gate is None or not c.hit("frequent_episodes_4w", c.case.episode.episodes_last_4_weeks):
        return None
    return gate


@trigger("pharmacotherapy.cyclobenzaprine_short")
def _cyclo(c: Ctx, st: State) -> Result:
    e = c.case.episode
    if not e.sites or not ({"neck", "back"} & e.sites) or e.kind not in ("spasm", "stiffness"):
        return None
    if e.timing in (None, "during_dialysis") or c.flags:
        return None
    sites = "/".join(sorted({"neck", "back"} & e.sites))
    return join([f"acute {sites} {e.kind} outside dialysis", "no red flag found in the answered screen"])


@trigger("pharmacotherapy.withheld_until_screen")
def _withheld(c: Ctx, st: State) -> Result:
    if not st.withheld:
        return None
    drugs = [c.k.drugs[d].name for d in (c.k.actions[a].drug for a in st.withheld) if d is not None]
    screens = list(dict.fromkeys(s for codes in st.withheld.values() for s in codes))
    unanswered = list(dict.fromkeys(p for s in screens for p in st.open_screens[s]))
    return join(
        [
            f"would be considered: {', '.join(drugs)}",
            f"unanswered: {', '.join(describe(c, p) for p in unanswered)}",
        ]
    )


# ------------------------------------------------------------------------------------------- monitoring


@trigger("monitoring.cramp_diary")
def _diary(c: Ctx, st: State) -> Result:
    e = c.case.episode
    parts = ["track the pattern and the effect of every change"]
    if e.episodes_last_4_weeks is not None:
        parts.append(f"{fmt_number(e.episodes_last_4_weeks)} episodes in the last 4 weeks")
    return join(parts)


@trigger("monitoring.magnesium_after_change")
def _mg_monitor(c: Ctx, st: State) -> Result:
    parts = []
    if "electrolytes.magnesium_dialysate" in st.fired:
        parts.append("dialysate magnesium change proposed")
    if c.med("magnesium_oral"):
        parts.append("on oral magnesium")
    return join(parts) if parts else None


@trigger("monitoring.aluminium_schedule")
def _al_monitor(c: Ctx, st: State) -> Result:
    parts = []
    meds = c.group("aluminium_sources")
    if meds:
        parts.append(f"on {c.mnames(meds)}: every 3 months")
    if c.lab_hit("al_find_source", "aluminium"):
        parts.append(f"serum {c.labtxt('aluminium')}")
    if c.f("aluminium_exposure"):
        parts.append("aluminium exposure reported")
    return join(parts) if parts else None


@trigger("monitoring.drug_trial_review")
def _trial_review(c: Ctx, st: State) -> Result:
    proposed = [c.k.actions[code].drug for code in st.fired if c.k.actions[code].drug]
    on = [m for m in ("gabapentin", "pregabalin", "vitamin_e", "vitamin_c", "levocarnitine", "midodrine") if c.med(m)]
    ongoing = [t.drug for t in c.case.previous_trials or () if t.outcome == "ongoing" and t.drug not in on]
    parts = []
    if proposed:
        parts.append("proposed: " + ", ".join(c.k.drugs[d].name for d in proposed if d))
    if on:
        parts.append("already on: " + c.mnames(on))
    if ongoing:
        parts.append("trial under way: " + ", ".join(c.k.drugs[d].name if d in c.k.drugs else d for d in ongoing))
    return join(parts) if parts else None


@trigger("monitoring.ecg")
def _ecg_monitor(c: Ctx, st: State) -> Result:
    parts = []
    if "labs.ecg" in st.fired:
        parts.append("ECG indicated now")
    meds = c.group("qt_prolonging")
    if meds:
        parts.append(f"on {c.mnames(meds)}")
    return join(parts) if parts else None
