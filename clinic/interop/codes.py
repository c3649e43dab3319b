"""Code tables for FHIR import and export: clinic/knowledge/rxnorm.toml and fhir_codes.toml, plus the LOINC
codes per analyte that the engine's analytes.toml already lists. Loaded once per process and checked on load.
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from clinic.engine import load_knowledge
from clinic.engine.knowledge import DEFAULT_DIR

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
CPT = "http://www.ama-assn.org/go/cpt"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ICD10_CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10_SYSTEMS = (ICD10, ICD10_CM)
# Other official names of the same code systems (HL7 OIDs; LOINC's own https site), read as the FHIR URI.
SYSTEM_ALIASES = {
    "urn:oid:2.16.840.1.113883.6.1": LOINC,
    "https://loinc.org": LOINC,
    "http://loinc.org/": LOINC,
    "https://loinc.org/": LOINC,
    "urn:oid:2.16.840.1.113883.6.96": SNOMED,
    "urn:oid:2.16.840.1.113883.6.88": RXNORM,
    "urn:oid:2.16.840.1.113883.6.90": ICD10_CM,
    "urn:oid:2.16.840.1.113883.6.3": ICD10,
}


def canonical_system(system: Any) -> str | None:
    if not isinstance(system, str):
        return None
    return SYSTEM_ALIASES.get(system.strip(), system.strip())


class CodeTableError(ValueError):
    """rxnorm.toml or fhir_codes.toml is malformed or names a code Chairside does not know."""


@dataclass(frozen=True)
class CodeSet:
    snomed: frozenset[str] = frozenset()
    icd10: tuple[str, ...] = ()
    cpt: frozenset[str] = frozenset()
    recent_days: int | None = None

    def matches(self, system: str | None, code: str | None) -> bool:
        if not system or not code:
            return False
        if system == SNOMED:
            return code in self.snomed
        if system == CPT:
            return code in self.cpt
        if system in ICD10_SYSTEMS:
            return any(_icd_match(pattern, code) for pattern in self.icd10)
        return False

    @property
    def first_snomed(self) -> str | None:
        return min(self.snomed) if self.snomed else None


def _icd_match(pattern: str, code: str) -> bool:
    code = code.strip().upper()
    if pattern.endswith("*"):
        return code.startswith(pattern[:-1].upper())
    return code == pattern.upper()


@dataclass(frozen=True)
class MedMapping:
    rxcui: str
    med: str
    name: str
    review: str


@dataclass(frozen=True)
class CodeTables:
    diabetes: CodeSet
    esrd: CodeSet
    dialysis: CodeSet
    aki: CodeSet
    conditions: dict[str, CodeSet]
    rxnorm: dict[str, MedMapping]
    loinc_to_analyte: dict[str, str]
    rxnorm_version: str
    condition_snomed_for_export: dict[str, str] = field(default_factory=dict)

    def condition_codes(self, codings: Iterable[tuple[str | None, str | None]], onset: dt.date | None) -> set[str]:
        found: set[str] = set()
        today = dt.datetime.now(tz=dt.UTC).date()
        for name, codeset in self.conditions.items():
            for system, code in codings:
                if not codeset.matches(system, code):
                    continue
                too_old = onset is None or (today - onset).days > (codeset.recent_days or 0)
                if codeset.recent_days is not None and system == SNOMED and too_old:
                    continue
                found.add(name)
        return found


def _codeset(table: dict[str, Any], where: str) -> CodeSet:
    for key in ("snomed", "icd10", "cpt"):
        if key in table and not all(isinstance(c, str) for c in table[key]):
            raise CodeTableError(f"fhir_codes.toml {where}.{key}: expected a list of strings")
    recent = table.get("recent_days")
    return CodeSet(
        snomed=frozenset(table.get("snomed", [])),
        icd10=tuple(table.get("icd10", [])),
        cpt=frozenset(table.get("cpt", [])),
        recent_days=int(recent) if recent is not None else None,
    )


@functools.cache
def code_tables() -> CodeTables:
    knowledge = load_knowledge()
    with (DEFAULT_DIR / "fhir_codes.toml").open("rb") as fh:
        fhir = tomllib.load(fh)
    with (DEFAULT_DIR / "rxnorm.toml").open("rb") as fh:
        rx = tomllib.load(fh)

    conditions: dict[str, CodeSet] = {}
    for name, table in fhir.get("conditions", {}).items():
        if name not in knowledge.conditions:
            raise CodeTableError(f"fhir_codes.toml: '{name}' is not a contract condition code")
        conditions[name] = _codeset(table, f"conditions.{name}")

    rxnorm: dict[str, MedMapping] = {}
    for rxcui, row in rx.get("codes", {}).items():
        med = row.get("med")
        if med not in knowledge.medications:
            raise CodeTableError(f"rxnorm.toml: {rxcui} maps to '{med}', which is not a contract medication code")
        if row.get("review") not in ("dataset", "pending", "pharmacist"):
            raise CodeTableError(f"rxnorm.toml: {rxcui} needs review = dataset | pending | pharmacist")
        rxnorm[rxcui] = MedMapping(rxcui, med, str(row.get("name", "")), str(row["review"]))

    loinc: dict[str, str] = {}
    for code, analyte in knowledge.analytes.items():
        for lc in analyte.loinc:
            loinc[lc] = code
    for lc, row in fhir.get("loinc_extra", {}).items():
        if row.get("analyte") not in knowledge.analytes:
            raise CodeTableError(f"fhir_codes.toml loinc_extra {lc}: unknown analyte {row.get('analyte')!r}")
        if lc in loinc and loinc[lc] != row["analyte"]:
            raise CodeTableError(f"fhir_codes.toml loinc_extra {lc}: already means {loinc[lc]}")
        loinc[lc] = row["analyte"]

    export = {name: cs.first_snomed for name, cs in conditions.items() if cs.first_snomed}
    return CodeTables(
        diabetes=_codeset(fhir["diabetes"], "diabetes"),
        esrd=_codeset(fhir["esrd"], "esrd"),
        dialysis=_codeset(fhir["dialysis_procedures"], "dialysis_procedures"),
        aki=_codeset(fhir["acute_kidney_injury"], "acute_kidney_injury"),
        conditions=conditions,
        rxnorm=rxnorm,
        loinc_to_analyte=loinc,
        rxnorm_version=str(rx.get("version", "")),
        condition_snomed_for_export=export,  # type: ignore[arg-type]
    )
