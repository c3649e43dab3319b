"""The clinical knowledge as frozen, read-only objects (Knowledge and the definitions it holds), with the number
and unit formatting helpers the engine's texts share. knowledge_parse.py builds them from the TOML files."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .readings import LabValue, compare, reading_hits


class KnowledgeError(ValueError):
    """The knowledge files are malformed."""


def fmt_number(value: float) -> str:
    """Format a number for clinical text: no trailing zeros, no exponent for usual magnitudes."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def normalise_unit(unit: str) -> str:
    """Canonical key for unit matching: case-insensitive, micro signs folded, spaces collapsed."""
    u = unit.strip().replace("µ", "u").replace("μ", "u").replace("×", "x").lower()
    return " ".join(u.split())


# --------------------------------------------------------------------------------------------- objects


SECONDARY_MARK = "secondary source; primary not verified"


@dataclass(frozen=True, slots=True)
class Reference:
    id: str
    title: str
    url: str | None
    secondary: bool = False  # facts.md: "secondary source; primary not verified" (shown beside the source)


@dataclass(frozen=True, slots=True)
class UnitDef:
    unit: str
    to_si: float
    from_si: float


@dataclass(frozen=True, slots=True)
class Analyte:
    code: str
    name: str
    short: str
    si_unit: str
    decimals: int
    units: tuple[UnitDef, ...]
    plausible_min: float
    plausible_max: float
    reference_low: float | None
    reference_high: float | None
    high_inclusive: bool
    needed_for_cramp_workup: bool
    loinc: tuple[str, ...]
    unit_lookup: Mapping[str, UnitDef]
    # the reference range in other units, as facts.md states it (normalised unit -> (low, high)); see units.classify
    reference_in: Mapping[str, tuple[float | None, float | None]] = MappingProxyType({})

    @property
    def accepted_units(self) -> tuple[str, ...]:
        return tuple(u.unit for u in self.units)


@dataclass(frozen=True, slots=True)
class FindingCode:
    code: str
    name: str
    question: str
    group: str
    screen: bool
    ask_when: tuple[str, ...] = ()  # when the wizard shows it by default (codes.toml explains the conditions)


@dataclass(frozen=True, slots=True)
class Threshold:
    id: str
    source_file: str  # "thresholds" or "policy"
    label: str
    op: str | None
    value: float
    unit: str
    evidence: str
    sources: tuple[str, ...]
    note: str
    facts_default: float | None
    # lab thresholds (see readings.py): the analyte, the same limit in other units (normalised unit -> value, as
    # facts.md states it), whether post-dialysis samples count, and whether it marks an abnormal value (badges)
    analyte: str | None = None
    in_units: Mapping[str, float] = MappingProxyType({})
    post_dialysis: bool = False
    context: bool = False

    def hit(self, x: float | None) -> bool:
        """Apply the comparison ``x OP value``. A missing value never hits (it is 'not assessed').

        A ``LabValue`` of this threshold's analyte is compared sample by sample, each in the unit it was entered
        in (readings.py); it hits when any sample this threshold applies to hits.
        """
        if x is None:
            return False
        if self.op is None:
            raise KnowledgeError(f"threshold {self.id} has no comparison operator")
        if isinstance(x, LabValue) and x.analyte == self.analyte:
            return any(
                reading_hits(r, self.op, self.value, self.in_units)
                for r in x.readings
                if r.when != "post_dialysis" or self.post_dialysis
            )
        return compare(float(x), self.op, self.value)

    @property
    def text(self) -> str:
        return f"{self.op or '='} {fmt_number(self.value)} {self.unit}".strip()


@dataclass(frozen=True, slots=True)
class StepDef:
    code: str
    title: str
    order: int


@dataclass(frozen=True, slots=True)
class DoNowDef:
    """How an action appears in the plan's "do now" list: its rank (lower = sooner) and one short line."""

    rank: int
    text: str
    with_why: bool = False  # append the action's patient-specific why (e.g. which labs are missing)


