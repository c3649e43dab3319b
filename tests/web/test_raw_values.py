"""No raw values anywhere: every page a person can open (and every htmx fragment) is read as text, and no internal
key, Python value or repr, or meaningless ".0" may appear in it. The ward (tests/web/pages.py) is rich on purpose:
labs on file in both unit systems, Lioresal and free-text medicines, missing inputs, two emergencies, a workup in
every state. Also: every URL of the URLconf that answers a GET with a page is read the same way, and each lab unit
is offered once in every unit select."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client

from clinic.accounts.models import LabUnitSystem
from clinic.engine.knowledge_types import normalise_unit
from tests.web.pages import Ward, build_ward, pages
from tests.web.routes import PUBLIC_ROUTES, TOKEN_ROUTES, named_routes, url_for
from tests.web.visible_text import raw_values, visible_text

pytestmark = pytest.mark.django_db


def fetch(ward: Ward, user: str, method: str, url: str, data: dict[str, Any]) -> Any:
    client = ward.client({"nurse": ward.nurse, "nephro": ward.nephro, "admin": ward.admin}[user])
    return client.post(url, data) if method == "post" else client.get(url)


@pytest.fixture(params=[LabUnitSystem.SI, LabUnitSystem.US], ids=["SI-unit", "US-unit"])
def ward(request: Any) -> Ward:
    return build_ward(request.param)


def test_the_walk_has_something_to_find(ward: Ward) -> None:
    """The raw-value check is not vacuous: the ward's plan has missing inputs, red flags, labs in two unit
    systems and a brand name, and the checker flags each kind of raw value."""
    plan = ward.draft.plan_json
    assert any(m.startswith("dialysis.") for m in plan["missing"]) and plan["red_flags"]
    assert any(d.get("not_assessed") for d in plan["drugs"])  # the drug text that once listed case paths
    units = {lab["unit"] for lab in ward.draft.answers["labs"]["labs"]}
    assert {"mg/dL", "mmol/L", "µg/L"} <= units
    assert "Lioresal" in ward.draft.answers["medications"]["other_medications"]
    for raw in (
        "Dialysis: dialysate temperature c",
        "not assessed: labs.carnitine_free",
        "Sodium 138.0",
        "70.0 kg",
        "['amlodipine', 'Lioresal']",
        "{'workup': 'x'}",
        "Diabetes: True",
        "On file: 1.4E+2 mmol/L",
    ):
        assert raw_values(raw), raw
    for fine in ("Potassium 3.0 mmol/L", "None of these", "Knowledge 2026.11.2", "No impairment", "70 kg"):
        assert not raw_values(fine), fine


def test_every_page_and_fragment_shows_no_raw_values(ward: Ward) -> None:
    problems, walked = [], []
    for page in pages(ward):
        response = fetch(ward, page.user, page.method, page.url, dict(page.data))
        assert response.status_code == 200, (page.name, response.status_code)
        text = visible_text(response.content.decode())
        assert len(text) > (20 if page.fragment else 200), (page.name, text)
        problems += [f"{page.name}: {hit}" for hit in raw_values(text)]
        walked.append(page.name)
    assert not problems, "\n".join(problems)
    assert len(walked) == len(pages(ward)) >= 30


def test_every_page_of_the_urlconf_shows_no_raw_values(ward: Ward) -> None:
    """Each named route, opened with GET by a unit admin who is also the ward's nurse: whatever answers with an
    HTML page is read (a route added later is walked without being listed anywhere)."""
    from clinic.accounts.models import Membership, Role

    Membership.objects.filter(user=ward.admin).update(role=Role.UNIT_ADMIN)
    objects = {
        "patient": ward.patient,
        "workup": ward.draft,
        "unit": ward.unit,
        "membership": ward.nurse.memberships.get(),
    }
    problems, pages_read = [], []
    for user in ("nurse", "nephro", "admin"):
        for name, pattern in named_routes():
            if name in PUBLIC_ROUTES | TOKEN_ROUTES or name == "logout":
                continue
            response = fetch(ward, user, "get", url_for(name, pattern, objects), {})
            if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
                continue
            text = visible_text(response.content.decode())
            problems += [f"{user} {name}: {hit}" for hit in raw_values(text)]
            pages_read.append(name)
    assert not problems, "\n".join(problems)
    assert {"patients:detail", "workups:step", "workups:plan", "printing:plan-print", "audit", "staff"} <= set(
        pages_read
    )


class _Selects(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.selects: dict[str, list[str]] = {}
        self.current: str | None = None
        self.in_option = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "select":
            self.current = str(attributes.get("name") or attributes.get("id"))
            self.selects[self.current] = []
        elif tag == "option" and self.current is not None:
            self.in_option = True
            self.selects[self.current].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "option":
            self.in_option = False
        elif tag == "select":
            self.current = None

    def handle_data(self, data: str) -> None:
        if self.in_option and self.current is not None:
            self.selects[self.current][-1] += data.strip()


def test_each_lab_unit_is_offered_once_in_every_unit_select(ward: Ward) -> None:
    seen, offered = 0, set()
    for page in pages(ward):
        if page.fragment:
            continue
        parser = _Selects()
        parser.feed(fetch(ward, page.user, page.method, page.url, dict(page.data)).content.decode())
        for name, options in parser.selects.items():
            if not name.endswith("unit"):
                continue
            seen += 1
            offered.update(options)
            spelled = [normalise_unit(option) for option in options if option]
            twice = sorted({o for o in options if spelled.count(normalise_unit(o)) > 1})
            assert not twice, f"{page.name} {name}: offered more than once as {twice}"
    assert seen >= 15  # the labs step's rows and the patient page's "Record a result"
    assert {"x ULN", "µg/L", "µmol/L"} <= offered and not {"× ULN", "ug/L", "umol/L"} & offered


def test_a_unit_spelled_another_way_is_still_accepted(ward: Ward) -> None:
    client: Client = ward.client(ward.nurse)
    from django.urls import reverse

    url = reverse("patients:lab-create", args=[ward.patient.public_id])
    data = {"analyte": "creatine_kinase_x_uln", "value": "2", "unit": "× ULN", "taken_at": "2026-11-01T08:00"}
    assert client.post(url, data).status_code == 302
    assert ward.patient.lab_results.get(analyte="creatine_kinase_x_uln").unit == "x ULN"
