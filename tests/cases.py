"""The cases every kind of test starts from, one file each in tests/fixtures, shared by the engine tests, the web
tests and the benchmark (bench/bench_engine.py):

- ``baseline_case()``: a complete, unremarkable case (every needed input present, nothing abnormal, no red flag);
  the engine tests change it one field at a time (tests/engine/conftest.py ``make_case``).
- ``typical_case()``: the contract's example (docs/contract.md): a long-vintage patient cramping in the chair, with
  a neck red flag and baclofen on the list.

Each call returns a fresh copy, so a caller may change it freely."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BASELINE_CASE_FILE = FIXTURES / "baseline_case.json"
TYPICAL_CASE_FILE = FIXTURES / "contract_example_case.json"


def baseline_case() -> dict[str, Any]:
    return json.loads(BASELINE_CASE_FILE.read_text(encoding="utf-8"))


def typical_case() -> dict[str, Any]:
    return json.loads(TYPICAL_CASE_FILE.read_text(encoding="utf-8"))


def frequent_cramps_case() -> dict[str, Any]:
    """The baseline cramping three times in four weeks: often enough that the plan offers the first-line drug
    options (vitamin E, vitamin C) for the nephrologist to decide on."""
    case = baseline_case()
    case["episode"]["episodes_last_4_weeks"] = 3
    return case
