"""Triggers of the "acute" (in the chair now) and "labs" steps. Texts live in actions.toml."""

from __future__ import annotations

from .action_rules import Result, State, cramp_like, episode_text, flag_titles, join, serious_flags, trigger
from .derived import Ctx
from .knowledge import fmt_number
from .redflags import NEURO_AL
from .screens import describe

# ------------------------------------------------------------------------------------------------ acute

SCREEN_NAMES_SHOWN = 4  # the rest are in the plan's `missing` list


def leading_flags(c: Ctx) -> list[str]:
    """Red flags whose own first actions lead the acute step: any emergency, or an urgent one in the chair."""
    return [
        code
        for code, (urgency, _) in c.flags.items()
        if urgency == "emergency" or (urgency == "urgent" and c.intradialytic_now)
    ]


@trigger("acute.redflag_first")
def _redflag_first(c: Ctx, st: State) -> Result:
    codes = leading_flags(c)
    if not codes:
        return None
    ordered = [r for r in c.k.red_flags if r in codes]  # knowledge order: most urgent first within a tier
    ordered.sort(key=lambda code: 0 if c.flags[code][0] == "emergency" else 1)
    tiers = [(u, sum(1 for x in ordered if c.flags[x][0] == u)) for u in ("emergency", "urgent")]
    why = join([f"{n} {u} red flag{'s' if n > 1 else ''}" for u, n in tiers if n])
    firsts = " ".join(
        f"({i}) {c.k.red_flags[x].title}: {c.k.red_flags[x].actions[0]}" for i, x in enumerate(ordered, 1)
    )
    return (why, f" {firsts}")


@trigger("acute.complete_red_flag_screen")
def _complete_screen(c: Ctx, st: State) -> Result:
    if not st.open_screens:
        return None
    unanswered = [describe(c, p) for p in dict.fromkeys(p for items in st.open_screens.values() for p in items)]
    shown = ", ".join(unanswered[:SCREEN_NAMES_SHOWN])
    more = len(unanswered) - SCREEN_NAMES_SHOWN
    return f"{len(unanswered)} unanswered: {shown}" + (f" and {more} more (see missing)" if more > 0 else "")


@trigger("acute.reduce_uf")
def _reduce_uf(c: Ctx, st: State) -> Result:
    if not c.intradialytic_now:
        return None
    parts = [episode_text(c)]
    if c.vol.uf_rate is not None:
        parts.append(f"UF rate {c.vol.uf_rate:.1f} mL/kg/h")
    return join(parts)


@trigger("acute.keep_blood_flow")
def _keep_qb(c: Ctx, st: State) -> Result:
    if not c.intradialytic_now:
        return None
    qb = c.case.dialysis.blood_flow_ml_min
    return join([episode_text(c), f"blood flow {fmt_number(qb)} mL/min" if qb else ""])


@trigger("acute.saline_bolus")
def _saline(c: Ctx, st: State) -> Result:
    if not c.intradialytic_now:
        return None
    if c.vol.idh is True:
        return join(["Hypotension with the cramp: " + c.vol.idh_reason])
    if c.vol.idh is None:
        return "Blood pressure not recorded: check it now and give the bolus only if the patient is hypotensive"
    return None


@trigger("acute.check_glucose")
def _glucose(c: Ctx, st: State) -> Result:
    if not c.intradialytic_now:
        return None
    parts = []
    d = c.case.patient.diabetes
    if d is True:
        parts.append("diabetic")
    elif d is None:
        parts.append("diabetes status not recorded")
    drugs = c.group("hypoglycaemic")
    if drugs:
        parts.append(f"on {c.mnames(drugs)}")
    mimics = c.any_f("confusion", "diaphoresis", "drowsiness")
    if mimics:
        parts.append(f"{c.fnames(mimics)} can be hypoglycaemia")
    return join(parts) if parts else None


@trigger("acute.physical_measures")
def _physical(c: Ctx, st: State) -> Result:
    if not c.intradialytic_now or c.case.episode.kind not in (None, "cramp", "spasm", "stiffness"):
        return None
    return join([episode_text(c), "low-risk adjunct while UF is reduced"])


