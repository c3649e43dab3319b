"""Nothing lost, nothing stale, conflicts people can read (issue 12), through Django's test client: two tabs that
change different answers of a step both keep theirs; the same answer changed in both is a conflict shown with
answer names and values, naming "you, in another tab"; "Start cramp workup" offers to resume an unfinished one;
editing a plan awaiting review asks before it returns the plan to draft."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse

from clinic.accounts.models import Unit, User
from clinic.audit.models import Action, AuditEvent
from clinic.patients.models import Patient
from clinic.workups import merge
from clinic.workups.forms import DialysisForm, MedicationsForm, RedFlagForm
from clinic.workups.models import Status, Workup
from tests.web.test_workups import DIALYSIS, complete
from tests.web.visible_text import raw_values, visible_text

pytestmark = pytest.mark.django_db


def hidden(html: str, name: str) -> str:
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', html)
    assert match, name
    return match.group(1)


def step_url(workup: Workup, slug: str) -> str:
    return reverse("workups:step", kwargs={"public_id": workup.public_id, "slug": slug})


def autosave_url(workup: Workup, slug: str) -> str:
    return reverse("workups:autosave", kwargs={"public_id": workup.public_id, "slug": slug})


class Tab:
    """One browser tab on a step page: what its form posts (the page's hidden fields plus the answers)."""

    def __init__(self, client: Client, workup: Workup, slug: str, answers: dict[str, Any]) -> None:
        self.client, self.workup, self.slug = client, workup, slug
        html = client.get(step_url(workup, slug)).content.decode()
        self.fields = {name: hidden(html, name) for name in ("step_version", "editor", "base")}
        self.answers = dict(answers)

    def autosave(self, **changes: str) -> Any:
        self.answers.update(changes)
        response = self.client.post(
            autosave_url(self.workup, self.slug), {**self.answers, **self.fields}, headers={"HX-Request": "true"}
        )
        if response.status_code == 200:  # the page takes the new version and base (htmx's out-of-band swaps)
            html = response.content.decode()
            self.fields["step_version"] = hidden(html, "step_version")
            if 'name="base"' in html:
                self.fields["base"] = hidden(html, "base")
        return response

    def save(self, **extra: str) -> Any:
        return self.client.post(step_url(self.workup, self.slug), {**self.answers, **self.fields, **extra})


def panel(html: str) -> str:
    start = html.index('class="alert alert-warning conflict-panel')
    return html[start : html.index("</section>", start)]


def text(html: str) -> str:
    shown = visible_text(html)
    assert raw_values(shown) == [], raw_values(shown)  # no keys, True/False, reprs or 73.0 (tests/web/visible_text)
    return " ".join(shown.split())


@pytest.fixture
def patient(unit_a: Unit, make_patient: Callable[..., Patient]) -> Patient:
    return make_patient(unit_a, medications=["sevelamer"], conditions=[])


@pytest.fixture
def nurse(nurse_a: User, client_for: Callable[[User], Client]) -> Client:
    return client_for(nurse_a)


@pytest.fixture
def workup(patient: Patient, nurse_a: User, nurse: Client) -> Workup:
    workup = Workup.objects.create(patient=patient, created_by=nurse_a, updated_by=nurse_a, answers={})
    complete(nurse, workup)
    workup.refresh_from_db()
    return workup


def test_two_tabs_changing_different_answers_of_a_step_both_keep_theirs(nurse: Client, workup: Workup) -> None:
    first = Tab(nurse, workup, "dialysis", DIALYSIS)
    second = Tab(nurse, workup, "dialysis", DIALYSIS)
    assert first.autosave(target_weight_kg="72.5").status_code == 200
    response = second.autosave(blood_flow_ml_min="300")
    assert response.status_code == 200, text(response.content.decode())
    assert "also kept from a save made meanwhile: Target (dry) weight" in response.content.decode()
    workup.refresh_from_db()
    assert workup.answers["dialysis"]["target_weight_kg"] == 72.5
    assert workup.answers["dialysis"]["blood_flow_ml_min"] == 300
    # The second tab still shows the old target; its next change must not put it back.
    assert second.autosave(dialysate_temperature_c="36").status_code == 200
    # And the first tab, which has not seen the blood flow, changes another answer: all three are kept.
    assert first.autosave(session_minutes="210").status_code == 200
    workup.refresh_from_db()
    saved = workup.answers["dialysis"]
    assert (saved["target_weight_kg"], saved["blood_flow_ml_min"]) == (72.5, 300)
    assert (saved["dialysate_temperature_c"], saved["session_minutes"]) == (36, 210)
    # "Save and continue" from the second tab goes on, saying what it kept from the other save.
    response = second.save()
    assert response.status_code == 302
    workup.refresh_from_db()
    assert workup.answers["dialysis"]["target_weight_kg"] == 72.5
    assert workup.answers["dialysis"]["session_minutes"] == 210
    merged = AuditEvent.objects.filter(action=Action.STEP_SAVE).order_by("-id").first()
    assert merged is not None and set(merged.detail.get("merged", [])) == {"session_minutes", "target_weight_kg"}


def test_the_same_answer_changed_in_two_tabs_is_a_readable_conflict(nurse: Client, workup: Workup) -> None:
    first = Tab(nurse, workup, "dialysis", DIALYSIS)
    second = Tab(nurse, workup, "dialysis", DIALYSIS)
    assert first.autosave(target_weight_kg="73").status_code == 200
    response = second.autosave(target_weight_kg="72.5", blood_flow_ml_min="300")
    assert response.status_code == 409 and response["HX-Reswap"] == "innerHTML"
    shown = text(panel(response.content.decode()))
    assert re.search(r"Not saved: this answer was saved differently at \d\d:\d\d by you, in another tab", shown)
    assert "Target (dry) weight: 73 kg saved by you, in another tab · 72.5 kg on this page" in shown
    for raw in ("target_weight_kg", "True", "False", "73.0", "['"):
        assert raw not in shown, raw
    workup.refresh_from_db()
    assert workup.answers["dialysis"]["target_weight_kg"] == 73
    assert workup.answers["dialysis"]["blood_flow_ml_min"] == 350, "nothing of a conflicting save is written"
    # The full save shows the same panel (409) with the choice; keeping this page's answer saves it.
    response = second.save()
    assert response.status_code == 409
    assert "Target (dry) weight: 73 kg saved by you, in another tab" in text(panel(response.content.decode()))
    assert second.save(resolve="mine").status_code == 302
    workup.refresh_from_db()
    assert workup.answers["dialysis"]["target_weight_kg"] == 72.5
    assert workup.answers["dialysis"]["blood_flow_ml_min"] == 300


def test_a_tabs_own_saves_still_on_their_way_are_never_a_conflict(nurse: Client, workup: Workup) -> None:
    """The page's base lags behind its own saves while their answers are on the way (autosaves queued, then
    "Save and continue" at once): what this tab saved last is its own, not someone else's."""
    tab = Tab(nurse, workup, "dialysis", DIALYSIS)
    opened = dict(tab.fields)
    assert tab.autosave(target_weight_kg="71").status_code == 200
    assert tab.autosave(target_weight_kg="71.5").status_code == 200
    tab.fields = dict(opened)  # neither answer has reached the page yet
    assert tab.save(target_weight_kg="72").status_code == 302
    workup.refresh_from_db()
    assert workup.answers["dialysis"]["target_weight_kg"] == 72


def test_keeping_the_saved_answer_keeps_this_pages_other_changes(nurse: Client, workup: Workup) -> None:
    first = Tab(nurse, workup, "dialysis", DIALYSIS)
    second = Tab(nurse, workup, "dialysis", DIALYSIS)
    assert first.autosave(target_weight_kg="73").status_code == 200
    assert second.autosave(target_weight_kg="72.5", blood_flow_ml_min="300").status_code == 409
    second.fields["resolve"] = "theirs"
    response = second.autosave()
    assert response.status_code == 200 and response["HX-Refresh"] == "true"
    workup.refresh_from_db()
    assert (workup.answers["dialysis"]["target_weight_kg"], workup.answers["dialysis"]["blood_flow_ml_min"]) == (
        73,
        300,
    )


def test_a_conflict_with_someone_else_names_them_and_shows_yes_and_no(
    workup: Workup, nurse: Client, nephro_a: User, client_for: Callable[[User], Client]
) -> None:
    nephro_a.first_name, nephro_a.last_name = "Ana", "Silva"
    nephro_a.save()
    answers = {"chest_pain": "no", "speech_disturbance": "no"}
    mine = Tab(nurse, workup, "redflags", answers)
    theirs = Tab(client_for(nephro_a), workup, "redflags", answers)
    assert theirs.autosave(seizure="yes").status_code == 200
    response = mine.autosave(seizure="no")
    assert response.status_code == 409
    shown = text(panel(response.content.decode()))
    assert "this answer was saved differently" in shown and "by Ana Silva" in shown
    assert "Seizure: Yes saved by Ana Silva · No on this page" in shown
    assert "another tab" not in shown


def test_a_lab_result_conflict_reads_as_the_result_with_its_unit(nurse: Client, workup: Workup) -> None:
    labs = {"magnesium__value": "1.2", "magnesium__unit": "mg/dL", "magnesium__when": "pre_dialysis"}
    first, second = Tab(nurse, workup, "labs", labs), Tab(nurse, workup, "labs", labs)
    assert first.autosave(magnesium__value="1.3").status_code == 200
    response = second.autosave(magnesium__value="1.4")
    assert response.status_code == 409
    shown = text(panel(response.content.decode()))
    assert "Magnesium: 1.3 mg/dL saved by you, in another tab · 1.4 mg/dL on this page" in shown


def test_a_forged_or_borrowed_base_is_ignored_and_the_version_lock_applies(
    nurse: Client, workup: Workup, patient: Patient, nurse_a: User
) -> None:
    other = Workup.objects.create(patient=patient, created_by=nurse_a, answers={})
    first = Tab(nurse, workup, "dialysis", DIALYSIS)
    second = Tab(nurse, workup, "dialysis", DIALYSIS)
    assert first.autosave(target_weight_kg="73").status_code == 200
    second.fields["base"] = merge.sign_base(other.public_id, "dialysis", {})  # another workup's base
    assert second.autosave(blood_flow_ml_min="300").status_code == 409
    second.fields["base"] = "not-a-signed-value"
    assert second.autosave(blood_flow_ml_min="300").status_code == 409
    workup.refresh_from_db()
    assert workup.answers["dialysis"]["blood_flow_ml_min"] == 350


def test_merge_step_per_field() -> None:
    base = {"target_weight_kg": 70.0, "blood_flow_ml_min": 350}
    merged = merge.merge_step(
        DialysisForm,
        base,
        {**base, "target_weight_kg": 72.5},
        {**base, "blood_flow_ml_min": 300},
        DialysisForm.bound_to,
    )
    assert merged.answers == {"target_weight_kg": 72.5, "blood_flow_ml_min": 300} and merged.taken == (
        "target_weight_kg",
    )
    # Both set the same value: no conflict. Different values: a conflict unless settled.
    same = merge.merge_step(
        DialysisForm, base, {"target_weight_kg": 71}, {"target_weight_kg": 71.0}, DialysisForm.bound_to
    )
    assert same.conflicts == () and same.answers == {"target_weight_kg": 71.0}
    clash = merge.merge_step(
        DialysisForm, base, {"target_weight_kg": 71}, {"target_weight_kg": 72}, DialysisForm.bound_to
    )
    assert clash.answers is None and clash.conflicts == ("target_weight_kg",)
    # A cleared answer is a change like any other; the same medicines in another order are not.
    cleared = merge.merge_step(
        RedFlagForm, {"fever": True}, {"fever": True, "seizure": False}, {}, RedFlagForm.bound_to
    )
    assert cleared.answers == {"seizure": False}
    meds = {"medications": ["sevelamer", "cinacalcet"], "other_medications": [], "conditions": []}
    reordered = {**meds, "medications": ["cinacalcet", "sevelamer"]}
    kept = merge.merge_step(MedicationsForm, meds, {**meds, "diabetes": True}, reordered, MedicationsForm.bound_to)
    assert kept.conflicts == () and kept.answers is not None and kept.answers["diabetes"] is True


def start(client: Client, patient: Patient, **data: str) -> Any:
    return client.post(reverse("workups:start", args=[patient.public_id]), data)


def test_start_with_an_unfinished_workup_offers_to_resume_it(nurse: Client, patient: Patient) -> None:
    assert start(nurse, patient).status_code == 302
    first = Workup.objects.get()
    offer = start(nurse, patient)
    assert offer.status_code == 200 and Workup.objects.count() == 1, "no second draft"
    html = offer.content.decode()
    assert "This patient has an unfinished workup" in html and "0 of 5 steps done; next: Episode" in html
    assert reverse("workups:resume", args=[first.public_id]) in html
    assert hidden(html, "instead_of") == str(first.public_id)
    access = AuditEvent.objects.filter(action=Action.PATIENT_ACCESS, patient_public_id=patient.public_id)
    assert access.exists()
    # Choosing "Start a new workup instead" makes one; the same choice tapped twice does not make a third.
    assert start(nurse, patient, instead_of=str(first.public_id)).status_code == 302
    again = start(nurse, patient, instead_of=str(first.public_id))
    assert again.status_code == 200 and Workup.objects.count() == 2
    second = Workup.objects.exclude(pk=first.pk).get()
    assert hidden(again.content.decode(), "instead_of") == str(second.public_id), "offers the newest"
    assert Workup.objects.get(pk=first.pk).status == Status.DRAFT, "the unfinished one is kept"


def test_start_after_a_returned_or_submitted_workup(nurse: Client, workup: Workup, patient: Patient) -> None:
    workup.status, workup.return_comment = Status.DRAFT, "Please re-weigh the patient."
    workup.save()
    offer = start(nurse, patient)
    assert (
        offer.status_code == 200 and "Returned by the nephrologist:</strong> Please re-weigh" in offer.content.decode()
    )
    workup.status = Status.AWAITING_REVIEW
    workup.save()
    assert start(nurse, patient).status_code == 302 and Workup.objects.count() == 2  # nothing unfinished


def submitted(workup: Workup, nurse: Client) -> Workup:
    workup.refresh_from_db()
    assert nurse.post(reverse("workups:make-plan", args=[workup.public_id]), {"version": workup.version}).status_code
    workup.refresh_from_db()
    nurse.post(reverse("workups:submit", args=[workup.public_id]), {"version": workup.version})
    workup.refresh_from_db()
    assert workup.status == Status.AWAITING_REVIEW
    return workup


def test_editing_a_submitted_plan_asks_before_returning_it_to_draft(nurse: Client, workup: Workup) -> None:
    workup = submitted(workup, nurse)
    page = nurse.get(step_url(workup, "dialysis")).content.decode()
    assert "This plan is awaiting nephrologist review." in page and "returns it to draft" in page
    tab = Tab(nurse, workup, "dialysis", DIALYSIS)
    # Typing is kept, as typing: the plan stays submitted.
    response = tab.autosave(target_weight_kg="71")
    assert response.status_code == 200 and "the plan stays submitted until you save" in response.content.decode()
    workup.refresh_from_db()
    assert workup.status == Status.AWAITING_REVIEW and workup.answers["dialysis"]["target_weight_kg"] == 70
    # Saving without the confirmation answers with the question; nothing changes, the typing is kept.
    response = tab.save()
    assert response.status_code == 200
    html = response.content.decode()
    assert "Save and send the plan back to draft?" in html and 'name="confirm_return" value="yes"' in html
    assert 'value="71"' in html
    workup.refresh_from_db()
    assert workup.status == Status.AWAITING_REVIEW and workup.answers["dialysis"]["target_weight_kg"] == 70
    assert workup.drafts["dialysis"]["target_weight_kg"] == ["71"]
    tab.fields["step_version"] = hidden(html, "step_version")
    assert tab.save(confirm_return="yes").status_code == 302
    workup.refresh_from_db()
    assert workup.status == Status.DRAFT and workup.answers["dialysis"]["target_weight_kg"] == 71


def test_a_plan_in_draft_says_nothing_about_review(nurse: Client, workup: Workup) -> None:
    page = nurse.get(step_url(workup, "dialysis")).content.decode()
    assert "awaiting nephrologist review" not in page


@pytest.mark.django_db(transaction=True)
def test_start_tapped_twice_at_once_makes_one_draft(patient: Patient, nurse_a: User) -> None:
    """Two (here six) taps on "Start cramp workup" at the same moment, each on its own database connection."""
    from clinic.workups import services

    taps = 6
    barrier = threading.Barrier(taps)
    outcomes: list[str] = []

    def tap() -> None:
        try:
            barrier.wait()
            services.start_workup(patient, nurse_a)
            outcomes.append("made")
        except services.UnfinishedWorkup:
            outcomes.append("offered")
        except BaseException as exc:  # a lock timeout would show here
            outcomes.append(repr(exc))
        finally:
            connections.close_all()

    workers = [threading.Thread(target=tap) for _ in range(taps)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(outcomes) == ["made"] + ["offered"] * (taps - 1), outcomes
    assert Workup.objects.filter(patient=patient).count() == 1
