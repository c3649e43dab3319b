"""The wizard's step registry: order, slug, title, form and when the step applies (formtools' idea, DB-backed)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from clinic.workups import forms

Answers = Mapping[str, Any]


def always(answers: Answers) -> bool:
    return True


def session_related(answers: Answers) -> bool:
    """This session's vital signs matter when symptoms come during or right after dialysis."""
    return answers.get("episode", {}).get("timing") in {"during_dialysis", "after_dialysis"}


@dataclass(frozen=True)
class Step:
    slug: str
    title: str
    form_class: type[forms.StepForm]
    applies: Callable[[Answers], bool] = always
    intro: str = ""


STEPS: tuple[Step, ...] = (
    Step("episode", "Episode", forms.EpisodeForm, intro="What is happening, where, and how bad?"),
    Step(
        "redflags",
        "Red-flag screen",
        forms.RedFlagForm,
        intro="Ask or check each one. 'Not assessed' is kept apart from 'No' and is never read as normal.",
    ),
    Step(
        "vitals",
        "Vital signs",
        forms.VitalsForm,
        applies=session_related,
        intro="This session's blood pressure, pulse and temperature.",
    ),
    Step(
        "labs",
        "Labs",
        forms.LabsForm,
        intro="Enter results in either unit. The most recent results on file can be re-used.",
    ),
    Step("dialysis", "Dialysis prescription", forms.DialysisForm, intro="Today's weights and the prescription."),
    Step("medications", "Medicines and conditions", forms.MedicationsForm, intro="Pre-filled from the record."),
    Step("review", "Review", forms.ReviewForm, intro="Check the answers, then make the care plan."),
)
BY_SLUG = {step.slug: step for step in STEPS}


def applicable(answers: Answers) -> list[Step]:
    return [step for step in STEPS if step.applies(answers)]


def next_after(answers: Answers, slug: str) -> Step | None:
    """The first applicable step after ``slug`` in wizard order (``slug`` itself may not apply)."""
    order = [step.slug for step in STEPS]
    position = order.index(slug) if slug in order else -1
    return next((step for step in STEPS[position + 1 :] if step.applies(answers)), None)


def previous_before(answers: Answers, slug: str) -> Step | None:
    steps = applicable(answers)
    slugs = [step.slug for step in steps]
    if slug not in slugs:
        return None
    index = slugs.index(slug)
    return steps[index - 1] if index > 0 else None