@trigger("acute.hypertonic_rescue")
def _rescue(c: Ctx, st: State) -> Result:
    if not c.intradialytic_now or not cramp_like(c):
        return None
    parts = []
    diabetes = c.case.patient.diabetes
    if diabetes is True:
        parts.append("diabetic: use 23.4% NaCl (or mannitol); dextrose is not preferred")
    elif diabetes is False:
        parts.append("not diabetic: dextrose 50% is the preferred agent")
    else:
        parts.append("diabetes status not recorded: check capillary glucose before choosing dextrose")
    for drug in ("hypertonic_saline", "dextrose_50", "mannitol"):
        v = st.verdicts.get(drug)
        if v is not None and v.tightened_by:
            parts.append(f"{v.name}: {v.verdict} for this patient (see the drug verdicts)")
    urgent = serious_flags(c)
    if urgent:
        parts.append(f"deal with the open red flag first ({flag_titles(c, urgent)})")
    return join(parts)


# ------------------------------------------------------------------------------------------------- labs


@trigger("labs.ecg")
def _ecg(c: Ctx, st: State) -> Result:
    parts = []
    for code in ("redflag.hyperkalaemia", "redflag.hypokalaemia", "redflag.arrhythmia_risk", "redflag.tetany"):
        if code in c.flags:
            parts.append(c.flags[code][1])
    if "redflag.acute_coronary" in c.flags:
        parts.append("possible acute coronary syndrome")
    kval = c.lab("potassium")
    if c.hit("k_high_mild", kval) and not c.hit("k_high_urgent", kval):
        parts.append(f"{c.labtxt('potassium')}: ECG changes at this level make it an emergency")
    if c.case.episode.kind == "jerks" or c.any_f("myoclonus", "seizure"):
        parts.append("jerks or a seizure-like event")
    if not parts:
        return None
    return join(list(dict.fromkeys(parts)))


@trigger("labs.use_ionised_calcium")
def _ionised(c: Ctx, st: State) -> Result:
    if "calcium_ionised" in c.labs:
        return None
    parts = []
    if "calcium_total" in c.labs:
        parts.append(f"only total calcium on file ({c.labtxt('calcium_total')})")
        if c.hit("tca_check_ica", c.labs["calcium_total"]):
            parts.append(f"total calcium {c.k.t('tca_check_ica').text}: check urgently")
    if c.lab_hit("albumin_low", "albumin"):
        parts.append(f"{c.labtxt('albumin')} makes total calcium unreliable")
    signs = c.any_f("carpopedal_spasm", "perioral_tingling", "chvostek_or_trousseau")
    if signs:
        parts.append(f"{c.fnames(signs)} without an ionised calcium")
    return join(parts) if parts else None


@trigger("labs.creatine_kinase")
def _ck(c: Ctx, st: State) -> Result:
    if "creatine_kinase_x_uln" in c.labs:
        return None
    parts = []
    if c.f("severe_muscle_pain_or_weakness"):
        parts.append(c.fname("severe_muscle_pain_or_weakness"))
    drugs = c.group("myotoxic")
    if drugs:
        parts.append(f"on {c.mnames(drugs)}")
    sev = c.case.episode.severity_0_10
    if c.hit("severity_ck_check", sev):
        parts.append(f"severity {fmt_number(sev or 0)}/10")
    return join(parts) if parts else None


@trigger("labs.aluminium_level")
def _al_level(c: Ctx, st: State) -> Result:
    if "aluminium" in c.labs:
        return None
    parts = []
    if c.f("aluminium_exposure"):
        parts.append("aluminium exposure reported")
    meds = c.group("aluminium_sources")
    if meds:
        parts.append(f"on {c.mnames(meds)}")
    neuro = c.any_f(*NEURO_AL)
    if neuro:
        parts.append(f"{c.fnames(neuro)} (possible encephalopathy)")
    return join(parts) if parts else None


@trigger("labs.order_missing")
def _order_missing(c: Ctx, st: State) -> Result:
    # Labs another action in the plan already orders (its `orders` in actions.toml) are not asked for twice.
    ordered = {a for code in st.fired for a in c.k.actions[code].orders}
    labs = [
        m.removeprefix("labs.")
        for m in st.missing
        if m.startswith("labs.") and m.removeprefix("labs.") not in ordered and m != "labs.qtc"
    ]
    if not labs:
        return None
    listing = ", ".join(c.k.analytes[a].short for a in labs)
    return (f"Not on file, so not assessed: {listing}", f" Missing: {listing}.")
