"""One Django form per wizard step. Bounds, labels and units come from the engine's validation specs and the
knowledge base, so a limit is changed in one place. Each form turns its cleaned data into JSON-safe answers
(``to_answers``) and back (``initial_from``); "not assessed" is always distinct from "no"."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from crispy_forms.helper import FormHelper
from django import forms
from django.http import QueryDict

from clinic.core import codes
from clinic.core.fields import UnitChoiceField
from clinic.engine import CaseError, load_knowledge, validate_case
from clinic.engine.contract import CASE_SCHEMA, KINDS, LAB_WHEN, SITES, TIMINGS
from clinic.engine.validation import DIALYSIS, EPISODE, VITALS, Bool, Enum, Num

YES_NO_UNKNOWN = [("yes", "Yes"), ("no", "No"), ("", "Not assessed")]
TIMING_LABELS = {
    "during_dialysis": "During dialysis",
    "after_dialysis": "After dialysis (same day)",
    "between_sessions": "Between sessions",
}
SITE_LABELS = {s: s.capitalize() for s in SITES} | {"face": "Face or jaw", "generalised": "All over (generalised)"}
KIND_LABELS = {
    "cramp": "Cramp (painful tightening)",
    "spasm": "Spasm",
    "jerks": "Jerks (sudden brief movements)",
    "twitching": "Twitching",
    "stiffness": "Stiffness",
}
WHEN_LABELS = {"pre_dialysis": "Pre-HD", "post_dialysis": "Post-HD", "other": "Other"}
ENUM_LABELS = {
    "bicarbonate": "Bicarbonate",
    "acetate": "Acetate",
    "high": "High-flux",
    "low": "Low-flux",
}


def _bool_to_choice(value: object) -> str:
    return {True: "yes", False: "no"}.get(value, "")  # type: ignore[call-overload]


def _choice_to_bool(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


def number_field(spec: Num) -> forms.Field:
    unit = f" ({spec.unit})" if spec.unit and not spec.unit.startswith("(") else ""
    label = spec.label[:1].upper() + spec.label[1:] + unit
    bounds = f"Enter a number from {spec.lo:g} to {spec.hi:g}{' ' + spec.unit if spec.unit else ''}."
    if spec.hint:
        bounds += f" ({spec.hint[:1].upper() + spec.hint[1:]}.)"
    messages = {"min_value": bounds, "max_value": bounds, "invalid": "Enter a number, for example 12 or 0.5."}
    field: forms.Field
    if spec.integer:
        field = forms.IntegerField(min_value=int(spec.lo), max_value=int(spec.hi), required=False, label=label)
        messages["invalid"] = "Enter a whole number."
    else:
        field = forms.FloatField(min_value=spec.lo, max_value=spec.hi, required=False, label=label)
    field.error_messages.update(messages)
    field.widget.attrs.update({"inputmode": "numeric" if spec.integer else "decimal", "step": "any"})
    return field


class ChoiceButtons(forms.RadioSelect):
    """Radio choices as large Bootstrap toggle buttons ("yes" in red, "not assessed" in grey): Django's own
    widget rendering with a template of ours. Fields using it render with ``{{ field.as_field_group }}``."""

    template_name = "workups/choice_buttons.html"


CHOICE_FIELD_TEMPLATE = "workups/choice_field.html"  # a fieldset, its legend, the buttons and the errors


def tri_state_field(label: str) -> forms.ChoiceField:
    return forms.ChoiceField(
        choices=YES_NO_UNKNOWN,
        required=False,
        label=label,
        widget=ChoiceButtons,
        template_name=CHOICE_FIELD_TEMPLATE,
    )


class StepForm(forms.Form):
    """Base: a helper without a <form> tag, and the answer conversion contract. ``unit_system`` (the patient's
    lab units, SI or conventional) matters to the labs form only; every step form takes it so callers need not
    know which step they build."""

    number_fields: ClassVar[dict[str, Num]] = {}

    def __init__(
        self, *args: Any, unit_system: str = "SI", record: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.unit_system = unit_system
        self.record = dict(record or {})  # facts from the patient record the step's checks compare with
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True

    # The case section this step fills. The engine's cross-field checks (clinic/engine/validation.py) run on it
    # when the step is saved, so a contradiction is refused on the field to correct, with the engine's words.
    engine_section: ClassVar[str | None] = None

    def to_answers(self) -> dict[str, Any]:
        raise NotImplementedError

    def engine_case(self) -> dict[str, Any]:
        return {self.engine_section: self.to_answers()} if self.engine_section else {}

    def full_clean(self) -> None:
        super().full_clean()
        if self.engine_section is None or not self.is_bound or self.errors:
            return
        try:
            validate_case({"schema": CASE_SCHEMA, **self.engine_case()})
        except CaseError as exc:
            for error in exc.errors:
                name = error["field"].rsplit(".", 1)[-1]
                message = error["message"][:1].upper() + error["message"][1:] + "."
                self.add_error(name if name in self.fields else None, message)

    @classmethod
    def initial_from(cls, answers: dict[str, Any]) -> dict[str, Any]:
        return dict(answers)

    @classmethod
    def bound_to(cls, initial: Mapping[str, Any], **kwargs: Any) -> Self:
        """The form bound to initial values as if they had been posted again (to validate or list them)."""
        query = QueryDict(mutable=True)
        for key, value in initial.items():
            if value is None:
                continue
            if isinstance(value, bool):
                query[key] = "yes" if value else "no"
            elif isinstance(value, list):
                query.setlist(key, [str(v) for v in value])
            else:
                query[key] = str(value)
        return cls(query, **kwargs)

    @classmethod
    def from_answers(cls, answers: dict[str, Any], **kwargs: Any) -> Self:
        """The form bound to a step's saved answers: re-validates them with today's rules."""
        return cls.bound_to(cls.initial_from(answers), **kwargs)


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
        widget=forms.CheckboxSelectMultiple,
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
        ongoing = _choice_to_bool(data.get("ongoing", ""))
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
        initial["ongoing"] = _bool_to_choice(answers.get("ongoing"))
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
            value = _choice_to_bool(self.cleaned_data.get(code, ""))
            if value is not None:
                answers[code] = value
        return answers

    @classmethod
    def initial_from(cls, answers: dict[str, Any]) -> dict[str, Any]:
        return {code: _bool_to_choice(value) for code, value in answers.items()}


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


class LabsForm(StepForm):
    """A value, a unit and a sampling time per analyte. Units default to the patient's (or unit's) system."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows: list[tuple[str, str]] = []
        for code, analyte in load_knowledge().analytes.items():
            aliases = codes.unit_aliases()
            units = [u for u in dict.fromkeys(u.unit for u in analyte.units) if u not in aliases]
            default_unit = codes.preferred_unit(code, self.unit_system)
            value = forms.FloatField(required=False, label=analyte.name)
            value.error_messages["invalid"] = "Enter a number, for example 0.85."
            value.widget.attrs.update({"inputmode": "decimal", "step": "any", "autocomplete": "off"})
            self.fields[f"{code}__value"] = value
            self.fields[f"{code}__unit"] = UnitChoiceField(
                choices=[(u, u) for u in units],
                initial=default_unit,
                required=False,
                label=f"{analyte.name} unit",
                error_messages={
                    "invalid_choice": f"%(value)s is not a unit for {analyte.short}; use {', '.join(units)}."
                },
                widget=forms.Select(attrs={"class": "form-select"}),
            )
            self.fields[f"{code}__when"] = forms.ChoiceField(
                choices=[(w, WHEN_LABELS[w]) for w in LAB_WHEN],
                initial="pre_dialysis",
                required=False,
                label=f"{analyte.name} taken",
                widget=forms.Select(attrs={"class": "form-select"}),
            )
            # a second result of the same test after dialysis (post-HD hypokalaemia), in the row's unit
            post = forms.FloatField(required=False, label=f"{analyte.name} after dialysis")
            post.error_messages["invalid"] = "Enter a number, for example 2.5."
            post.widget.attrs.update({"inputmode": "decimal", "step": "any", "autocomplete": "off"})
            self.fields[f"{code}__post_value"] = post
            self.rows.append((code, analyte.name))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for code, _ in self.rows:
            value, unit = cleaned.get(f"{code}__value"), cleaned.get(f"{code}__unit")
            if value is not None and not unit and f"{code}__unit" not in self.errors:
                self.add_error(f"{code}__unit", "Choose the unit of this result.")
            elif value is not None and unit:
                problem = codes.lab_problem(code, value, unit)
                if problem:
                    self.add_error(f"{code}__value" if problem.kind == "value" else f"{code}__unit", problem.message)
            post = cleaned.get(f"{code}__post_value")
            if post is None:
                continue
            if value is not None and cleaned.get(f"{code}__when") == "post_dialysis":
                self.add_error(
                    f"{code}__post_value", "The first result is already post-dialysis; set its time to Pre-HD."
                )
            elif not unit:
                if f"{code}__unit" not in self.errors:
                    self.add_error(f"{code}__unit", "Choose the unit of this result.")
            else:
                problem = codes.lab_problem(code, post, unit)
                if problem:
                    self.add_error(f"{code}__post_value", problem.message)
        return cleaned

    def to_answers(self) -> dict[str, Any]:
        labs = []
        for code, _ in self.rows:
            value = self.cleaned_data.get(f"{code}__value")
            if value is not None:
                labs.append(
                    {
                        "analyte": code,
                        "value": value,
                        "unit": self.cleaned_data[f"{code}__unit"],
                        "when": self.cleaned_data.get(f"{code}__when") or "pre_dialysis",
                    }
                )
            post = self.cleaned_data.get(f"{code}__post_value")
            if post is not None:
                unit = self.cleaned_data[f"{code}__unit"]
                labs.append({"analyte": code, "value": post, "unit": unit, "when": "post_dialysis"})
        return {"labs": labs}

    @classmethod
    def initial_from(cls, answers: dict[str, Any]) -> dict[str, Any]:
        """The row holds the pre-dialysis (or only) result; a post-dialysis result beside it goes to post_value."""
        initial: dict[str, Any] = {}
        labs = answers.get("labs", [])
        firsts = [lab for lab in labs if lab.get("when") != "post_dialysis"]
        for lab in firsts + [lab for lab in labs if lab.get("when") == "post_dialysis"]:
            code = lab["analyte"]
            if f"{code}__value" in initial and lab.get("when") == "post_dialysis":
                initial[f"{code}__post_value"] = lab["value"]
                continue
            initial[f"{code}__value"] = lab["value"]
            initial[f"{code}__unit"] = lab["unit"]
            initial[f"{code}__when"] = lab.get("when", "pre_dialysis")
        return initial