@dataclass(frozen=True, slots=True)
class ActionDef:
    code: str
    step: str
    text: str
    nurse_text: str | None
    who: str
    evidence: str
    sources: tuple[str, ...]
    fires_when: str = ""  # one human-readable line; integrity refuses an action without it
    suppressed_by: tuple[str, ...] = ()  # red-flag codes that leave this action out (they conflict with it)
    suppressed_at: tuple[str, ...] = ()  # urgencies: any red flag raised at one of these leaves it out
    do_now: DoNowDef | None = None
    orders: tuple[str, ...] = ()  # analytes this action orders (so "order the missing labs" does not repeat them)
    drug: str | None = None  # pharmacotherapy: the drug code whose verdict gates the action
    line: int | None = None  # pharmacotherapy: treatment line (1 first; later lines need a failed earlier one)
    needs_screens: tuple[str, ...] = ()  # screens whose unanswered questions withhold this action


@dataclass(frozen=True, slots=True)
class ScreenDef:
    """A set of questions that must be answered before actions that depend on it (drug trials) are offered."""

    code: str
    title: str
    applies: str  # predicate id (clinic/engine/screens.py)
    fires_when: str
    items: tuple[str, ...]  # case paths, as in the plan's `missing` ("findings.fever", "patient.access")
    include_screen_findings: bool


@dataclass(frozen=True, slots=True)
class RedFlagDef:
    code: str
    title: str
    criteria: str
    urgency: Mapping[str, str]  # tier -> urgency
    actions: tuple[str, ...]
    evidence: str
    sources: tuple[str, ...]
    order: int
    fires_when: str = ""  # one human-readable line; integrity refuses a red flag without it
    do_now_covers: tuple[str, ...] = ()  # action codes its first action already does (not repeated in "do now")


@dataclass(frozen=True, slots=True)
class TightenRule:
    factor: str
    verdict: str
    why: str


@dataclass(frozen=True, slots=True)
class OrderLimit:
    units: tuple[str, ...]
    max_id: str | None
    hard_stop_above: bool


@dataclass(frozen=True, slots=True)
class DrugDef:
    code: str
    name: str
    verdict: str
    hard_stop: bool
    dose: str | None
    max_duration: str | None
    monitoring: str | None
    why: str
    evidence: str
    sources: tuple[str, ...]
    tighten: tuple[TightenRule, ...]
    order: OrderLimit | None


@dataclass(frozen=True, slots=True)
class Knowledge:
    """Everything the engine and the Django forms need, read-only."""

    version: str
    status: str
    population: str
    case_schema: str
    plan_schema: str
    evidence_tags: Mapping[str, str]
    references: Mapping[str, Reference]
    analytes: Mapping[str, Analyte]
    findings: Mapping[str, FindingCode]
    conditions: Mapping[str, str]
    medications: Mapping[str, str]
    medication_groups: Mapping[str, tuple[str, ...]]
    thresholds: Mapping[str, Threshold]  # thresholds.toml and policy.toml, one namespace
    steps: Mapping[str, StepDef]
    actions: Mapping[str, ActionDef]
    red_flags: Mapping[str, RedFlagDef]
    drugs: Mapping[str, DrugDef]
    screens: Mapping[str, ScreenDef]
    advice: Mapping[str, str]
    do_now_flag_ranks: Mapping[str, int]  # red-flag urgency -> rank among the actions' do_now ranks
    path: str
    content_hash: str
    raw_placeholders: tuple[tuple[str, str], ...]  # (where, placeholder) for the catalogue/integrity

    # --- convenience -------------------------------------------------------------------------------
    def t(self, tid: str) -> Threshold:
        return self.thresholds[tid]

    def value(self, tid: str) -> float:
        return self.thresholds[tid].value

    def hit(self, tid: str, x: float | None) -> bool:
        return self.thresholds[tid].hit(x)

    @property
    def drug_names(self) -> Mapping[str, str]:
        return MappingProxyType({c: d.name for c, d in self.drugs.items()})

    @property
    def screen_findings(self) -> tuple[str, ...]:
        return tuple(c for c, f in self.findings.items() if f.screen)
