"""What the plan needed and did not get ("not assessed", never normal).

The list is deliberately targeted, not a dump of every field:
- the 60-second chairside red-flag screen (findings with ``screen = true`` in codes.toml, facts.md §6a step 1);
- the core pre-dialysis labs for cramps (``needed_for_cramp_workup`` in analytes.toml, facts.md §6b step 3);
- inputs for UF rate and IDWG, the dialysate settings every cramp review looks at, the episode timing;
- patient facts that change drug verdicts (age, diabetes, conditions, the medication list);
- conditional items: the cord-compression deficits and vintage when there is spine pain, albumin with a total
  calcium, glucose in diabetics, urea for disequilibrium risk, CK for myopathy risk, aluminium with exposure or
  encephalopathy signs, QTc with QT risks, dialyser flux at long vintage, BP nadir during dialysis.
"""

from __future__ import annotations

from .derived import Ctx
from .redflags import CORD_DEFICITS, NEURO_AL, SPINE_PAIN
from .screens import open_screens


def compute_missing(c: Ctx) -> tuple[str, ...]:
    k, case = c.k, c.case
    p, e, d, f = case.patient, case.episode, case.dialysis, case.findings
    out: set[str] = set()

    def need_lab(analyte: str) -> None:
        if not c.has_pre_dialysis(analyte):  # a post-dialysis sample does not stand in for the pre-HD one
            out.add(f"labs.{analyte}")

    def need_finding(code: str) -> None:
        if code not in f:
            out.add(f"findings.{code}")

    for code, a in k.analytes.items():
        if a.needed_for_cramp_workup:
            need_lab(code)
    for code in k.screen_findings:
        need_finding(code)

    # patient facts that change verdicts or pathways
    if p.age_years is None:
        out.add("patient.age_years")
    if p.diabetes is None:
        out.add("patient.diabetes")
    if p.conditions is None:
        out.add("patient.conditions")
    if case.medications is None:
        out.add("medications")

    # episode
    if e.timing is None:
        out.add("episode.timing")
    elif e.timing == "during_dialysis":
        if e.ongoing is None:
            out.add("episode.ongoing")
        if case.vitals.sbp_nadir_mmhg is None and "intradialytic_hypotension" not in f:
            out.add("vitals.sbp_nadir_mmhg")
    if e.kind is None:
        out.add("episode.kind")

    # volume: UF rate and IDWG
    if d.uf_volume_ml is None:
        if d.pre_weight_kg is None:
            out.add("dialysis.pre_weight_kg")
        if d.target_weight_kg is None:
            out.add("dialysis.target_weight_kg")
    elif d.target_weight_kg is None and p.dry_weight_kg is None:
        out.add("dialysis.target_weight_kg")
    if d.session_minutes is None:
        out.add("dialysis.session_minutes")
    if d.pre_weight_kg is None:
        out.add("dialysis.pre_weight_kg")
    if d.previous_post_weight_kg is None:
        out.add("dialysis.previous_post_weight_kg")
    if p.dry_weight_kg is None and d.target_weight_kg is None:
        out.add("patient.dry_weight_kg")

    # dialysate settings every cramp review needs
    for name in (
        "dialysate_magnesium_mmol_l",
        "dialysate_potassium_mmol_l",
        "dialysate_calcium_mmol_l",
        "dialysate_sodium_mmol_l",
        "dialysate_temperature_c",
    ):
        if getattr(d, name) is None:
            out.add(f"dialysis.{name}")

    # spine pain: deficits, vintage, access (infection)
    if c.any_f(*SPINE_PAIN) or (e.sites and {"neck", "back"} & e.sites):
        for code in CORD_DEFICITS:
            need_finding(code)
        if p.dialysis_vintage_months is None:
            out.add("patient.dialysis_vintage_months")
        if p.access is None:
            out.add("patient.access")

    # conditional labs
    if "calcium_total" in c.labs:
        need_lab("albumin")
    if p.diabetes is True or c.group("hypoglycaemic"):
        need_lab("glucose")
    if c.hit("first_sessions", p.sessions_completed) or c.hit(
        "missed_sessions", d.missed_or_shortened_sessions_last_month
    ):
        need_lab("urea")
    if c.f("severe_muscle_pain_or_weakness") or c.group("myotoxic"):
        need_lab("creatine_kinase_x_uln")
    if c.f("aluminium_exposure") or c.group("aluminium_sources") or c.any_f(*NEURO_AL):
        need_lab("aluminium")
    if c.group("qt_prolonging") or c.any_f("palpitations", "syncope") or "redflag.arrhythmia_risk" in c.flags:
        need_lab("qtc")
    if c.hit("vintage_dsa_screen", p.dialysis_vintage_months) and d.dialyser_flux is None:
        out.add("dialysis.dialyser_flux")
    # every question of a screen that applies (actions.toml [screens]; drug trials wait for them)
    for items in open_screens(c).values():
        out.update(items)
    # recurrent cramps: the treatment line and the dry-weight rule need these
    if e.kind in (None, "cramp", "spasm") and c.hit("recurrent_episodes_4w", e.episodes_last_4_weeks):
        if case.previous_trials is None:
            out.add("previous_trials")
        if e.timing == "during_dialysis" and e.minutes_into_session is None:
            out.add("episode.minutes_into_session")
    return tuple(sorted(out))
