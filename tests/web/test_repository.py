"""The repository stands alone and keeps its habits: no file points outside the tree, third-party test data is
inside it unchanged with its licence, the documented contract matches the engine, no migration is pending."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

from clinic.engine import contract, evaluate, load_knowledge, plan_to_dict
from clinic.engine.knowledge import fmt_number
from clinic.engine.validation import DIALYSIS, EPISODE, PATIENT, VITALS, Bool, Enum, EnumList, Num, Spec
from tests.web.test_interop_import import SYNTHEA, SYNTHEA_FILES

REPO = Path(__file__).resolve().parents[2]
# Built in pieces so that this file does not match itself.
_SIBLING = "sha" + "red"  # the read-only folder beside a developer's checkout, which a clone does not have
OUTSIDE = re.compile(r"\.\./" + _SIBLING + r"|\b" + _SIBLING + r"/(fhir|clinical|contract|seeds|docs|hooks)\b")
CONTRACT_DOC = REPO / "docs" / "contract.md"
CLINICAL_DOC = REPO / "docs" / "clinical-basis.md"


def repository_paths() -> list[Path]:
    """Tracked paths plus new ones not ignored (so a file about to be committed is checked too)."""
    if (REPO / ".git").exists():
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=REPO,
            capture_output=True,
            check=True,
        ).stdout.decode()
        return [REPO / name for name in listed.split("\0") if name]
    skip = {".git", ".venv", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis"}
    return [p for p in REPO.rglob("*") if not skip & set(p.relative_to(REPO).parts)]


def repository_files() -> list[Path]:
    return [path for path in repository_paths() if path.is_file() and not path.is_symlink()]


def test_no_symlink_in_the_repository_leads_outside_it() -> None:
    """A committed link to a path on the machine it was made on (a virtualenv, say) is dangling in every clone."""
    outside = [
        f"{path.relative_to(REPO)} -> {os.readlink(path)}"
        for path in repository_paths()
        if path.is_symlink() and not (path.parent / os.readlink(path)).resolve().is_relative_to(REPO.resolve())
    ]
    assert not outside, outside


def test_no_file_points_outside_the_repository() -> None:
    """Code, docs, tests and the Makefile must not read or cite the working directory the project was built in."""
    offenders = []
    files = repository_files()
    assert len(files) > 100  # the listing itself worked
    for path in files:
        if path.suffix in {".png", ".pdf", ".woff", ".woff2", ".ico", ".sqlite3", ".db"}:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()[:100]}")
    assert not offenders, "\n".join(offenders)


def test_the_pattern_catches_what_it_should() -> None:
    shared = "sha" + "red"
    assert OUTSIDE.search(f"SYNTHEA = REPO / '../{shared}/fhir/synthea-esrd'")
    assert OUTSIDE.search(f"see {shared}/contract/README.md")
    assert not OUTSIDE.search("a sessions cache shared by workers")


def test_synthea_fixture_is_inside_the_repository_unchanged_and_licensed() -> None:
    assert SYNTHEA.resolve().is_relative_to(REPO.resolve())
    readme = (SYNTHEA / "README.md").read_text(encoding="utf-8")
    sums = {name: digest for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+\.ndjson)$", readme, re.MULTILINE)}
    assert sorted(sums) == sorted(f"{name}.ndjson" for name in SYNTHEA_FILES)
    for name, expected in sums.items():
        path = SYNTHEA / name
        assert not path.is_symlink() and path.resolve().is_relative_to(REPO.resolve()), name
        assert hashlib.sha256(path.read_bytes()).hexdigest() == expected, f"{name} differs from the source"
    licence = (SYNTHEA / "LICENSE.md").read_text(encoding="utf-8")
    assert "CC0" in licence and "sample-bulk-fhir-datasets" in licence


@pytest.mark.django_db
def test_no_model_change_is_missing_a_migration() -> None:
    try:
        call_command("makemigrations", "--check", "--dry-run", verbosity=0)
    except SystemExit as exc:  # --check exits 1 when a migration would be written
        pytest.fail(f"a model changed without a migration (makemigrations --check exited {exc.code})")


# ----------------------------------------------------------------------------------------- docs/contract.md


def spec_row(key: str, spec: Spec) -> str:
    """The table row docs/contract.md must hold for one case field, rendered from the validation spec."""
    if isinstance(spec, Num):
        unit = f" {spec.unit}" if spec.unit else ""
        accepts = f"{'whole ' if spec.integer else ''}number {fmt_number(spec.lo)}–{fmt_number(spec.hi)}{unit}"
    elif isinstance(spec, Bool):
        accepts = "true / false"
    elif isinstance(spec, Enum):
        accepts = "one of " + ", ".join(f"`{value}`" for value in spec.values)
    elif isinstance(spec, EnumList) and spec.values:
        accepts = "list of " + ", ".join(f"`{value}`" for value in spec.values)
    else:
        accepts = "list of condition codes"
    return f"| `{key}` | {accepts}"


@pytest.mark.parametrize(
    "section", [PATIENT, EPISODE, VITALS, DIALYSIS], ids=["patient", "episode", "vitals", "dialysis"]
)
def test_contract_doc_lists_every_case_field_with_the_bounds_the_engine_applies(section: dict[str, Spec]) -> None:
    doc = CONTRACT_DOC.read_text(encoding="utf-8")
    stale = [spec_row(key, spec) for key, spec in section.items() if spec_row(key, spec) not in doc]
    assert not stale, "docs/contract.md is out of date; expected rows starting:\n" + "\n".join(stale)


def test_contract_doc_lists_every_analyte_with_its_units_and_range() -> None:
    doc = CONTRACT_DOC.read_text(encoding="utf-8")
    for code, analyte in load_knowledge().analytes.items():
        units = ", ".join(dict.fromkeys(unit.unit for unit in analyte.units))
        row = (
            f"| `{code}` | {analyte.si_unit} | {units} | "
            f"{fmt_number(analyte.plausible_min)}–{fmt_number(analyte.plausible_max)} |"
        )
        assert row in doc, f"docs/contract.md is out of date: expected {row}"


@pytest.mark.parametrize(
    "codes",
    [
        contract.FINDINGS,
        contract.CONDITIONS,
        contract.MEDICATIONS,
        contract.RED_FLAGS,
        contract.STEPS,
        contract.ACTIONS,
        contract.DRUGS,
        contract.URGENCIES,
        contract.VERDICTS,
        contract.SEXES,
        contract.LAB_WHEN,
    ],
    ids=lambda codes: codes[0],
)
def test_contract_doc_names_every_stable_code(codes: tuple[str, ...]) -> None:
    doc = CONTRACT_DOC.read_text(encoding="utf-8")
    assert not [code for code in codes if f"`{code}`" not in doc]
    assert contract.CASE_SCHEMA in doc and contract.PLAN_SCHEMA in doc


def test_contract_doc_names_the_codes_the_knowledge_adds_to_the_stable_ones() -> None:
    doc = CONTRACT_DOC.read_text(encoding="utf-8")
    k = load_knowledge()
    added = (set(k.actions) - set(contract.ACTIONS)) | (set(k.red_flags) - set(contract.RED_FLAGS))
    assert not [code for code in sorted(added) if f"`{code}`" not in doc]


def test_contract_doc_example_case_is_valid_and_gives_the_plan_shown() -> None:
    doc = CONTRACT_DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```json\n(.*?)\n```", doc, re.DOTALL)
    case = json.loads(blocks[0])
    plan = plan_to_dict(evaluate(case))
    shown = blocks[1]
    assert all(f'"code": "{flag["code"]}"' in shown for flag in plan["red_flags"])
    assert f'"uf_rate_ml_kg_h": {plan["derived"]["uf_rate_ml_kg_h"]}' in shown
    assert f'"idwg_band": "{plan["derived"]["idwg_band"]}"' in shown


# ---------------------------------------------------------------------------------- docs/clinical-basis.md


def test_clinical_basis_cites_only_reference_ids_that_exist() -> None:
    text = CLINICAL_DOC.read_text(encoding="utf-8")
    cited = set(re.findall(r"\b([RSF]\d+b?)\b", text))
    assert len(cited) > 40
    assert not cited - set(load_knowledge().references)


def test_clinical_basis_points_only_at_files_that_exist() -> None:
    text = CLINICAL_DOC.read_text(encoding="utf-8")
    paths = set(re.findall(r"`((?:clinic|docs|tests)/[\w./-]+)`", text))
    assert paths and not [p for p in paths if not (REPO / p).exists()]


# ------------------------------------------------------------------------------------------------ code shape

VIEW_MAX_LINES = 30


def long_functions(source: str, limit: int = VIEW_MAX_LINES) -> list[tuple[str, int]]:
    """The functions (views and their helpers, methods included) longer than ``limit`` lines, from ``def`` to the
    last line of the body (decorators not counted)."""
    return [
        (node.name, node.end_lineno - node.lineno + 1)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > limit
    ]


def view_modules() -> list[Path]:
    return sorted(p for p in (REPO / "clinic").rglob("*.py") if p.name == "views.py" or p.name.endswith("_views.py"))


# Known exceptions, each with its reason; the test fails when one is no longer needed, so the list cannot rot.
LONG_VIEW_EXCEPTIONS: set[str] = set()


def test_views_are_thin() -> None:
    """Views parse the request, call a service and render: every function in a views module fits in 30 lines."""
    modules = view_modules()
    assert len(modules) >= 8, modules
    too_long = {
        f"{p.relative_to(REPO)}: {name}"
        for p in modules
        for name, lines in long_functions(p.read_text(encoding="utf-8"))
    }
    assert not too_long - LONG_VIEW_EXCEPTIONS, sorted(too_long - LONG_VIEW_EXCEPTIONS)
    stale = LONG_VIEW_EXCEPTIONS - too_long
    assert not stale, f"no longer too long, drop the exception: {stale}"


def test_long_functions_finds_a_long_view() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(VIEW_MAX_LINES))
    assert long_functions(f"def view(request):\n{body}\n    return x0\n") == [("view", VIEW_MAX_LINES + 2)]
    assert long_functions("@decorated\ndef view(request):\n    return 1\n") == []


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")


def private_uses(path: Path, source: str, own: set[str]) -> list[str]:
    """Where a module reaches into another of the project's modules for an underscore-private name: ``from x
    import _name`` or ``x._name`` with ``x`` an imported project module. ``own`` are the project's module names."""
    tree = ast.parse(source)
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else module_name(path)
    modules: dict[str, str] = {}  # local name -> project module it stands for
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            for alias in node.names:
                if f"{base}.{alias.name}" in own:
                    modules[alias.asname or alias.name] = f"{base}.{alias.name}"
                elif base in own and alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{path.relative_to(REPO)}:{node.lineno}: from {base} import {alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname and alias.name in own:
                    modules[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
        ):
            found.append(f"{path.relative_to(REPO)}:{node.lineno}: {modules[node.value.id]}.{node.attr}")
    return found


def python_files() -> list[Path]:
    return sorted(p for top in ("clinic", "tests", "bench") for p in (REPO / top).rglob("*.py"))


def test_no_module_uses_another_modules_private_names() -> None:
    """A name a module marks private (a leading underscore) stays in that module: one that others need is public
    (or lives where it is used), so the split modules say what they offer."""
    files = python_files()
    own = {module_name(p) for p in files}
    found = [use for p in files for use in private_uses(p, p.read_text(encoding="utf-8"), own)]
    assert not found, found


def test_private_uses_finds_both_forms() -> None:
    here = REPO / "clinic" / "workups" / "example.py"
    own = {"clinic.workups.forms_base", "clinic.engine.field_checks", "clinic.workups.services"}
    source = (
        "from .forms_base import _bool_to_choice, public\n"
        "from clinic.engine.field_checks import _short\n"
        "from clinic.workups import services\n"
        "services._case_problems()\n"
        "from clinic.engine.field_checks import __doc__, short\n"
    )
    assert [use.split(": ", 1)[1] for use in private_uses(here, source, own)] == [
        "from clinic.workups.forms_base import _bool_to_choice",
        "from clinic.engine.field_checks import _short",
        "clinic.workups.services._case_problems",
    ]
