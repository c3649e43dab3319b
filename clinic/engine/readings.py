"""Lab readings as the rules see them: the SI number, plus every sample of that analyte as it was entered.

A rule reads ``ctx.labs["potassium"]`` as a number (the SI value of the pre-dialysis sample, or the only sample
there is). That number is a ``LabValue``: a float that also carries each sample's entered value, unit and timing.
``Threshold.hit`` uses them so that

- a value exactly at a threshold gets the decision the facts' inequality states in the unit it was entered in
  (Mg 1.7 mg/dL is not "< 0.70 mmol/L = 1.7 mg/dL", although 1.7 × 0.41144 = 0.6994), using the threshold's
  equivalents in that unit (thresholds.toml ``in_units``); and
- a post-dialysis sample is used only by the thresholds that apply after dialysis (``post_dialysis = true``:
  post-dialysis hypokalaemia, hypocalcaemia, hypoglycaemia ...); a pre-dialysis rule never reads it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

OPS: Mapping[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
WHEN_LABELS: Mapping[str | None, str] = {
    "pre_dialysis": "pre-dialysis",
    "post_dialysis": "post-dialysis",
    "other": "other time",
    None: "time not recorded",
}
PRIMARY_ORDER = ("pre_dialysis", None, "other", "post_dialysis")


@dataclass(frozen=True, slots=True)
class Reading:
    """One sample as entered: value in the entered unit (``unit_key`` is the normalised unit), SI value, timing."""

    value: float
    unit_key: str
    si: float
    when: str | None = None


class LabValue(float):
    """The SI value a rule reads for an analyte, carrying every sample of that analyte (see module docstring)."""

    __slots__ = ("analyte", "readings")
    analyte: str
    readings: tuple[Reading, ...]

    def __new__(cls, analyte: str, readings: Iterable[Reading]) -> LabValue:
        ordered = tuple(sorted(readings, key=lambda r: PRIMARY_ORDER.index(r.when)))
        if not ordered:
            raise ValueError("a LabValue needs at least one reading")
        obj = super().__new__(cls, ordered[0].si)
        obj.analyte = analyte
        obj.readings = ordered
        return obj

    @property
    def primary(self) -> Reading:
        return self.readings[0]

    def __reduce__(self) -> tuple[type[LabValue], tuple[str, tuple[Reading, ...]]]:
        return (LabValue, (self.analyte, self.readings))


def compare(x: float, op: str, limit: float) -> bool:
    return OPS[op](x, limit)


def reading_hits(reading: Reading, op: str, si_limit: float, in_units: Mapping[str, float]) -> bool:
    """``reading OP limit``: on the entered unit's equivalent when the knowledge gives one, else in SI."""
    limit = in_units.get(reading.unit_key)
    if limit is not None:
        return compare(reading.value, op, limit)
    return compare(reading.si, op, si_limit)
