"""Answers and people as the reader sees them: the review step's summary, a field's label and display value
("Seizure: Yes", "Target (dry) weight: 72.5 kg"), the conflict panel, and the resume offer ("you, in another
tab"). No database access here."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django import forms

from clinic.core.fields import plain_number
from clinic.engine import load_knowledge
from clinic.workups.merge import flat
from clinic.workups.steps import BY_SLUG, applicable


def answer_summary(answers: Mapping[str, Any], unit_system: str) -> list[dict[str, Any]]:
    """The review step's list: per applicable step, whether it was saved and its answers as labelled text."""
    rows = []
    for step in applicable(answers):
        if step.slug == "review":
            continue
        saved = answers.get(step.slug)
        form = step.form_class.from_answers(saved, unit_system=unit_system) if saved is not None else None
        items = _labelled_answers(form, labs=step.slug == "labs") if form is not None and form.is_valid() else []
        rows.append({"step": step, "saved": saved is not None, "items": items})
    return rows


def _labelled_answers(form: Any, labs: bool) -> list[tuple[str, str]]:
    """Each answer given, as (the field's label, the value in words): choice labels, not codes; lists joined;
    numbers as written (70, not 70.0)."""
    items: list[tuple[str, str]] = []
    for name, field in form.fields.items():
        value = form.cleaned_data.get(name)
        if value in (None, "", [], ()) or (labs and not name.endswith("__value")):
            continue
        labels = dict(getattr(field, "choices", None) or [])
        if isinstance(value, list | tuple):
            text = ", ".join(str(labels.get(v, v)) for v in value)
        elif isinstance(value, bool):
            text = "Yes" if value else "No"
        elif isinstance(value, float | int):
            text = str(plain_number(value))
        else:
            text = str(labels.get(value, value))
        if labs:
            text = f"{text} {form.cleaned_data[name.removesuffix('__value') + '__unit']}"
        items.append((str(field.label), text))
    return items


# Shorter names for the episode questions, for lists of answers ("When: During dialysis").
SHORT_LABELS = {
    "timing": "When",
    "ongoing": "Happening now, in the chair",
    "sites": "Where",
    "kind": "What it looks like",
    "severity_0_10": "Severity (0 to 10)",
}
_UNIT_IN_LABEL = re.compile(r"^(?P<name>.*) \((?P<unit>[^()]*)\)$")


def answer_label(form: Any, name: str) -> str:
    """A step answer's name for people: the finding's name, a short question, or the field's label without its
    unit (the unit goes with the value)."""
    findings = load_knowledge().findings
    if name in findings:
        return findings[name].name
    field = form.fields.get(name)
    label = SHORT_LABELS.get(name) or (str(field.label) if field is not None else name.replace("_", " "))
    match = _UNIT_IN_LABEL.match(label)
    if match and isinstance(field, forms.FloatField | forms.IntegerField):
        return match["name"]
    return label


def answer_text(form: Any, name: str, values: Mapping[str, Any]) -> str:
    """A step answer's value for people ("Yes", "72.5 kg", "During dialysis"), from answers per form field."""
    value, field = values.get(name), form.fields.get(name)
    choices = {str(key): str(label) for key, label in getattr(field, "choices", [])}
    if value is None or value == "" or value == []:
        return choices.get("", "Not answered")
    if isinstance(value, list | tuple):
        return ", ".join(choices.get(str(item), str(item)) for item in value)
    if isinstance(value, bool):
        value = "yes" if value else "no"
    if str(value) in choices:
        return choices[str(value)]
    if isinstance(value, int | float):
        unit = values.get(name.removesuffix("__value") + "__unit", "") if name.endswith("value") else ""
        match = _UNIT_IN_LABEL.match(str(field.label)) if field is not None else None
        unit = unit or (match["unit"] if match else "")
        return f"{value:g} {unit}".strip()
    return str(value)


def merged_labels(form: Any, names: Iterable[str]) -> str:
    """The answers a save kept from another save made meanwhile, named for people ("Target (dry) weight")."""
    return ", ".join(
        dict.fromkeys(answer_label(form, name.split("__")[0] + "__value" if "__" in name else name) for name in names)
    )


@dataclass(frozen=True)
class ConflictPanel:
    who: str  # "you, in another tab" or the other person's name
    at: dt.datetime | None
    rows: list[tuple[str, str, str]]  # (answer, as saved by them, as in this form)


def conflict_panel(conflict: Any, mine: Mapping[str, Any], viewer: Any) -> ConflictPanel:
    """What a save that conflicts (a services.ConflictError) shows: who saved the step meanwhile and when, and
    each answer both changed, by its name, as they saved it and as this form (``mine``) has it."""
    workup, slug, merge = conflict.current, conflict.slug, conflict.merge
    form_class = BY_SLUG[slug].form_class
    form = form_class(unit_system=workup.patient.effective_lab_units())
    if merge is not None:
        names, their_values, my_values = list(merge.conflicts), merge.theirs, merge.mine
    else:
        their_values, my_values = flat(form_class, workup.answers.get(slug, {})), flat(form_class, mine)
        names = sorted(k for k in set(their_values) | set(my_values) if their_values.get(k) != my_values.get(k))
    meta = workup.step_meta.get(slug, {})
    named = person(conflict.by, viewer)
    at = dt.datetime.fromisoformat(meta["at"]) if meta.get("at") else workup.updated_at
    rows = [(answer_label(form, n), answer_text(form, n, their_values), answer_text(form, n, my_values)) for n in names]
    return ConflictPanel("you, in another tab" if named == "you" else named, at, rows)


@dataclass(frozen=True)
class ResumeOffer:
    workup: Any
    started_by: str
    saved_by: str  # "you" or the other person's name
    steps_done: int
    steps_total: int
    next_step: str  # the title of the first step not saved yet ("Review" when all are)


def person(user: Any, viewer: Any) -> str:
    """How a page names the person who did something: "you" for the viewer, otherwise their name."""
    if user is None:
        return "someone"
    if viewer is not None and user.pk == viewer.pk:
        return "you"
    return user.get_full_name() or user.get_username()


def resume_offer(workup: Any, viewer: Any) -> ResumeOffer:
    """What "Start cramp workup" shows when the patient already has an unfinished workup."""
    steps = [step for step in applicable(workup.answers) if step.slug != "review"]
    pending = next((step.title for step in steps if step.slug not in workup.answers), "Review")
    return ResumeOffer(
        workup=workup,
        started_by=person(workup.created_by, viewer),
        saved_by=person(workup.updated_by or workup.created_by, viewer),
        steps_done=sum(1 for step in steps if step.slug in workup.answers),
        steps_total=len(steps),
        next_step=pending,
    )
