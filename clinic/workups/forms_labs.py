"""The wizard's lab and dialysis-prescription steps."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms

from clinic.core import codes
from clinic.core.fields import PlainNumberInput, UnitChoiceField
from clinic.engine import load_knowledge
from clinic.engine.contract import LAB_WHEN
from clinic.engine.validation import DIALYSIS, Bool, Enum, Num
from clinic.workups.forms_base import (
    ENUM_LABELS,
    WHEN_LABELS,
    StepForm,
    bool_to_choice,
    choice_to_bool,
    number_field,
    tri_state_field,
)


class LabsForm(StepForm):
    """A value, a unit and a sampling time per analyte. Units default to the patient's (or unit's) system."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows: list[tuple[str, str]] = []
        aliases = codes.unit_aliases()
        for code, analyte in load_knowledge().analytes.items():
            units = [u for u in dict.fromkeys(u.unit for u in analyte.units) if u not in aliases]
            default_unit = codes.preferred_unit(code, self.unit_system)
            value = forms.FloatField(required=False, label=analyte.name, widget=PlainNumberInput)
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
            post = forms.FloatField(required=False, label=f"{analyte.name} after dialysis", widget=PlainNumberInput)
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
                flag = choice_to_bool(value)
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
                initial[key] = bool_to_choice(answers.get(key))
        return initial
