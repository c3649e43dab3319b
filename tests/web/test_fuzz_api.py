"""Property-based tests for POST /api/v1/evaluate (issue 6: bad input; docs/contract.md "Errors").

CHAIRSIDE_FUZZ_EXAMPLES (default 500) generated bodies: contract cases with values replaced by wrong types,
special and out-of-range numbers, unicode keys and values (RTL, emoji, NUL, lone surrogates), keys removed or
added, duplicate keys, and bodies that are not JSON at all (truncated, invalid UTF-8, deeply nested, huge numbers,
wrong content type, over the size limit). Properties: never a server error; every answer is JSON; a 400 lists
errors that each name their field, except a top-level parse error (field "", with a message); nothing about the
case is stored.
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from clinic.accounts.models import User
from clinic.api.models import ApiToken
from clinic.engine import evaluate, plan_to_json
from tests.cases import baseline_case, typical_case
from tests.web.fuzz import FUZZ, HUGE, NASTY_TEXT, no_server_error, rolled_back

pytestmark = pytest.mark.django_db

CASES = [typical_case(), baseline_case()]
STATUSES = {200, 400, 401, 413, 415}

# JSON values of every type, including ones json.dumps writes but strict parsers refuse (NaN, Infinity).
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(10**30), 10**30),
    st.sampled_from([0, -0.0, 1e308, -1e308, 5e-324, math.nan, math.inf, -math.inf, 2**63, -(2**63) - 1]),
    st.sampled_from([10**309, -(10**309), 10**400, 2**1100]),  # integers no float can hold (OverflowError)
    st.floats(),
    st.text(max_size=30),  # may hold lone surrogates: sent as \ud800 escapes
    st.sampled_from([t for t in NASTY_TEXT if len(t) < 1000]),
    st.sampled_from(["chairside.case/1", "mg/dL", "mmol/L", "magnesium", "during_dialysis", "legs", "yes", "1,5"]),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(_paths(child, (*prefix, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(_paths(child, (*prefix, index)))
    return found


@st.composite
def mutated_cases(draw: st.DrawFn) -> Any:
    """A contract case with a few values replaced, keys removed, or keys added."""
    case = copy.deepcopy(draw(st.sampled_from(CASES)))
    for _ in range(draw(st.integers(0, 4))):
        paths = _paths(case)
        path = draw(st.sampled_from(paths))
        if not path:
            if draw(st.integers(0, 9)) == 0:
                return draw(json_values)  # the whole case replaced (a list, a number, null...)
            continue
        *parents, last = path
        container = case
        for step in parents:
            container = container[step]
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "replace":
            container[last] = draw(json_values)
        elif action == "delete":
            del container[last]
        elif isinstance(container, dict):
            container[draw(st.text(max_size=12) | st.sampled_from(["speach_disturbance", "", "Ω", "\ud800"]))] = draw(
                json_values
            )
        else:
            container.append(draw(json_values))
    return case


@st.composite
def encoded(draw: st.DrawFn, value: Any) -> bytes:
    """Serialise a value as a client might: ASCII-escaped or raw UTF-8 (lone surrogates as invalid bytes), with
    NaN/Infinity tokens, sometimes with a duplicated key."""
    text = json.dumps(value, ensure_ascii=draw(st.booleans()), allow_nan=True)
    if isinstance(value, dict) and value and draw(st.integers(0, 4)) == 0:
        key = draw(st.sampled_from(sorted(map(str, value))))
        duplicate = json.dumps({key: draw(json_values)}, allow_nan=True)[1:-1]
        text = "{" + duplicate + ", " + text[1:] if draw(st.booleans()) else text[:-1] + ", " + duplicate + "}"
    return text.encode("utf-8", "surrogatepass")


def malformed() -> st.SearchStrategy[bytes]:
    good = json.dumps(typical_case()).encode()
    return st.one_of(
        st.integers(0, len(good) - 1).map(lambda n: good[:n]),  # truncated
        st.binary(max_size=200),
        st.sampled_from(
            [
                b"",
                b" ",
                b"\n\t ",
                b"null",
                b"[]",
                b"{}",
                b"0",
                b'"text"',
                b"{'schema': 'chairside.case/1'}",
                b'{"schema": "chairside.case/1",}',
                b"\xef\xbb\xbf" + good,  # UTF-8 byte-order mark
                good.replace(b'"schema"', b'"sch\\u0000ema"'),
                good.replace(b"180", b"1" + b"0" * 5000),  # an integer too long for int()
                good.replace(b"180", b"1e999999"),
                good.replace(b"180", b"1" + b"0" * 400),  # an integer beyond any float
                good.replace(b"1.2", b"-1" + b"0" * 309),  # the lab value
                good.replace(b"180", b"-0"),
                b"[" * 100_000 + b"]" * 100_000,  # nesting deeper than the parser's recursion limit
                b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
                b'{"episode": ' * 3000 + b"{}" + b"}" * 3000,
                good + b"garbage",
                good + b"\x00",
                good.decode().encode("utf-16"),
                good.decode().encode("utf-32"),
                json.dumps({"padding": HUGE * 3}).encode(),  # over the 256 KiB limit
                b'{"schema": "chairside.case/1", "patient": {"age_years": NaN}}',
                b'{"schema": "chairside.case/1", "patient": {"age_years": Infinity}}',
                b'{"schema": "chairside.case/1", "patient": {"age_years": 1e309}}',
                b'{"schema": "\xff\xfe"}',
                b'{"schema": "\xed\xa0\x80"}',  # an encoded surrogate: not valid UTF-8
                b'{"\\ud800": 1}',
                b'{"schema": "chairside.case/1", "findings": {"\\udfff": true}}',
            ]
        ),
    )


def bodies() -> st.SearchStrategy[bytes]:
    return st.one_of(mutated_cases().flatmap(encoded), mutated_cases().flatmap(encoded), malformed())


def parsed(body: bytes) -> tuple[bool, Any]:
    """Whether the body is JSON text (valid UTF-8, parseable, and no lone surrogate escapes), and its value."""
    try:
        value = json.loads(body.decode("utf-8"))
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except Exception:  # anything the server cannot read as JSON text either: a top-level parse error
        return False, None
    return True, value


@pytest.fixture
def token(nurse_a: User) -> str:
    return ApiToken.issue(nurse_a, name="fuzz")[1]


def test_fuzz_api_evaluate(token: str) -> None:
    url = reverse("api-evaluate")
    client = Client()
    content_types = st.sampled_from(["application/json"] * 6 + ["application/json; charset=utf-8", "text/plain", ""])
    auth = st.sampled_from([f"Bearer {token}"] * 12 + [f"bearer  {token} ", "Bearer", f"Token {token}", "", "Bearer x"])

    @FUZZ
    @given(body=bodies(), content_type=content_types, authorization=auth)
    def run(body: bytes, content_type: str, authorization: str) -> None:
        headers = {"Authorization": authorization} if authorization else {}
        with rolled_back():
            response = client.post(url, data=body, content_type=content_type, headers=headers)
            no_server_error(response)
            assert response.status_code in STATUSES, response.status_code
            assert response["Content-Type"] == "application/json"
            answer = json.loads(response.content.decode("utf-8"))
            if response.status_code == 200:
                assert answer["schema"] == "chairside.plan/1"
                ok, case = parsed(body)
                assert ok and isinstance(case, dict)
                assert response.content.decode() == plan_to_json(evaluate(case)), "the API and the engine agree"
                return
            errors = answer["errors"]
            assert isinstance(errors, list) and errors, "a rejection says what is wrong"
            for error in errors:
                assert set(error) == {"field", "message"}
                assert isinstance(error["message"], str) and error["message"].strip()
                assert isinstance(error["field"], str)
            if response.status_code == 400:
                ok, case = parsed(body)
                if ok and isinstance(case, dict) and len(body) <= settings.API_MAX_BODY_BYTES:
                    unnamed = [e for e in errors if not e["field"]]
                    assert not unnamed, f"errors without a field for a JSON object body: {unnamed}"
                else:
                    assert len(errors) == 1 and errors[0]["field"] in {"", "case"}, errors

    run()


def test_fuzz_api_never_stores_the_case(token: str) -> None:
    """The call is audited (who, when, codes) but the case itself is not: no field value reaches the audit log."""
    from clinic.audit.models import AuditEvent

    client = Client()
    marker = "Zebulon-7f3a"
    case = typical_case()
    case["medications"] = [*case["medications"], marker]
    client.post(reverse("api-evaluate"), data=json.dumps(case), content_type="application/json",
                headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert AuditEvent.objects.exists()
    assert marker not in json.dumps([event.detail for event in AuditEvent.objects.all()])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"schema": "chairside.case/1", "\\ud800": 1}', ""),  # a lone surrogate used to be a 500 (encode)
        (b'{"schema": "chairside.case/1", "": 1}', '""'),  # an empty key used to give an error with no field
        (b'{"schema": "chairside.case/1", "patient": {"": 1}}', 'patient.""'),
        (b"[" * 100_000 + b"]" * 100_000, ""),  # RecursionError in json.loads used to be a 500
        (b'{"schema": "chairside.case/1", "vitals": {"heart_rate_bpm": 1' + b"0" * 5000 + b"}}", ""),  # int limit
    ],
    ids=["lone-surrogate", "empty-key", "empty-nested-key", "deep-nesting", "long-integer"],
)
def test_regressions_found_by_fuzzing(token: str, body: bytes, field: str) -> None:
    response = Client().post(
        reverse("api-evaluate"),
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert field in {error["field"] for error in errors}, errors
    assert all(error["message"] for error in errors)


def _numeric_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for key, child in value.items() for p in _numeric_paths(child, (*prefix, key))]
    if isinstance(value, list):
        return [p for index, child in enumerate(value) for p in _numeric_paths(child, (*prefix, index))]
    return [prefix] if isinstance(value, int | float) and not isinstance(value, bool) else []


NUMERIC_PATHS = _numeric_paths(typical_case())
HUGE_NUMBERS = ["1" + "0" * 400, "-1" + "0" * 400, "1e309", "-1e309", str(2**1100)]


def _field(path: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in path).replace(".0.", "[0].")


@pytest.mark.parametrize("number", HUGE_NUMBERS, ids=["1e400-int", "-1e400-int", "1e309", "-1e309", "2^1100"])
def test_numbers_beyond_a_float_are_a_400_naming_each_field(token: str, number: str) -> None:
    """Integers too large for a float were an OverflowError (a 500) in every numeric field of the contract."""
    assert len(NUMERIC_PATHS) >= 27
    failures = []
    for path in NUMERIC_PATHS:
        case = copy.deepcopy(typical_case())
        container = case
        for step in path[:-1]:
            container = container[step]
        container[path[-1]] = "__N__"
        body = json.dumps(case).replace('"__N__"', number)
        response = Client().post(
            reverse("api-evaluate"), data=body, content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )  # fmt: skip
        fields = {e["field"] for e in response.json()["errors"]} if response.status_code == 400 else set()
        if response.status_code != 400 or _field(path) not in fields:
            failures.append((_field(path), response.status_code, fields))
    assert not failures, failures
