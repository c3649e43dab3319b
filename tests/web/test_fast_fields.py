"""The hand-written field renderers in clinic/core/templatetags/ui_tags.py must give exactly the markup they
replace: ``|bs_field`` that of crispy-bootstrap5's ``|as_crispy_field``, ``{% choice_buttons %}`` that of the
template include it replaced (kept below as the reference). Every field of every form is rendered unbound,
bound empty, and bound with junk, each time with fresh forms so crispy's widget-class mutation cannot leak."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field
from django import forms
from django.template import engines

from clinic.accounts.models import Unit, User
from clinic.core.templatetags.ui_tags import bs_field, choice_buttons
from clinic.patients.forms import LabResultForm, PatientForm
from clinic.patients.models import Patient
from clinic.workups.steps import STEPS

CHOICE_BUTTONS_REFERENCE = (
    '<fieldset class="choice-group mb-3{% if field.errors %} is-invalid{% endif %}" id="group-{{ field.html_name }}">'
    '<legend class="form-label fw-semibold">{{ legend|default:field.label }}</legend>'
    '<div class="choice-buttons" role="presentation">'
    "{% for radio in field %}"
    '<input type="radio" class="btn-check" name="{{ field.html_name }}" id="{{ radio.id_for_label }}"'
    ' value="{{ radio.data.value }}"{% if radio.data.selected %} checked{% endif %} autocomplete="off">'
    "<label class=\"btn {% if radio.data.value == 'yes' %}btn-outline-danger"
    "{% elif radio.data.value == '' %}btn-outline-secondary{% else %}btn-outline-primary{% endif %}\""
    ' for="{{ radio.id_for_label }}">{{ radio.choice_label }}</label>'
    "{% endfor %}"
    "</div>"
    '{% for error in field.errors %}<div class="invalid-feedback d-block">{{ error }}</div>{% endfor %}'
    "</fieldset>"
)


def normalise(html: str) -> str:
    html = re.sub(r"\s+", " ", str(html))
    return re.sub(r"\s*([<>])\s*", r"\1", html).strip()


def junk_for(form: forms.BaseForm) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for index, (name, field) in enumerate(form.fields.items()):
        if isinstance(field, forms.MultipleChoiceField):
            data[name] = ["not-a-choice", *[str(v) for v, _ in list(field.choices)[:1]]]
        elif isinstance(field, forms.ChoiceField):
            choices = [str(v) for v, _ in field.choices if v != ""]
            data[name] = "not-a-choice" if index % 2 else (choices[0] if choices else "")
        else:
            data[name] = ["abc", "-5", "1e9", "<b>x</b>", ""][index % 5]
    return data


def form_makers(nurse: User, patient: Patient) -> list[Callable[..., forms.BaseForm]]:
    makers: list[Callable[..., forms.BaseForm]] = []
    for step in STEPS:
        if step.form_class.__name__ == "LabsForm":
            makers += [
                lambda *a, cls=step.form_class, system=system, **k: cls(*a, unit_system=system, **k)
                for system in ("SI", "US")
            ]
        else:
            makers.append(step.form_class)
    makers.append(lambda *a, **k: PatientForm(*a, user=nurse, **k))
    makers.append(lambda *a, **k: LabResultForm(*a, patient=patient, **k))
    return makers


@pytest.mark.django_db
def test_bs_field_gives_crispys_markup_for_every_field(
    nurse_a: User, unit_a: Unit, make_patient: Callable[..., Patient]
) -> None:
    patient = make_patient(unit_a)
    fast_paths = 0
    for make in form_makers(nurse_a, patient):
        probe = make()
        for state in ("unbound", "empty", "junk"):
            data = None if state == "unbound" else {} if state == "empty" else junk_for(probe)
            crispy_form, fast_form = make(data), make(data)
            for name in probe.fields:
                expected = normalise(as_crispy_field(crispy_form[name]))
                got = normalise(bs_field(fast_form[name]))
                assert got == expected, f"{type(probe).__name__}.{name} ({state})"
                fast_paths += not isinstance(probe.fields[name].widget, (forms.RadioSelect, forms.CheckboxInput))
    assert fast_paths > 100  # the comparison really exercised the hand-written path


@pytest.mark.django_db
def test_choice_buttons_give_the_reference_markup(
    nurse_a: User, unit_a: Unit, make_patient: Callable[..., Patient]
) -> None:
    reference = engines["django"].from_string(CHOICE_BUTTONS_REFERENCE)
    compared = 0
    for make in form_makers(nurse_a, make_patient(unit_a)):
        probe = make()
        radios = [n for n, f in probe.fields.items() if isinstance(f.widget, forms.RadioSelect)]
        radios = [n for n in radios if not isinstance(probe.fields[n].widget, forms.CheckboxSelectMultiple)]
        for data in (None, {}, junk_for(probe), dict.fromkeys(radios, "yes")):
            form = make(data)
            for name in radios:
                expected = normalise(reference.render({"field": form[name]}))
                assert normalise(choice_buttons(form[name])) == expected, f"{type(probe).__name__}.{name}"
                compared += 1
    assert compared > 100
