"""POST /api/v1/evaluate, the careplan CLI and API tokens, per docs/contract.md."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from clinic.accounts.models import Membership, Role, Unit, User
from clinic.api.models import ApiToken
from clinic.audit.models import Action, AuditEvent
from clinic.engine import evaluate, plan_to_json
from tests.cases import typical_case

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def token(nurse_a: User) -> str:
    return ApiToken.issue(nurse_a, name="tests")[1]


def post(body: bytes | str, token: str | None = None, content_type: str = "application/json") -> object:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Client().post(reverse("api-evaluate"), data=body, content_type=content_type, headers=headers)


def test_evaluate_returns_the_plan(token: str) -> None:
    response = post(json.dumps(typical_case()), token)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    plan = response.json()
    assert plan["schema"] == "chairside.plan/1"
    verdicts = {d["drug"]: d["verdict"] for d in plan["drugs"]}
    assert verdicts["baclofen"] == "avoid" and verdicts["quinine"] == "avoid"
    assert response.content.decode() == plan_to_json(evaluate(typical_case()))


def test_no_token_is_401() -> None:
    response = post(json.dumps(typical_case()))
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_wrong_and_revoked_tokens_are_401(token: str) -> None:
    assert post(json.dumps(typical_case()), token + "x").status_code == 401
    ApiToken.objects.get().revoke()
    assert post(json.dumps(typical_case()), token).status_code == 401


def test_inactive_user_token_is_401(token: str, nurse_a: User) -> None:
    nurse_a.is_active = False
    nurse_a.save()
    assert post(json.dumps(typical_case()), token).status_code == 401


def test_token_of_a_user_removed_from_every_unit_is_401(token: str, nurse_a: User, unit_b: Unit) -> None:
    Membership.objects.create(user=nurse_a, unit=unit_b, role=Role.NURSE)  # two units: the token works once
    assert post(json.dumps(typical_case()), token).status_code == 200
    Membership.objects.filter(user=nurse_a, unit=unit_b).delete()
    assert post(json.dumps(typical_case()), token).status_code == 200  # still in unit A
    Membership.objects.filter(user=nurse_a).delete()
    assert post(json.dumps(typical_case()), token).status_code == 401
    Membership.objects.create(user=nurse_a, unit=unit_b, role=Role.NURSE)
    assert post(json.dumps(typical_case()), token).status_code == 200


def test_body_over_256_kib_is_413(token: str) -> None:
    case = typical_case()
    case["padding"] = "x" * (256 * 1024)
    assert post(json.dumps(case), token).status_code == 413


def test_invalid_case_is_400_with_every_error(token: str) -> None:
    case = typical_case()
    case["labs"][0]["unit"] = "furlongs"
    case["findings"]["speach_disturbance"] = True
    response = post(json.dumps(case), token)
    assert response.status_code == 400
    fields = {error["field"] for error in response.json()["errors"]}
    assert "labs[0].unit" in fields
    assert any("speach_disturbance" in field for field in fields)


@pytest.mark.parametrize("body", ["{not json", "", "[]", "null", '"text"', "\udcff"])
def test_malformed_bodies_are_400_not_500(token: str, body: str) -> None:
    response = post(body.encode("utf-8", "surrogateescape"), token)
    assert response.status_code == 400
    assert response.json()["errors"]


def test_wrong_content_type_is_415(token: str) -> None:
    assert post("a=b", token, content_type="application/x-www-form-urlencoded").status_code == 415


def test_get_is_405(token: str) -> None:
    assert Client().get(reverse("api-evaluate"), headers={"Authorization": f"Bearer {token}"}).status_code == 405


def test_each_call_is_audited_without_the_case_body(token: str, nurse_a: User) -> None:
    post(json.dumps(typical_case()), token)
    event = AuditEvent.objects.get(action=Action.API_EVALUATE)
    assert event.user == nurse_a
    assert event.detail["red_flags"] and all(code.startswith("redflag.") for code in event.detail["red_flags"])
    assert "sevelamer" not in json.dumps(event.detail) and "age_years" not in json.dumps(event.detail)


def test_cli_and_api_give_byte_identical_plans(token: str, tmp_path: Path) -> None:
    case_file = tmp_path / "case.json"
    case_file.write_text(json.dumps(typical_case()))
    out = io.StringIO()
    call_command("careplan", "evaluate", str(case_file), stdout=out)
    api = post(case_file.read_text(), token).content.decode()
    assert out.getvalue().rstrip("\n") == api


def test_cli_process_reads_stdin_and_exits_2_on_errors(tmp_path: Path) -> None:
    env_python = sys.executable
    good = subprocess.run(
        [env_python, "manage.py", "careplan", "evaluate", "-"],
        input=json.dumps(typical_case()),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["schema"] == "chairside.plan/1"
    bad = subprocess.run(
        [env_python, "manage.py", "careplan", "evaluate", "-"],
        input='{"schema": "chairside.case/1", "labs": [{"analyte": "potassium", "value": 0, "unit": "mmol/L"}]}',
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert bad.returncode == 2
    assert json.loads(bad.stdout)["errors"][0]["field"].startswith("labs[0]")
    missing = subprocess.run(
        [env_python, "manage.py", "careplan", "evaluate", str(tmp_path / "nope.json")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert missing.returncode == 2 and "Cannot read" in missing.stdout


def test_issue_api_token_command(nurse_a: User) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("issue_api_token", "nurse.a", "--name", "ehr", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    assert raw.startswith("chs_") and len(raw) > 30
    token = ApiToken.objects.get()
    assert token.key_hash != raw and raw not in token.key_hash and token.hint == raw[:10]
    assert AuditEvent.objects.filter(action=Action.TOKEN_ISSUE).exists()
    assert post(json.dumps(typical_case()), raw).status_code == 200


def test_knowledge_catalogue_command(tmp_path: Path) -> None:
    target = tmp_path / "catalogue.md"
    call_command("knowledge", "catalogue", "--out", str(target), stderr=io.StringIO())
    text = target.read_text()
    for code in ("redflag.aluminium", "acute.reduce_uf", "baclofen", "R1"):
        assert code in text


@pytest.mark.parametrize(
    "text", ['{"schema": "\\ud800"}', "[" * 100_000 + "]" * 100_000, '{"patient": {"age_years": ' + "9" * 5000 + "}}"]
)
def test_cli_refuses_unreadable_json_with_exit_2_not_a_traceback(text: str, tmp_path: Path) -> None:
    case_file = tmp_path / "case.json"
    case_file.write_text(text)
    done = subprocess.run(
        [sys.executable, "manage.py", "careplan", "evaluate", str(case_file)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 2, done.stderr[-500:]
    assert json.loads(done.stdout)["errors"][0]["message"]
    assert "Traceback" not in done.stderr
