"""Golden clinical scenarios (tests/engine/cases/*.json): inputs plus the codes a clinician expects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clinic.engine import evaluate, plan_to_json

CASES = sorted((Path(__file__).parent / "cases").glob("*.json"))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden_case(path: Path) -> None:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if "case_file" in data:  # a case shared with the web tests and the benchmark (tests/fixtures)
        data["case"] = json.loads((path.parent / data["case_file"]).read_text(encoding="utf-8"))
    expect = data["expect"]
    plan = evaluate(data["case"])
    got_flags = {r.code: r.urgency for r in plan.red_flags}
    for code, urgency in expect.get("red_flags", {}).items():
        assert got_flags.get(code) == urgency, code
    if expect.get("red_flags") == {}:
        assert got_flags == {}
    codes = set(plan.action_codes())
    assert set(expect.get("actions_include", [])) <= codes
    assert not set(expect.get("actions_exclude", [])) & codes
    for drug, verdict in expect.get("verdicts", {}).items():
        assert plan.verdict(drug).verdict == verdict, drug
    assert set(expect.get("missing_include", [])) <= set(plan.missing)
    assert plan_to_json(plan) == plan_to_json(evaluate(data["case"]))


def test_there_are_golden_cases() -> None:
    assert len(CASES) >= 5
