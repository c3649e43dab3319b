"""Patient factors that can make a drug verdict stricter (referenced by id from drugs.toml).

A factor returns ``(state, detail, inputs)``: state True (present), False (assessed, absent) or None (the
inputs it needs were not given: "not assessed"); ``detail`` shows the patient's value; ``inputs`` names the case
fields it reads (for the verdict's ``not_assessed`` list).

Families: ``condition.<code>``, ``medication.<code>``, ``redflag.<code>`` plus the named factors in ``NAMED``.
"""

from __future__ import annotations

from collections.abc import Callable

from .derived import Ctx
from .knowledge import Knowledge, fmt_number

State = tuple[bool | None, str, tuple[str, ...]]


def _age(c: Ctx) -> State:
    age = c.case.patient.age_years
    inputs = ("patient.age_years",)
    if age is None:
        return None, "", inputs
    return c.hit("age_beers", age), f"age {fmt_number(age)}", inputs


def _hepatic(c: Ctx) -> State:
    h = c.case.patient.hepatic_impairment
    inputs = ("patient.hepatic_impairment",)
    if h is None:
        return None, "", inputs
    return h in ("moderate", "severe"), f"{h} hepatic impairment", inputs


def _diabetes(c: Ctx) -> State:
    d = c.case.patient.diabetes
    return d, "", ("patient.diabetes",)


def _lab_factor(analyte: str, tid: str) -> Callable[[Ctx], State]:
    def fn(c: Ctx) -> State:
        v = c.lab(analyte)
        inputs = (f"labs.{analyte}",)
        if v is None:
            return None, "", inputs
        return c.hit(tid, v), c.labtxt(analyte), inputs

    return fn


def _mg_very_high(c: Ctx) -> State:
    state, detail, inputs = _lab_factor("magnesium", "mg_hyper")(c)
    if "redflag.hypermagnesaemia" in c.flags:
        return True, detail or "hypermagnesaemia red flag", inputs
    return state, detail, inputs


def _carnitine_not_low(c: Ctx) -> State:
    v = c.lab("carnitine_free")
    inputs = ("labs.carnitine_free",)
    if v is None:
        return None, "", inputs
    return not c.hit("carnitine_low", v), c.labtxt("carnitine_free"), inputs


def _not_during_dialysis(c: Ctx) -> State:
    t = c.case.episode.timing
    inputs = ("episode.timing",)
    if t is None:
        return None, "", inputs
    return t != "during_dialysis", t.replace("_", " "), inputs


def _intradialytic_cramp(c: Ctx) -> State:
    e = c.case.episode
    inputs = ("episode.timing", "episode.kind")
    if e.timing == "during_dialysis" and e.kind == "cramp":
        return True, "cramp during dialysis", inputs
    if e.timing is None or e.kind is None:
        # a known non-intradialytic timing or a known non-cramp kind settles it either way
        if (e.timing is not None and e.timing != "during_dialysis") or (e.kind is not None and e.kind != "cramp"):
            return False, "", inputs
        return None, "", inputs
    return False, "", inputs


NAMED: dict[str, Callable[[Ctx], State]] = {
    "age_65_or_over": _age,
    "hepatic_moderate_or_severe": _hepatic,
    "diabetes": _diabetes,
    "magnesium_high": _lab_factor("magnesium", "mg_high_intake"),
    "magnesium_very_high": _mg_very_high,
    "sodium_low": _lab_factor("sodium", "na_block_high_na"),
    "sodium_high": _lab_factor("sodium", "na_high"),
    "qtc_prolonged": _lab_factor("qtc", "qtc_high"),
    "carnitine_not_low": _carnitine_not_low,
    "not_during_dialysis": _not_during_dialysis,
    "intradialytic_cramp": _intradialytic_cramp,
}


def _condition(code: str) -> Callable[[Ctx], State]:
    def fn(c: Ctx) -> State:
        if not c.conds_known:
            return None, "", ("patient.conditions",)
        return code in c.conds, "", ("patient.conditions",)

    return fn


def _medication(code: str) -> Callable[[Ctx], State]:
    def fn(c: Ctx) -> State:
        if not c.meds_known:
            return None, "", ("medications",)
        return code in c.meds, "", ("medications",)

    return fn


def _redflag(code: str) -> Callable[[Ctx], State]:
    def fn(c: Ctx) -> State:
        return code in c.flags, "", ()

    return fn


_RESOLVED: dict[str, Callable[[Ctx], State]] = {}


def resolve_factor(factor: str) -> Callable[[Ctx], State]:
    """The function that evaluates a factor id (resolved once, then cached)."""
    fn = _RESOLVED.get(factor)
    if fn is None:
        family, _, code = factor.partition(".")
        if factor in NAMED:
            fn = NAMED[factor]
        elif family == "condition":
            fn = _condition(code)
        elif family == "medication":
            fn = _medication(code)
        elif family == "redflag":
            fn = _redflag(factor)
        else:
            raise KeyError(f"unknown drug factor '{factor}'")
        _RESOLVED[factor] = fn
    return fn


def evaluate_factor(factor: str, c: Ctx) -> State:
    return resolve_factor(factor)(c)


def factor_exists(factor: str, k: Knowledge) -> bool:
    """True if the engine can evaluate this factor id (used by integrity checks)."""
    if factor in NAMED:
        return True
    family, _, code = factor.partition(".")
    if family == "condition":
        return code in k.conditions
    if family == "medication":
        return code in k.medications
    if family == "redflag":
        return factor in k.red_flags
    return False
