"""Purity (no Django), knowledge integrity, catalogue, serialisation and determinism."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from clinic.engine import (
    CarePlan,
    CaseError,
    Knowledge,
    errors_to_json,
    evaluate,
    load_knowledge,
    plan_to_dict,
    plan_to_json,
)
from clinic.engine.catalogue import render_markdown
from clinic.engine.contract import ACTIONS, DRUGS, RED_FLAGS, STEPS
from clinic.engine.integrity import check_integrity
from clinic.engine.knowledge import KnowledgeError

from .conftest import make_case, plan_for

ROOT = Path(__file__).resolve().parents[2]


def test_engine_imports_no_django() -> None:
    code = (
        "import sys, clinic.engine, clinic.engine.catalogue, clinic.engine.integrity, clinic.engine.units;"
        "clinic.engine.evaluate({'schema': 'chairside.case/1'});"
        "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_engine_sources_never_mention_django() -> None:
    for path in (ROOT / "clinic" / "engine").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "import django" not in text and "from django" not in text, path


def test_integrity_is_clean(k: Knowledge) -> None:
    assert check_integrity(k) == []


def test_knowledge_is_cached_and_read_only(k: Knowledge) -> None:
    assert load_knowledge() is k
    assert k.version == "2026.11.2"
    assert "sign-off" in k.status
    with pytest.raises(TypeError):
        k.drugs["baclofen"] = k.drugs["quinine"]  # type: ignore[index]
    with pytest.raises(AttributeError):
        k.version = "x"  # type: ignore[misc]


def test_knowledge_exposes_what_forms_need(k: Knowledge) -> None:
    mg = k.analytes["magnesium"]
    assert mg.si_unit == "mmol/L" and set(mg.accepted_units) == {"mmol/L", "mg/dL", "mEq/L"}
    assert (mg.reference_low, mg.reference_high) == (0.70, 1.05) and "19123-9" in mg.loinc
    assert k.findings["chest_pain"].question and k.findings["chest_pain"].group == "cardiac"
    assert k.conditions["heart_block"] and k.medications["baclofen"] == "Baclofen"
    assert k.drug_names["dextrose_50"] == "Dextrose 50%"
    assert k.references["R1"].url and k.actions["acute.reduce_uf"].who == "nurse"
    assert k.red_flags["redflag.stroke"].urgency["base"] == "emergency"


def test_every_threshold_lives_in_one_place(k: Knowledge) -> None:
    # placeholders render the TOML number into texts; no unrendered placeholder is left anywhere
    assert "never more than 20 mL" in k.actions["acute.hypertonic_rescue"].text
    texts = [a.text for a in k.actions.values()] + [r.criteria for r in k.red_flags.values()]
    texts += [d.dose or "" for d in k.drugs.values()]
    assert not any("{threshold." in t or "{policy." in t for t in texts)
    ids = list(k.thresholds)
    assert len(ids) == len(set(ids))
    assert ("action.acute.hypertonic_rescue", "policy.hypertonic_saline_max_ml") in k.raw_placeholders


def test_changing_a_threshold_in_toml_changes_rule_and_text(tmp_path: Path) -> None:
    src = ROOT / "clinic" / "knowledge"
    for f in src.glob("*.toml"):
        (tmp_path / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    pol = tmp_path / "policy.toml"
    text = pol.read_text(encoding="utf-8")
    head = "[hypertonic_saline_max_ml]\n"
    i = text.index(head)
    j = text.index("value = 20.0", i)
    pol.write_text(text[:j] + "value = 18.0" + text[j + len("value = 20.0") :], encoding="utf-8")
    k2 = load_knowledge(tmp_path)
    assert k2.value("hypertonic_saline_max_ml") == 18.0
    assert "never more than 18 mL" in k2.actions["acute.hypertonic_rescue"].text
    from clinic.engine.drugs import check_order

    assert check_order("hypertonic_saline", 19, "mL", None, k2).hard_stop
    assert not check_order("hypertonic_saline", 19, "mL", None).hard_stop
    assert k2.content_hash != load_knowledge().content_hash


def test_bad_placeholder_fails_loudly(tmp_path: Path) -> None:
    src = ROOT / "clinic" / "knowledge"
    for f in src.glob("*.toml"):
        (tmp_path / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    acts = tmp_path / "actions.toml"
    acts.write_text(acts.read_text(encoding="utf-8").replace("{policy.ns_bolus_min_ml}", "{policy.nope}", 1))
    with pytest.raises(KnowledgeError, match="unknown placeholder"):
        load_knowledge(tmp_path)


def test_catalogue_lists_every_rule(k: Knowledge) -> None:
    md = render_markdown(k)
    for code in (*RED_FLAGS, *ACTIONS, *DRUGS):
        assert f"`{code}`" in md, code
    for tid in k.thresholds:
        assert f"`{tid}`" in md
    assert "https://pubmed.ncbi.nlm.nih.gov/28899601/" in md
    assert "HARD STOP" in md


def test_plan_dict_has_contract_shape() -> None:
    d = plan_to_dict(plan_for(labs={"potassium": 6.6}, meds=["baclofen", "foo"]))
    assert d["schema"] == "chairside.plan/1" and d["knowledge_version"] == "2026.11.2"
    for r in d["red_flags"]:
        assert {"code", "urgency", "title", "why", "actions", "sources"} <= set(r)
    steps = [s["code"] for s in d["steps"]]
    assert steps == [s for s in STEPS if s in steps]
    for s in d["steps"]:
        assert s["actions"]
        for a in s["actions"]:
            assert {"code", "text", "why", "who", "evidence", "sources"} <= set(a)
    assert [x["drug"] for x in d["drugs"]] == list(DRUGS)
    for x in d["drugs"]:
        assert {"drug", "verdict", "why", "dose", "sources"} <= set(x)
    assert {"uf_rate_ml_kg_h", "idwg_percent", "corrected_calcium_mmol_l", "labs_si"} <= set(d["derived"])
    assert d["warnings"] == ["unrecognised medication: foo"]


def test_plan_json_is_canonical_and_deterministic() -> None:
    case = make_case(labs={"magnesium": (1.2, "mg/dL")}, meds=["gabapentin", "baclofen", "sucralfate"])
    a, b = plan_to_json(evaluate(case)), plan_to_json(evaluate(json.loads(json.dumps(case))))
    assert a == b
    assert json.loads(a)["derived"]["labs_si"]["magnesium"] == 0.49
    # order of input lists does not matter
    case2 = make_case(labs={"magnesium": (1.2, "mg/dL")}, meds=["sucralfate", "baclofen", "gabapentin"])
    case2["labs"].reverse()
    assert plan_to_json(evaluate(case2)) == a
    assert "\n" not in a and ": " not in a[:50]


def test_derived_values_and_rounding() -> None:
    plan = plan_for(labs={"calcium_total": 2.1, "albumin": 30})
    assert plan.derived.corrected_calcium_mmol_l == 2.3  # 2.1 + 0.02 x (40 - 30)
    plan = plan_for(overrides={"dialysis.pre_weight_kg": 74.0, "dialysis.previous_post_weight_kg": 70.4})
    assert plan.derived.uf_rate_ml_kg_h == 14.3 and plan.derived.idwg_percent == 5.1


def test_errors_to_json_shape() -> None:
    with pytest.raises(CaseError) as exc:
        evaluate({"schema": "x", "patient": {"age_years": "old"}})
    out = json.loads(errors_to_json(exc.value.errors))
    assert set(out) == {"errors"} and len(out["errors"]) == 2


def test_evaluate_accepts_a_validated_case() -> None:
    from clinic.engine import validate_case

    case = validate_case(make_case())
    assert isinstance(evaluate(case), CarePlan)
    assert plan_to_json(evaluate(case)) == plan_to_json(evaluate(make_case()))


def _copy_knowledge(tmp_path: Path) -> Path:
    for f in (ROOT / "clinic" / "knowledge").glob("*.toml"):
        (tmp_path / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    return tmp_path


def test_integrity_catches_broken_knowledge(tmp_path: Path) -> None:
    d = _copy_knowledge(tmp_path)
    drugs = d / "drugs.toml"
    text = drugs.read_text(encoding="utf-8")
    text = text.replace(
        "[drug.cyclobenzaprine.order]",
        '[[drug.cyclobenzaprine.tighten]]\nfactor = "diabetes"\nverdict = "usable"\nwhy = "x"\n'
        '[[drug.cyclobenzaprine.tighten]]\nfactor = "made_up_factor"\nverdict = "avoid"\nwhy = "x"\n'
        "[drug.cyclobenzaprine.order]",
    )
    drugs.write_text(text, encoding="utf-8")
    acts = d / "actions.toml"
    a = acts.read_text(encoding="utf-8")
    start = a.index('[action."monitoring.ecg"]')
    acts.write_text(a[:start] + a[start:].replace('sources = ["R48"]', 'sources = ["R999"]'), encoding="utf-8")
    problems = "\n".join(check_integrity(load_knowledge(d)))
    assert "would loosen the verdict" in problems
    assert "'made_up_factor' has no implementation" in problems
    assert "source 'R999' is not in references.toml" in problems


def test_tampered_toml_cannot_unlock_a_hard_stop(tmp_path: Path) -> None:
    d = _copy_knowledge(tmp_path)
    drugs = d / "drugs.toml"
    text = drugs.read_text(encoding="utf-8")
    i = text.index("[drug.baclofen]")
    j = text.index("[drug.baclofen.order]")
    block = (
        text[i:j].replace('verdict = "avoid"', 'verdict = "usable"\ndose = "10 mg"').replace("hard_stop = true\n", "")
    )
    drugs.write_text(text[:i] + block + text[j:], encoding="utf-8")
    k2 = load_knowledge(d)
    assert any("baclofen" in p for p in check_integrity(k2))
    from clinic.engine.drugs import check_order

    assert evaluate(make_case(meds=["baclofen"]), k2).verdict("baclofen").verdict == "avoid"
    assert check_order("baclofen", 5, "mg", None, k2).hard_stop


def test_the_hypertonic_saline_cap_can_be_lowered_but_never_raised(tmp_path) -> None:
    import shutil

    from clinic.engine.integrity import check_integrity
    from clinic.engine.knowledge import DEFAULT_DIR, load_knowledge

    for value, ok in (("15.0", True), ("25.0", False)):
        target = tmp_path / value
        shutil.copytree(DEFAULT_DIR, target)
        policy = target / "policy.toml"
        text = policy.read_text(encoding="utf-8")
        start = text.index("[hypertonic_saline_max_ml]")
        head, tail = text[:start], text[start:]
        policy.write_text(head + tail.replace("value = 20.0", f"value = {value}", 1), encoding="utf-8")
        problems = check_integrity(load_knowledge(target))
        assert (not any("hypertonic_saline_max_ml" in p for p in problems)) is ok, problems
