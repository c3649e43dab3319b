"""The plan page shows the UF-rate and weight-gain bands the engine returned; it does not compute them again."""

from __future__ import annotations

import pytest

from clinic.engine import load_knowledge
from clinic.workups.presenters import derived_values


def test_the_band_comes_from_the_plan_not_a_second_comparison() -> None:
    # A band that disagrees with the value proves the presenter reads the band: it never re-applies the threshold.
    rows = derived_values(
        {"uf_rate_ml_kg_h": 5.0, "uf_rate_band": "high", "idwg_percent": 9.0, "idwg_band": "acceptable"}
    )
    uf, idwg = rows
    k = load_knowledge()
    assert uf.level == "high" and uf.crossed == f"{k.t('ufr_high').label}: {k.t('ufr_high').text}"
    assert idwg.level == "ok" and idwg.crossed is None


@pytest.mark.parametrize(
    ("band", "level", "tid"),
    [("high", "high", "ufr_high"), ("elevated", "warn", "ufr_flag"), ("acceptable", "ok", None)],
)
def test_each_band_names_its_threshold_with_the_knowledge_operator(band: str, level: str, tid: str | None) -> None:
    row = derived_values({"uf_rate_ml_kg_h": 12.0, "uf_rate_band": band})[0]
    assert row.level == level
    if tid is None:
        assert row.crossed is None
    else:
        assert row.crossed is not None and row.crossed.endswith(load_knowledge().t(tid).text)


def test_missing_value_is_missing() -> None:
    assert [r.level for r in derived_values({})] == ["missing", "missing"]
