"""Hypothesis strategies and helpers shared by the fuzz tests (issue 6: bad input).

Form data is generated from the form classes themselves, so a field added later is fuzzed too. Each form gets a
mix of: a known-good submission with a few fields replaced or removed, and a fully random one. Values are valid
choices and in-range numbers, or nasty ones: wrong types, special numbers, unicode (RTL, emoji, NUL), 100 KB.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from django import forms
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("CHAIRSIDE_FUZZ_EXAMPLES", "500"))

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)

HUGE = "x" * 100_000  # 100 KB in one field
HUGE_UNICODE = "\u202e\U0001f489é" * 20_000  # RTL override, emoji, accents: ~140 KB of UTF-8

# Values that have broken form and JSON handling somewhere before: special numbers, locale formats, digits that
# Python's float() accepts but people do not type, NUL bytes, markup, RTL text, emoji.
NASTY_NUMBERS = [
    "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "-Infinity", "-0", "-0.0", "+0", "0", "1e309", "-1e309",
    "1e-400", "1e308", "1,5", "1.5.5", "1_000", "0x1A", "0b1", "1e", ".", "-", "+", "٣", "１２", "½", "𝟗", "²",
    "9" * 400, "-" + "9" * 40, "9" * 5000, "2147483648", "9223372036854775808", "-9223372036854775809",
    " 5 ", "5\n", "\t7", "7 kg", "3.0000000000000001", "1e3", "1E3", "0.1e-5", "00012", "-1", "-0.5",
]  # fmt: skip
NASTY_TEXT = [
    "", " ", "\x00", "a\x00b", "\x00" * 10, "\r\n", "\t", "true", "false", "null", "None", "[]", "{}", "[1, 2]",
    '{"a": 1}', "<script>alert(1)</script>", "' OR '1'='1' --", "%s%s%n", "{{ form }}", "{% debug %}",
    "../../etc/passwd", "\u202eevil\u202c", "مرحبا بالعالم", "שלום", "😀🩺💉", "\ufeff", "\u200b", "e\u0301",
    "Ω≈ç√∫", "ǅ", "İ", "ß", "\U0010fffd", "\x7f", "\x1b[31m", "A" * 41, "A" * 101, "A" * 151, "A" * 501,
    HUGE, HUGE_UNICODE,
]  # fmt: skip
NASTY_DATES = [
    "2023-02-30", "2023-13-01", "0000-01-01", "0001-01-01", "9999-12-31", "10000-01-01", "1899-12-31",
    "1900-01-01", "2999-01-01", "17/05/1960", "05/17/1960", "1960-5-17", "1960-05-17T10:00", "-1960-05-17",
    "today", "1960-05-17\x00", "1e309", "1960-05-17 25:61", "2024-06-01T24:00", "2024-06-01 10:00:00+14:00",
    "2024-06-01T10:00:00-12:00", "2024-03-31 01:30", "9999-12-31T23:59:59.999999",
    "1901-01-01", "1905-06-30", "1906-12-31", "1907-01-01",  # ages around the engine's oldest (120)
]  # fmt: skip

# Surrogates cannot be encoded as UTF-8, so a form post cannot carry them; everything else can.
SENDABLE = st.characters(exclude_categories=["Cs"])
nasty_text = st.sampled_from(NASTY_TEXT) | st.text(SENDABLE, max_size=40)
nasty_number = st.sampled_from(NASTY_NUMBERS)
nasty_date = st.sampled_from(NASTY_DATES)
nasty = nasty_text | nasty_number | nasty_date

FormValue = str | list[str]


def _number_strings(lo: float | None, hi: float | None, integer: bool) -> st.SearchStrategy[str]:
    lo_ = lo if lo is not None else -1e6
    hi_ = hi if hi is not None else 1e6
    if integer:
        inside: st.SearchStrategy[Any] = st.integers(int(lo_), int(hi_))
        outside: st.SearchStrategy[Any] = st.integers(int(hi_) + 1, int(hi_) + 10**6) | st.integers(
            int(lo_) - 10**6, int(lo_) - 1
        )
    else:
        inside = st.floats(lo_, hi_, allow_nan=False)
        outside = st.floats(hi_, hi_ * 10 + 10, exclude_min=True) | st.floats(-1e9, lo_, exclude_max=True)
    formatted = st.sampled_from([str, repr, lambda v: f"{v:g}", lambda v: f"{v:.1f}", lambda v: f"{v:e}"])
    return st.builds(lambda fmt, v: fmt(v), formatted, inside | outside)


def _choice_values(field: forms.Field) -> list[str]:
    values = []
    for value, label in getattr(field, "choices", []):
        if isinstance(label, list | tuple):  # option groups
            values.extend(str(v) for v, _ in label)
        else:
            values.append(str(getattr(value, "value", value)))
    return values


def field_values(field: forms.Field) -> st.SearchStrategy[FormValue]:
    """Valid and invalid values for one form field, as a browser would send them (text, or a list of text)."""
    if isinstance(field, forms.MultipleChoiceField):
        choices = _choice_values(field) or ["x"]
        item = st.sampled_from(choices) | nasty
        return st.lists(st.sampled_from(choices), max_size=8) | st.lists(item, max_size=5) | nasty
    if isinstance(field, forms.ChoiceField | forms.ModelChoiceField):
        choices = _choice_values(field) or [""]
        return st.sampled_from(choices) | st.sampled_from(choices) | nasty | st.lists(st.sampled_from(choices))
    if isinstance(field, forms.IntegerField | forms.FloatField | forms.DecimalField):
        integer = isinstance(field, forms.IntegerField)
        return (
            _number_strings(getattr(field, "min_value", None), getattr(field, "max_value", None), integer)
            | nasty_number
            | nasty_text
        )
    if isinstance(field, forms.DateTimeField):
        moments = st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2100, 1, 1))
        return st.builds(lambda m, sep: m.strftime(f"%Y-%m-%d{sep}%H:%M"), moments, st.sampled_from(["T", " "])) | (
            nasty_date | nasty_text
        )
    if isinstance(field, forms.DateField):
        return st.builds(lambda d: d.isoformat(), st.dates(dt.date(1850, 1, 1), dt.date(2100, 1, 1))) | (
            nasty_date | nasty_text
        )
    return nasty_text | st.text(SENDABLE, max_size=200)


@st.composite
def form_data(
    draw: st.DrawFn, form: forms.Form, good: Mapping[str, FormValue], extra: Mapping[str, FormValue] | None = None
) -> dict[str, FormValue]:
    """A submission for ``form``: the good one with some fields replaced, removed or added, or a random one."""
    fields = dict(form.fields)
    names = sorted(fields)
    if draw(st.booleans()):
        data: dict[str, FormValue] = dict(good)
        for name in draw(st.lists(st.sampled_from(names), max_size=4, unique=True)):
            data[name] = draw(field_values(fields[name]))
        for name in draw(st.lists(st.sampled_from(sorted(data) or ["-"]), max_size=2, unique=True)):
            data.pop(name, None)
    else:
        chosen = draw(st.lists(st.sampled_from(names), max_size=min(len(names), 25), unique=True))
        data = {name: draw(field_values(fields[name])) for name in chosen}
    if draw(st.integers(0, 9)) == 0:  # a field the form does not know
        data[draw(st.sampled_from(["unknown", "__all__", "id", "pk", "csrfmiddlewaretoken", "Ω"]))] = draw(nasty)
    data.update(extra or {})
    return limit_size(data)


def limit_size(data: dict[str, FormValue], budget: int = 400_000) -> dict[str, FormValue]:
    """Keep one huge value per submission: the request stays under DATA_UPLOAD_MAX_MEMORY_SIZE (which Django
    rejects as a whole, before any form sees it)."""
    used = 0
    out: dict[str, FormValue] = {}
    for key, value in data.items():
        size = sum(len(v.encode()) for v in value) if isinstance(value, list) else len(value.encode())
        if used + size > budget:
            value = "x"
            size = 1
        used += size
        out[key] = value
    return out


def encodings() -> st.SearchStrategy[str]:
    """How the browser encodes the post: multipart, urlencoded, or urlencoded with bytes that are not UTF-8."""
    return st.sampled_from(["multipart", "urlencoded", "broken-utf8"])


def post_form(
    client: Client, url: str, data: Mapping[str, FormValue], encoding: str = "multipart", **headers: str
) -> Any:
    if encoding == "multipart":
        return client.post(url, data, headers=headers or None)
    pairs = [(k, v) for k, values in data.items() for v in (values if isinstance(values, list) else [values])]
    body = "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs)
    if encoding == "broken-utf8":
        body += "&" + "&".join(f"{quote(k)}=%FF%FE%ED%A0%80%C0%AF" for k, _ in pairs[:1]) if pairs else "junk=%FF"
    return client.post(url, body, content_type="application/x-www-form-urlencoded", headers=headers or None)


@contextmanager
def rolled_back() -> Iterator[None]:
    """Run one example inside a savepoint and undo it: every example starts from the same saved state, and a
    database error in one example (which would fail the test anyway) does not poison the next."""
    sid = transaction.savepoint_create()
    try:
        yield
    finally:
        transaction.savepoint_rollback(sid)


def assert_named_errors(form: forms.BaseForm) -> None:
    """A rejected form says which field is wrong: its errors are keyed by real field names (or __all__)."""
    assert form.is_bound, "the rejected page shows an unbound form"
    assert form.errors, "rejected, but the form has no errors: the user cannot tell what to fix"
    unknown = set(form.errors) - set(form.fields) - {"__all__"}
    assert not unknown, f"errors keyed by names that are not fields: {unknown}"
    for name, messages in form.errors.items():
        assert all(str(m).strip() for m in messages), f"an empty error message on {name}"


def context_form(response: Any, key: str = "form") -> forms.BaseForm:
    assert response.context is not None, "no template context on a rejected submission"
    form = response.context[key]
    assert isinstance(form, forms.BaseForm), type(form)
    return form


def no_server_error(response: Any) -> None:
    assert response.status_code < 500, f"server error {response.status_code}"


Check = Callable[[Any], None]
