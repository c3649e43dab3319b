"""The wizard's first steps: the episode, the red-flag questions and the vital signs."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms

from clinic.core.fields import CheckList
from clinic.engine import load_knowledge
from clinic.engine.contract import KINDS, SITES, TIMINGS
from clinic.engine.validation import EPISODE, VITALS, Num
from clinic.workups.forms_base import (
    CHOICE_FIELD_TEMPLATE,
    KIND_LABELS,
    SITE_LABELS,
    TIMING_LABELS,
    ChoiceButtons,
    StepForm,
    bool_to_choice,
    choice_to_bool,
    number_field,
    tri_state_field,
)


class EpisodeForm(StepForm):
    engine_section = "episode"
    timing = forms.ChoiceField(
        choices=[(t, TIMING_LABELS[t]) for t in TIMINGS],
        widget=ChoiceButtons,
        template_name=CHOICE_FIELD_TEMPLATE,
        label="When do the symptoms happen?",
        error_messages={"required": "Choose when the symptoms happen."},
    )
    ongoing = tri_state_field("Is it happening now, in the chair?")
    minutes_into_session = number_field(EPISODE["minutes_into_session"])  # type: ignore[arg-type]
    hours_after_dialysis = number_field(EPISODE["hours_after_dialysis"])  # type: ignore[arg-type]
    sites = forms.MultipleChoiceField(
        choices=[(s, SITE_LABELS[s]) for s in SITES],
        required=False,
        widget=CheckList,
        label="Where?",
    )
    kind = forms.ChoiceField(
        choices=[("", "Not assessed"), *[(k, KIND_LABELS[k]) for k in KINDS]],
        required=False,
        widget=ChoiceButtons,
        template_name=CHOICE_FIELD_TEMPLATE,
        label="What does it look like?",
    )
    severity_0_10 = forms.TypedChoiceField(
        choices=[("", "Not asked"), *[(str(n), str(n)) for n in range(11)]],
        coerce=int,
        empty_value=None,
        required=False,
        widget=ChoiceButtons,
        template_name=CHOICE_FIELD_TEMPLATE,
        label="How bad, from 0 (none) to 10 (worst)?",
    )
    episodes_last_4_weeks = number_field(EPISODE["episodes_last_4_weeks"])  # type: ignore[arg-type]
    duration_weeks = number_field(EPISODE["duration_weeks"])  # type: ignore[arg-type]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        timing = cleaned.get("timing")
        if timing != "during_dialysis":
            if cleaned.get("minutes_into_session") is not None:
                self.add_error(
                    "minutes_into_session", "Only for symptoms during dialysis; clear this or change 'When'."
                )
            if cleaned.get("ongoing") == "yes":
                self.add_error("ongoing", "'Happening now in the chair' needs 'When' to be 'During dialysis'.")
        if timing != "after_dialysis" and cleaned.get("hours_after_dialysis") is not None:
            self.add_error("hours_after_dialysis", "Only for symptoms after dialysis; clear this or change 'When'.")
        return cleaned

    def to_answers(self) -> dict[str, Any]:
        data = self.cleaned_data
        answers: dict[str, Any] = {"timing": data["timing"]}
        ongoing = choice_to_bool(data.get("ongoing", ""))
        if ongoing is not None:
            answers["ongoing"] = ongoing
        for key in ("minutes_into_session", "hours_after_dialysis", "episodes_last_4_weeks", "duration_weeks"):
            if data.get(key) is not None:
                answers[key] = data[key]
        if data.get("sites"):
            answers["sites"] = list(data["sites"])
        if data.get("kind"):
            answers["kind"] = data["kind"]
        if data.get("severity_0_10") is not None:
            answers["severity_0_10"] = data["severity_0_10"]
        return answers

    @classmethod
    def initial_from(cls, answers: dict[str, Any]) -> dict[str, Any]:
        initial = dict(answers)
        initial["ongoing"] = bool_to_choice(answers.get("ongoing"))
        if answers.get("severity_0_10") is not None:
            initial["severity_0_10"] = str(answers["severity_0_10"])
        return initial


class RedFlagForm(StepForm):
    """Yes / no / not assessed for every finding in the contract, grouped for the page."""

    GROUP_TITLES: ClassVar[dict[str, str]] = {
        "screen": "60-second screen (ask these first)",
        "neurological": "Brain and nerves",
        "spine": "Neck, back and spinal cord",
        "cardiac": "Heart and circulation",
        "electrolyte": "Tingling and tetany",
        "infection": "Infection",
        "access": "Access arm",
        "other": "Other",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for code, finding in load_knowledge().findings.items():
            self.fields[code] = tri_state_field(finding.question)

    def groups(self, shown: set[str] | None = None) -> list[tuple[str, str, list[forms.BoundField]]]:
        """(key, title, fields) per group, screen first; only the findings in ``shown`` if it is given."""
        findings = load_knowledge().findings
        grouped: dict[str, list[forms.BoundField]] = {key: [] for key in self.GROUP_TITLES}
        for code, finding in findings.items():
            if shown is None or code in shown:
                grouped["screen" if finding.screen else finding.group].append(self[code])
        return [(key, self.GROUP_TITLES[key], fields) for key, fields in grouped.items() if fields]

    def answered(self) -> set[str]:
        """Findings with a yes or no in the form as shown (posted, drafted or saved)."""
        return {code for code in load_knowledge().findings if self[code].value() in ("yes", "no")}

    def to_answers(self) -> dict[str, Any]:
        answers = {}
        for code in load_knowledge().findings:
            value = choice_to_bool(self.cleaned_data.get(code, ""))
            if value is not None:
                answers[code] = value
        return answers

    @classmethod
    def initial_from(cls, answers: dict[str, Any]) -> dict[str, Any]:
        return {code: bool_to_choice(value) for code, value in answers.items()}


class VitalsForm(StepForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, spec in VITALS.items():
            assert isinstance(spec, Num)
            self.fields[key] = number_field(spec)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        pre, nadir = cleaned.get("sbp_pre_mmhg"), cleaned.get("sbp_nadir_mmhg")
        if pre is not None and nadir is not None and nadir > pre + 40:
            self.add_error("sbp_nadir_mmhg", "The lowest blood pressure is far above the pre-dialysis one; check both.")
        return cleaned

    def to_answers(self) -> dict[str, Any]:
        return {key: value for key, value in self.cleaned_data.items() if value is not None}
