"""Integrity of the lab thresholds and the low/normal/high badges (called by integrity.check_integrity).

- Every lab threshold names its analyte and states its limit in every other accepted unit whose factor is not 1
  (``in_units``), within 2.5 % of the exact conversion, so a value at a threshold is decided on the facts' number in
  the unit it was entered in (readings.py).
- The badges (analytes.toml reference ranges, shown on the patient page, the wizard's lab preview and the plan)
  cannot disagree with a decision: a value that any abnormal-value threshold calls low (or high) is badged low
  (or high) too, in SI and in every unit that has its own numbers. Thresholds marked ``context = true`` are
  conditions for another rule (serum K below 5 with a low-K bath) and are exempt.
"""

from __future__ import annotations

from .knowledge import Analyte, Knowledge, Threshold, fmt_number, normalise_unit

# An equivalent may differ from the exact conversion by 2.5 %: facts.md states them to two significant figures
# (Mg < 0.5 mmol/L = < 1.2 mg/dL, exact 1.215; > 1.25 mmol/L = > 3.0 mg/dL, exact 3.04). Typos are 10× off.
TOLERANCE = 0.025
LOW_OPS = ("<", "<=")
HIGH_OPS = (">", ">=")


def _close(stated: float, exact: float) -> bool:
    return abs(stated - exact) <= TOLERANCE * max(abs(exact), 1e-9)


def _units_needing_equivalents(a: Analyte) -> dict[str, float]:
    """normalised unit -> from_si, for the accepted units that are not the SI number under another name."""
    return {normalise_unit(u.unit): u.from_si for u in a.units if u.to_si != 1.0}


def _threshold_units(t: Threshold, a: Analyte, problems: list[str]) -> None:
    where = f"threshold '{t.id}'"
    if t.op is None:
        problems.append(f"{where}: a lab threshold needs a comparison operator")
        return
    needed = _units_needing_equivalents(a)
    for key, value in t.in_units.items():
        if key not in a.unit_lookup:
            problems.append(f"{where}: in_units names '{key}', which is not an accepted unit of {a.code}")
        elif key in needed and not _close(value, t.value * needed[key]):
            unit = a.unit_lookup[key].unit
            problems.append(
                f"{where}: {fmt_number(value)} {unit} is not {fmt_number(t.value)} {a.si_unit} "
                f"(exact {t.value * needed[key]:.4g} {unit}, more than 2.5 % apart)"
            )
    for key in needed:
        if key not in t.in_units:
            problems.append(
                f"{where}: no limit in {a.unit_lookup[key].unit} (in_units); a value entered in "
                f"{a.unit_lookup[key].unit} at the threshold would be decided on the conversion's last digits"
            )


def _reference_units(a: Analyte, problems: list[str]) -> None:
    needed = _units_needing_equivalents(a)
    for key, (low, high) in a.reference_in.items():
        where = f"analyte '{a.code}': reference_in '{key}'"
        if key not in needed:
            problems.append(f"{where} is not an accepted unit with its own numbers")
            continue
        for stated, si in ((low, a.reference_low), (high, a.reference_high)):
            if (stated is None) != (si is None):
                problems.append(f"{where}: low/high must match the SI reference range's sides")
            elif stated is not None and si is not None and not _close(stated, si * needed[key]):
                problems.append(f"{where}: {fmt_number(stated)} is not {fmt_number(si)} {a.si_unit}")
    if a.reference_low is not None or a.reference_high is not None:
        for key in needed:
            if key not in a.reference_in:
                problems.append(f"analyte '{a.code}': no reference range in {a.unit_lookup[key].unit} (reference_in)")


def _badge_side(
    t: Threshold, limit: float, low: float | None, high: float | None, high_inclusive: bool, unit: str
) -> str | None:
    """Why the badge could call 'normal' a value this threshold calls abnormal, or None if it cannot."""
    if t.op in LOW_OPS:
        if low is None:
            return f"the badge has no lower limit in {unit}, so a value the rule calls low shows as normal"
        if limit > low or (limit == low and t.op == "<="):
            return f"the rule calls {t.op} {fmt_number(limit)} {unit} low; the badge only below {fmt_number(low)}"
    else:
        if high is None:
            return f"the badge has no upper limit in {unit}, so a value the rule calls high shows as normal"
        if limit < high or (limit == high and t.op == ">=" and not high_inclusive):
            return f"the rule calls {t.op} {fmt_number(limit)} {unit} high; the badge only from {fmt_number(high)}"
    return None


def check_labs(k: Knowledge) -> list[str]:
    problems: list[str] = []
    for analyte in k.analytes.values():
        _reference_units(analyte, problems)
    for t in k.thresholds.values():
        if t.analyte is None:
            continue
        a = k.analytes.get(t.analyte)
        if a is None:
            problems.append(f"threshold '{t.id}': unknown analyte '{t.analyte}'")
            continue
        if normalise_unit(t.unit) != normalise_unit(a.si_unit):
            problems.append(f"threshold '{t.id}': unit {t.unit} is not {a.code}'s SI unit {a.si_unit}")
        _threshold_units(t, a, problems)
        if t.context or t.op is None:
            continue
        checks = [(t.value, a.reference_low, a.reference_high, a.si_unit)]
        for key, limit in t.in_units.items():
            if key in a.reference_in:
                lo, hi = a.reference_in[key]
                checks.append((limit, lo, hi, a.unit_lookup[key].unit))
        for limit, lo, hi, unit in checks:
            problem = _badge_side(t, limit, lo, hi, a.high_inclusive, unit)
            if problem:
                problems.append(f"threshold '{t.id}' and the {a.code} badge disagree: {problem}")
    return problems
