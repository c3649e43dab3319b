"""The red-flag step shows the 60-second screen and the questions relevant to this episode first; the rest are
one tap away and stay "not assessed" until answered."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

from django.test import Client
from django.urls import reverse

from clinic.engine import load_knowledge
from clinic.workups.models import Workup
from clinic.workups.relevance import shown_findings

TODAY = dt.date(2026, 11, 30)


def patient(medications: list[str] | None = None, started: dt.date | None = dt.date(2011, 3, 1)) -> Any:
    return SimpleNamespace(medications=medications or [], dialysis_started=started)


def test_neck_spasm_after_dialysis_shows_the_spine_and_meningism_questions() -> None:
    answers = {"episode": {"timing": "after_dialysis", "sites": ["neck"], "kind": "spasm"}}
    shown = shown_findings(answers, patient(), TODAY)
    screen = {code for code, f in load_knowledge().findings.items() if f.screen}
    assert screen <= shown
    assert {"neck_pain_persistent", "torticollis", "neck_stiffness", "dyspnoea", "intradialytic_hypotension"} <= shown
    assert not {"urge_to_move_relieved_by_movement", "asterixis", "headache", "aluminium_exposure"} & shown


def test_medicines_and_vintage_bring_their_questions_forward() -> None:
    answers = {"episode": {"timing": "between_sessions", "sites": ["legs"]}}
    assert "hyporeflexia" not in shown_findings(answers, patient(), TODAY)
    assert "hyporeflexia" in shown_findings(answers, patient(["baclofen"]), TODAY)
    # The medicines step's answers, once saved, win over the record.
    saved = {**answers, "medications": {"medications": []}}
    assert "hyporeflexia" not in shown_findings(saved, patient(["baclofen"]), TODAY)
    assert "headache" in shown_findings(answers, patient(started=dt.date(2026, 6, 1)), TODAY)
    assert "headache" not in shown_findings(answers, patient(started=None), TODAY)


def test_an_answered_question_is_always_shown() -> None:
    answers = {"episode": {"timing": "between_sessions"}, "redflags": {"asterixis": False}}
    assert "asterixis" in shown_findings(answers, patient(), TODAY)


def test_the_step_puts_the_rest_behind_one_tap(client_for: Any, nurse_a: Any, unit_a: Any, make_patient: Any) -> None:
    pat = make_patient(unit_a, medications=[])
    workup = Workup.objects.create(
        patient=pat,
        created_by=nurse_a,
        answers={"episode": {"timing": "after_dialysis", "sites": ["neck"], "kind": "spasm"}},
    )
    client: Client = client_for(nurse_a)
    page = client.get(reverse("workups:step", kwargs={"public_id": workup.public_id, "slug": "redflags"}))
    html = page.content.decode()
    more_at = html.index('<details class="more-findings')
    assert html.index('name="torticollis"') < more_at < html.index('name="asterixis"')
    layout = page.context["redflags"]
    assert layout["more_count"] == len(load_knowledge().findings) - sum(len(f) for _, _, f in layout["groups"])
    assert html.count(">None of these</button>") == len(layout["groups"]) + len(layout["more"])


def test_step_one_has_back_to_the_patient(client_for: Any, nurse_a: Any, unit_a: Any, make_patient: Any) -> None:
    pat = make_patient(unit_a)
    workup = Workup.objects.create(patient=pat, created_by=nurse_a, answers={})
    html = client_for(nurse_a).get(reverse("workups:step", args=[workup.public_id, "episode"])).content.decode()
    assert f'href="{reverse("patients:detail", args=[pat.public_id])}">Back</a>' in html
