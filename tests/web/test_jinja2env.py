"""The Jinja2 fragments (clinic/core/jinja2env.py): Django's date format in the local time zone, and every value
escaped, as in the Django templates around them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.template import Context, Template, engines
from django.test import Client, override_settings
from django.urls import reverse

from clinic.accounts.models import Unit, User
from clinic.core.jinja2env import date
from clinic.patients.models import Patient


@override_settings(TIME_ZONE="Europe/London", USE_TZ=True)
def test_date_is_djangos_date_filter_in_local_time() -> None:
    moment = dt.datetime(2026, 7, 1, 23, 30, tzinfo=dt.UTC)  # 00:30 on 2 July in London (summer time)
    django = Template('{{ moment|date:"j M Y H:i" }}').render(Context({"moment": moment}))
    assert date(moment, "j M Y H:i") == django == "2 Jul 2026 00:30"
    assert date(dt.date(1950, 3, 4), "j M Y") == "4 Mar 1950"
    assert date(None, "j M Y") == ""


def test_the_configured_engine_escapes_and_leaves_missing_keys_blank() -> None:
    env = engines["jinja2"].env  # as settings.TEMPLATES configures it, not a fresh environment
    rendered = env.from_string("{{ name }}|{{ plan.missing_key }}|{{ url('patients:list') }}").render(
        name="<b>Mary</b>", plan={}
    )
    assert rendered == f"&lt;b&gt;Mary&lt;/b&gt;||{reverse('patients:list')}"


def test_patient_list_rows_escape_names(
    nurse_a: User, unit_a: Unit, make_patient: Callable[..., Patient], client_for: Callable[[User], Client]
) -> None:
    patient = make_patient(unit_a, family_name="<script>alert(1)</script>")
    html = client_for(nurse_a).get(reverse("patients:list")).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert reverse("patients:detail", args=[patient.public_id]) in html
