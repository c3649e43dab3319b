"""FHIR import report: what an import did (or why it was refused), per patient, as text and for the audit trail."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

MAX_ERRORS_SHOWN = 50
REFS_SHOWN = 5


class ImportRefused(Exception):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors[:3]))
        self.errors = errors


# ------------------------------------------------------------------------------------------------ report


@dataclass
class MedicationLine:
    label: str
    rxnorm: str
    current: bool
    med: str | None = None
    count: int = 1


@dataclass
class PatientReport:
    public_id: str = ""
    name: str = ""
    mrn: str = ""
    created: bool = False
    fields_changed: list[str] = field(default_factory=list)
    diabetes: bool | None = None
    esrd_onset: dt.date | None = None
    dialysis_started: dt.date | None = None
    sessions_completed: int | None = None
    sessions_added: int = 0
    deceased: bool = False
    conditions_added: list[str] = field(default_factory=list)
    medications_added: list[str] = field(default_factory=list)
    medications: list[MedicationLine] = field(default_factory=list)
    labs_added: int = 0
    labs_updated: int = 0
    labs_unchanged: int = 0
    labs_refused: list[str] = field(default_factory=list)
    # Retractions applied (a result entered in error, a medicine stopped, a condition resolved), one line each.
    changes: list[str] = field(default_factory=list)
    # Every resource not used, and why: (what, reference, reason).
    not_used: list[tuple[str, str, str]] = field(default_factory=list)

    def skip(self, what: str, ref: str, reason: str) -> None:
        self.not_used.append((what, ref, reason))

    def not_used_lines(self) -> list[str]:
        """One line per (what, reason), naming the resources (the first few when there are many)."""
        grouped: dict[tuple[str, str], list[str]] = {}
        for what, ref, reason in self.not_used:
            grouped.setdefault((what, reason), []).append(ref)
        lines = []
        for (what, reason), refs in grouped.items():
            more = f" and {len(refs) - REFS_SHOWN} more" if len(refs) > REFS_SHOWN else ""
            shown = ", ".join(refs[:REFS_SHOWN]) + more
            count = f" x{len(refs)}" if len(refs) > 1 else ""
            lines.append(f"{what}{count} ({shown}): {reason}")
        return lines

    @property
    def unmapped_medications(self) -> list[MedicationLine]:
        return [m for m in self.medications if m.med is None]

    @property
    def historical_medications(self) -> list[MedicationLine]:
        return [m for m in self.medications if m.med is not None and not m.current]


@dataclass
class ImportReport:
    files: list[str] = field(default_factory=list)
    ok: bool = False
    errors: list[str] = field(default_factory=list)
    patients: list[PatientReport] = field(default_factory=list)
    resources: Counter[str] = field(default_factory=Counter)
    ignored: Counter[str] = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return any(
            p.created
            or p.fields_changed
            or p.sessions_added
            or p.conditions_added
            or p.medications_added
            or p.labs_added
            or p.labs_updated
            or p.changes
            for p in self.patients
        )

    def as_text(self) -> str:
        lines: list[str] = []
        if not self.ok:
            lines.append(f"Import refused: nothing was changed ({len(self.errors)} problem(s)).")
            lines += [f"  - {e}" for e in self.errors[:MAX_ERRORS_SHOWN]]
            if len(self.errors) > MAX_ERRORS_SHOWN:
                lines.append(f"  ... and {len(self.errors) - MAX_ERRORS_SHOWN} more")
            return "\n".join(lines)
        used = ", ".join(f"{n} {t}" for t, n in sorted(self.resources.items()))
        lines.append(f"Imported {used or 'nothing'} in {self.seconds:.2f} s.")
        if self.ignored:
            lines.append(
                "Not used (Chairside does not read these resource types): "
                + ", ".join(f"{n} {t}" for t, n in sorted(self.ignored.items()))
                + "."
            )
        for p in self.patients:
            lines.append("")
            state = "created" if p.created else "updated" if p.fields_changed or p.changes else "already up to date"
            lines.append(f"Patient {p.name} (MRN {p.mrn}): {state}.")
            if p.fields_changed:
                lines.append("  Changed: " + ", ".join(p.fields_changed) + ".")
            if p.deceased:
                lines.append("  Deceased: yes (no current medicines).")
            lines += [f"  {c}" for c in p.changes]
            lines.append(f"  Diabetes: {_yes_no(p.diabetes)}. ESRD since: {p.esrd_onset or 'not recorded'}.")
            lines.append(
                f"  On dialysis since: {p.dialysis_started or 'not recorded'}; sessions completed: "
                f"{p.sessions_completed if p.sessions_completed is not None else 'not recorded'} "
                f"({p.sessions_added} new)."
            )
            if p.conditions_added:
                lines.append("  Conditions added: " + ", ".join(p.conditions_added) + ".")
            if p.medications_added:
                lines.append("  Medicines added: " + ", ".join(p.medications_added) + ".")
            for m in p.unmapped_medications:
                when = "current" if m.current else "past"
                lines.append(f"  Not mapped ({when}, RxNorm {m.rxnorm or 'none'}): {m.label} x{m.count}.")
            for m in p.historical_medications:
                lines.append(f"  Past medicine, not added: {m.label} ({m.med}).")
            lines.append(
                f"  Lab results: {p.labs_added} added, {p.labs_updated} updated, {p.labs_unchanged} unchanged, "
                f"{len(p.labs_refused)} refused."
            )
            lines += [f"  Refused: {r}" for r in p.labs_refused]
            lines += [f"  Not used: {line}." for line in p.not_used_lines()]
        lines += [f"Skipped: {s}" for s in self.skipped]
        if not self.changed:
            lines.append("")
            lines.append("Nothing new: everything in the file was already imported.")
        return "\n".join(lines)

    def audit_detail(self) -> dict[str, Any]:
        return {
            "outcome": "ok" if self.ok else "refused",
            "files": len(self.files),
            "resources": dict(self.resources),
            "errors": len(self.errors),
        }


def _yes_no(value: bool | None) -> str:
    return "not recorded" if value is None else "yes" if value else "no"
