"""Benchmark the pure engine: median evaluate() time for a typical, a baseline and a worst-case case.

Usage:  python bench/bench_engine.py [--json PATH] [--repeat N] [--number N]
Prints one JSON line: {"engine_eval_us_median": ..., "engine_eval_baseline_us_median": ...,
"engine_eval_worst_us_median": ...} (the contract example, the unremarkable baseline case, the worst case).
Knowledge is loaded once (as in a server process) before timing; each timed call validates the dict and
evaluates it, exactly as the CLI and the HTTP API do.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import timeit
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clinic.engine import evaluate, load_knowledge, plan_to_json
from clinic.engine.contract import FINDINGS
from tests.cases import baseline_case, typical_case

# The cases the tests share (tests/cases.py): the contract example and the unremarkable baseline.
TYPICAL: dict[str, Any] = typical_case()
BASELINE: dict[str, Any] = baseline_case()


def worst_case() -> dict[str, Any]:
    """Every finding positive, every lab abnormal, a long medication list: the most rules fire."""
    k = load_knowledge()
    case = json.loads(json.dumps(TYPICAL))
    case["findings"] = dict.fromkeys(FINDINGS, True)
    case["patient"]["conditions"] = list(k.conditions)
    case["patient"]["sessions_completed"] = 2
    case["patient"]["dialysis_vintage_months"] = (
        0.5  # first sessions (the inputs checks refuse 2 sessions in 150 months)
    )
    case["episode"]["minutes_into_session"] = 140  # within the 150-minute session below
    case["labs"] = [
        {"analyte": "magnesium", "value": 2.3, "unit": "mmol/L"},
        {"analyte": "calcium_ionised", "value": 0.7, "unit": "mmol/L"},
        {"analyte": "calcium_total", "value": 1.5, "unit": "mmol/L"},
        {"analyte": "albumin", "value": 2.8, "unit": "g/dL"},
        {"analyte": "potassium", "value": 6.9, "unit": "mmol/L"},
        {"analyte": "sodium", "value": 121, "unit": "mmol/L"},
        {"analyte": "phosphate", "value": 2.4, "unit": "mmol/L"},
        {"analyte": "bicarbonate", "value": 17, "unit": "mmol/L"},
        {"analyte": "aluminium", "value": 240, "unit": "µg/L"},
        {"analyte": "glucose", "value": 55, "unit": "mg/dL"},
        {"analyte": "urea", "value": 190, "unit": "mg/dL BUN"},
        {"analyte": "creatine_kinase_x_uln", "value": 12, "unit": "x ULN"},
        {"analyte": "qtc", "value": 530, "unit": "ms"},
        {"analyte": "carnitine_free", "value": 25, "unit": "µmol/L"},
        {"analyte": "beta2_microglobulin", "value": 35, "unit": "mg/L"},
    ]
    case["dialysis"].update(
        {
            "dialysate_potassium_mmol_l": 1.0,
            "dialysate_calcium_mmol_l": 1.0,
            "dialysate_magnesium_mmol_l": 0.25,
            "dialysate_bicarbonate_mmol_l": 40,
            "dialysate_sodium_mmol_l": 148,
            "sodium_profiling": True,
            "buffer": "acetate",
            "dialysate_temperature_c": 35.0,
            "dialyser_flux": "low",
            "missed_or_shortened_sessions_last_month": 3,
            "session_minutes": 150,
            "sessions_per_week": 2,
        }
    )
    case["medications"] = [*k.medications, "unknown-drug-a", "unknown-drug-b"]
    return case


def measure(case: dict[str, Any], repeat: int, number: int) -> float:
    timer = timeit.Timer(lambda: evaluate(case))
    runs = timer.repeat(repeat=repeat, number=number)
    return statistics.median(runs) / number * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="PATH", help="also write the result to this file")
    parser.add_argument("--repeat", type=int, default=31)
    parser.add_argument("--number", type=int, default=100)
    args = parser.parse_args(argv)

    load_knowledge()  # once per process, as in production
    worst = worst_case()
    plan_to_json(evaluate(TYPICAL))  # warm up
    plan_to_json(evaluate(worst))
    plan_to_json(evaluate(BASELINE))
    result = {
        "engine_eval_us_median": round(measure(TYPICAL, args.repeat, args.number), 1),
        "engine_eval_baseline_us_median": round(measure(BASELINE, args.repeat, args.number), 1),
        "engine_eval_worst_us_median": round(measure(worst, args.repeat, args.number), 1),
    }
    line = json.dumps(result, sort_keys=True)
    print(line)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(line + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
