"""Free-text medicine names (issue 17 point 5): brand and generic names with doses, salts, routes, frequencies
and spelling slips map to the coded drug, which then behaves exactly like the code; unknown names are listed."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from clinic.engine import Knowledge, evaluate, plan_to_dict
from clinic.engine.knowledge import DEFAULT_DIR
from clinic.engine.medicine_names import (
    check_medicine_names,
    load_index,
    match_medicine,
    match_medicines,
    normalise_medicine,
    search_medicines,
)

from .conftest import make_case

# (entry as a nurse or an EHR writes it, codes it must set)
ENTRIES = [
    ("Lioresal 10 mg tds", ("baclofen",)),
    ("Kemstro", ("baclofen",)),
    ("kemstro ODT 10mg", ("baclofen",)),
    ("BACLOFEN 10MG/5ML ORAL SOLUTION", ("baclofen",)),
    ("Lioresal (baclofen)", ("baclofen",)),
    ("baclofen intrathecal", ("baclofen",)),
    ("stopped baclofen last week", ("baclofen",)),  # a mention counts: stricter, never looser
    ("quinine sulfate 300 mg", ("quinine",)),
    ("Quinine Sulphate 200mg nocte", ("quinine",)),
    ("quinine bisulfate", ("quinine",)),
    ("Qualaquin", ("quinine",)),
    ("Qualaquin 324 mg capsule", ("quinine",)),
    ("quinidine", ("quinidine",)),
    ("quinidine gluconate 324 mg ER", ("quinidine",)),
    ("Sirdalud 2mg", ("tizanidine",)),
    ("Orvaten 5 mg pre-HD", ("midodrine",)),
    ("Lyrica CR 82.5mg", ("pregabalin",)),
    ("quinin 300mg", ("quinine",)),
    ("orphenadrine citrate 100 mg", ("orphenadrine",)),
    ("sodium citrate 4% lock", ("citrate",)),
    ("calcium carbonate 500 mg", ()),
    ("Neurontin 300mg after HD", ("gabapentin",)),
    ("gabapentin 100 mg post-dialysis", ("gabapentin",)),
    ("Lyrica 25mg od", ("pregabalin",)),
    ("Vitamin E 400 IU daily", ("vitamin_e",)),
    ("alpha-tocopherol", ("vitamin_e",)),
    ("vitamin_e", ("vitamin_e",)),
    ("ascorbic acid 250mg", ("vitamin_c",)),
    ("L-carnitine", ("levocarnitine",)),
    ("Carnitor 1 g IV", ("levocarnitine",)),
    ("ProAmatine 2.5 mg pre-HD", ("midodrine",)),
    ("magnesium oxide 400mg", ("magnesium_oral",)),
    ("milk of magnesia", ("magnesium_antacid_or_laxative",)),
    ("calcium acetate 667mg tds", ("calcium_acetate",)),
    ("cyclobenzaprine hcl 5 mg at bedtime", ("cyclobenzaprine",)),
    ("Flexeril", ("cyclobenzaprine",)),
    ("sertraline 50", ("ssri_or_snri",)),
    ("methadone 10 mg", ("opioid", "qt_prolonging_other")),
    ("frusemide 40mg od", ("diuretic",)),
    ("SSRI or SNRI antidepressant", ("ssri_or_snri",)),
    ("Zanaflex 4 mg", ("tizanidine",)),
    # spelling slips: one letter (short names) or two (long names) from exactly one listed name
    ("baclofan 5mg", ("baclofen",)),
    ("Baclophen", ("baclofen",)),
    ("qualaquine", ("quinine",)),
    ("gabapentine", ("gabapentin",)),
    # not recognised: listed as such, never guessed
    ("magnesium", ()),  # oral supplement or antacid? a person must say
    ("quinidne", ()),  # one slip from quinine AND from quinidine: ambiguous
    ("paracetamol 1 g qds", ()),
    ("10 mg tds", ()),
]


@pytest.mark.parametrize(("text", "codes"), ENTRIES)
def test_free_text_entry_maps_to_codes(text: str, codes: tuple[str, ...]) -> None:
    assert match_medicines(text).codes == codes
    assert match_medicine(text) == (codes[0] if len(codes) == 1 else None)


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("Lioresal 10 mg tds", "lioresal"),
        ("Quinine Sulfate 300MG PO nocte", "quinine sulfate"),
        ("Gabapentin 100mg capsule after HD", "gabapentin"),
        ("Baclofen 10mg/5ml oral solution", "baclofen"),
        ("Vitamin E 400 IU once a day", "vitamin e"),
        ("Crème", "creme"),
    ],
)
def test_normaliser_sets_aside_doses_routes_forms_frequencies(text: str, normalised: str) -> None:
    assert normalise_medicine(text) == normalised


def _table_lines() -> list[tuple[str, str]]:
    raw = tomllib.loads((Path(DEFAULT_DIR) / "medicine_names.toml").read_text(encoding="utf-8"))
    return [(code, entry["name"]) for code, entries in raw["names"].items() for entry in entries]


@pytest.mark.parametrize(("code", "name"), _table_lines())
def test_every_listed_name_matches_with_any_dose_case_and_route(code: str, name: str) -> None:
    for text in (name, name.upper(), f"{name} 10 mg tds", f"{name.lower()} 2.5mg PO od", f"{name} tablets nocte"):
        assert code in match_medicines(text).codes, text


def test_table_is_consistent_with_the_knowledge(k: Knowledge) -> None:
    assert check_medicine_names(k) == []
    assert load_index(k).lines, "the synonyms table is empty"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Lioresal 10 mg tds", "baclofen"),
        ("Kemstro", "baclofen"),
        ("quinine sulfate 300 mg", "quinine"),
        ("Qualaquin", "quinine"),
    ],
)
def test_a_matched_name_behaves_exactly_like_the_code(text: str, code: str) -> None:
    by_name = plan_to_dict(evaluate(make_case(meds=["sevelamer", text])))
    by_code = plan_to_dict(evaluate(make_case(meds=["sevelamer", code])))
    assert by_name == by_code
    verdict = next(d for d in by_name["drugs"] if d["drug"] == code)
    assert verdict["verdict"] == "avoid"
    assert not any(w.startswith("unrecognised medication") for w in by_name["warnings"])


def test_brand_baclofen_gets_the_hard_stop_and_taper_advice() -> None:
    plan = evaluate(make_case(meds=["Lioresal 10 mg tds"]))
    baclofen = plan.verdict("baclofen")
    assert baclofen.hard_stop and baclofen.verdict == "avoid" and baclofen.on_medication_list
    assert "medications.taper_baclofen" in plan.action_codes()


def test_spelling_slip_is_read_and_the_plan_says_so() -> None:
    plan = evaluate(make_case(meds=["baclofan 10mg"]))
    assert plan.verdict("baclofen").on_medication_list
    assert any("read as baclofen" in w for w in plan.warnings)


def test_unknown_names_are_listed_never_dropped() -> None:
    plan = evaluate(make_case(meds=["paracetamol 1 g qds", "magnesium", "Kemstro"]))
    assert "unrecognised medication: paracetamol 1 g qds" in plan.warnings
    assert "unrecognised medication: magnesium" in plan.warnings
    assert plan.verdict("baclofen").on_medication_list


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("lio", ("baclofen", "Lioresal (Baclofen)")),
        ("Kem", ("baclofen", "Kemstro (Baclofen)")),
        ("bac", ("baclofen", "Baclofen")),
        ("qualaq", ("quinine", "Qualaquin (Quinine)")),
        ("quinine sulfate 300 mg", ("quinine", "Quinine")),
        ("sertr", ("ssri_or_snri", "sertraline (SSRI or SNRI antidepressant)")),
        ("baclofan", ("baclofen", "Baclofen")),
    ],
)
def test_type_ahead_search(query: str, first: tuple[str, str]) -> None:
    results = search_medicines(query)
    assert results[0] == first
    assert len(results) == len(set(results))


def test_type_ahead_search_lists_both_quinine_and_quinidine() -> None:
    codes = [code for code, _ in search_medicines("qui")]
    assert "quinine" in codes and "quinidine" in codes
    assert search_medicines("") == [] and search_medicines("zzzz") == []


def test_catalogue_lists_the_names_per_code_with_sources(k: Knowledge) -> None:
    from clinic.engine.catalogue import render_markdown

    text = render_markdown(k).split("## 9. Medicine names (medicine_names.toml)")[1]
    baclofen = next(line for line in text.splitlines() if line.startswith("| `baclofen`"))
    assert "Lioresal (brand, [N1]" in baclofen and "Kemstro (brand" in baclofen
    quinine = next(line for line in text.splitlines() if line.startswith("| `quinine`"))
    assert "Qualaquin (brand, [R49]" in quinine