class DialysisForm(StepForm):
    """The prescription and this session's weights; pre-filled from the patient's last workup."""

    GROUPS: ClassVar[tuple[tuple[str, tuple[str, ...]], ...]] = (
        (
            "Today's session",
            (
                "pre_weight_kg",
                "previous_post_weight_kg",
                "target_weight_kg",
                "session_minutes",
                "uf_volume_ml",
                "missed_or_shortened_sessions_last_month",
            ),
        ),
        (
            "Dialysate",
            (
                "dialysate_temperature_c",
                "dialysate_sodium_mmol_l",
                "sodium_profiling",
                "dialysate_potassium_mmol_l",
                "dialysate_calcium_mmol_l",
                "dialysate_magnesium_mmol_l",
                "dialysate_bicarbonate_mmol_l",
                "buffer",
            ),
        ),
        ("Prescription", ("sessions_per_week", "blood_flow_ml_min", "dialyser_flux", "access")),
    )

    access = forms.ChoiceField(
        choices=[("", "Not recorded"), ("fistula", "Fistula"), ("graft", "Graft"), ("catheter", "Catheter")],
        required=False,
        label="Vascular access",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, spec in DIALYSIS.items():
            if isinstance(spec, Num):
                self.fields[key] = number_field(spec)
            elif isinstance(spec, Bool):
                self.fields[key] = tri_state_field(spec.label[:1].upper() + spec.label[1:])
            elif isinstance(spec, Enum):
                self.fields[key] = forms.ChoiceField(
                    choices=[("", "Not recorded"), *[(v, ENUM_LABELS.get(v, v)) for v in spec.values]],
                    required=False,
                    label=spec.label[:1].upper() + spec.label[1:],
                )
        # One weight to enter: the target of this session, which is the dry weight unless it is being changed.
        self.fields["target_weight_kg"].label = "Target (dry) weight (kg)"

    def grouped(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(title, [self[name] for name in names]) for title, names in self.GROUPS]

    engine_section = "dialysis"  # weights more than 7 kg apart are refused by the engine's cross-checks

    def engine_case(self) -> dict[str, Any]:
        dialysis = self.to_answers()
        patient = {key: dialysis.pop(key) for key in ("dry_weight_kg", "access") if key in dialysis}
        for key, value in self.record.items():  # the recorded dry weight, which the target is checked against
            patient.setdefault(key, value)
        return {"patient": patient, "dialysis": dialysis}

    def to_answers(self) -> dict[str, Any]:
        answers: dict[str, Any] = {}
        for key, value in self.cleaned_data.items():
            if key in DIALYSIS and isinstance(DIALYSIS[key], Bool):
                flag = _choice_to_bool(value)
                if flag is not None:
                    answers[key] = flag
            elif value not in (None, ""):
                answers[key] = value
        return answers

    @classmethod
    def initial_from(cls, answers: dict[str, Any]) -> dict[str, Any]:
        initial = dict(answers)
        for key, spec in DIALYSIS.items():
            if isinstance(spec, Bool):
                initial[key] = _bool_to_choice(answers.get(key))
        return initial


class MedicationsForm(StepForm):
    # Chosen by type-ahead search and shown as chips (templates/workups/_medicines.html): hidden inputs.
    medications = forms.MultipleChoiceField(required=False, widget=forms.MultipleHiddenInput, label="Current medicines")
    other_medications = forms.CharField(
        required=False,
        max_length=500,
        label="Other medicines (as written)",
        help_text="Separate with commas. Names Chairside does not recognise are listed as such, never dropped.",
    )
    conditions = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple, label="Conditions")
    diabetes = tri_state_field("Diabetes")
    failed_trials = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Cramp drug trials already tried that did not help (or were not tolerated)",
        help_text="Second- and third-line drugs are offered only after a first-line trial that did not help.",
    )
    hepatic_impairment = forms.ChoiceField(
        choices=[
            ("", "Not recorded"),
            ("none", "None"),
            ("mild", "Mild"),
            ("moderate", "Moderate"),
            ("severe", "Severe"),
        ],
        required=False,
        label="Liver impairment",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["medications"].choices = codes.medication_choices()
        self.fields["conditions"].choices = codes.condition_choices()
        k = load_knowledge()
        trial_drugs = dict.fromkeys(a.drug for a in k.actions.values() if a.drug is not None and a.line is not None)
        self.fields["failed_trials"].choices = [(d, k.drugs[d].name) for d in trial_drugs if d]

    def clean_other_medications(self) -> list[str]:
        raw: str = self.cleaned_data.get("other_medications", "")
        names = [" ".join(part.split()) for part in raw.split(",")]
        return [name[:80] for name in names if name][:20]

    def to_answers(self) -> dict[str, Any]:
        data = self.cleaned_data
        answers: dict[str, Any] = {
            "medications": list(data.get("medications", [])),
            "other_medications": data.get("other_medications", []),
            "conditions": list(data.get("conditions", [])),
        }
        if data.get("failed_trials"):
            answers["failed_trials"] = list(data["failed_trials"])
        diabetes = _choice_to_bool(data.get("diabetes", ""))
        if diabetes is not None:
            answers["diabetes"] = diabetes
        if data.get("hepatic_impairment"):
            answers["hepatic_impairment"] = data["hepatic_impairment"]
        return answers

    @classmethod
    def initial_from(cls, answers: dict[str, Any]) -> dict[str, Any]:
        initial = dict(answers)
        initial["diabetes"] = _bool_to_choice(answers.get("diabetes"))
        initial["other_medications"] = ", ".join(answers.get("other_medications", []))
        return initial


class ReviewForm(StepForm):
    def to_answers(self) -> dict[str, Any]:
        return {}


class AcknowledgeForm(forms.Form):
    code = forms.CharField(max_length=64)
    reason = forms.ChoiceField(
        choices=[],
        widget=forms.RadioSelect,
        label="Why are you continuing?",
        error_messages={"required": "Choose what you have done about this emergency before continuing."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from clinic.workups.models import AckReason

        super().__init__(*args, **kwargs)
        self.fields["reason"].choices = AckReason.choices
