"""The optional case field ``previous_trials``: drug trials already tried for the cramps and how they ended.

    "previous_trials": [{"drug": "vitamin_e", "outcome": "no_benefit", "weeks": 10}]

``drug`` is a drug code (drugs.toml), ``outcome`` one of ``TRIAL_OUTCOMES`` ("no_benefit" and "not_tolerated"
count as failed and open the next treatment line), ``weeks`` optional (0–520). Absent = not recorded (a later
line is then never offered); an empty list = recorded, nothing tried yet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .knowledge import Knowledge
from .types import TRIAL_OUTCOMES, Trial

MAX_TRIALS = 50
MAX_WEEKS = 520.0
TRIAL_KEYS = ("drug", "outcome", "weeks")


def parse_trials(raw: object, k: Knowledge, add: Callable[[str, str], None]) -> tuple[Trial, ...] | None:
    """Validate ``previous_trials``; report each problem through ``add(field, message)``."""
    if raw is None:
        return None
    if not isinstance(raw, list | tuple):
        add("previous_trials", "previous_trials must be a list of {drug, outcome} objects")
        return None
    if len(raw) > MAX_TRIALS:
        add("previous_trials", f"too many previous trials (at most {MAX_TRIALS})")
        return None
    out: list[Trial] = []
    for i, entry in enumerate(raw):
        path = f"previous_trials[{i}]"
        if not isinstance(entry, Mapping):
            add(path, "each previous trial must be an object with drug and outcome")
            continue
        unknown = [str(key) for key in entry if key not in TRIAL_KEYS]
        for key in unknown:
            add(f"{path}.{key}", f"unknown field '{key[:40]}'; use {', '.join(TRIAL_KEYS)}")
        drug, outcome, weeks = entry.get("drug"), entry.get("outcome"), entry.get("weeks")
        ok = not unknown
        if not isinstance(drug, str) or drug not in k.drugs:
            add(f"{path}.drug", "drug must be one of the drug codes (for example vitamin_e, gabapentin)")
            ok = False
        if outcome not in TRIAL_OUTCOMES:
            add(f"{path}.outcome", f"outcome must be one of {', '.join(TRIAL_OUTCOMES)}")
            ok = False
        if weeks is not None and (
            isinstance(weeks, bool) or not isinstance(weeks, int | float) or not 0 <= weeks <= MAX_WEEKS
        ):
            add(f"{path}.weeks", f"weeks must be a number from 0 to {MAX_WEEKS:g}")
            ok = False
        if ok:
            out.append(Trial(str(drug), str(outcome), None if weeks is None else float(weeks)))
    return tuple(out)
