"""The hand-written field renderers in clinic/core/templatetags/ui_tags.py must give the markup they replace,
as Django's assertHTMLEqual compares it (whitespace and attribute order aside): ``|bs_field`` that of
crispy-bootstrap5's ``|as_crispy_field``, ``{% choice_buttons %}`` that of the template include it replaced
(kept below as the reference), and our override of crispy's checkbox/radio template that of the original.
Every field of every form is rendered unbound, bound empty and bound with junk, each time with fresh forms so
crispy's widget-class mutation cannot leak."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field
from django import forms
from django.template import Context, Engine, engines
from django.template.backends.django import get_installed_libraries
from django.test.html import Element, parse_html

from clinic.accounts.models import Unit, User
from clinic.core.templatetags import ui_tags
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


def normalise(html: str) -> Element:
    """Django's assertHTMLEqual comparison: whitespace and attribute order do not count, everything else does."""
    return parse_html(str(html))


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
    nurse_a: User, unit_a: Unit, make_patient: Callable[..., Patient], monkeypatch: pytest.MonkeyPatch
) -> None:
    fallbacks: list[str] = []

    def counting_fallback(field: forms.BoundField) -> str:
        fallbacks.append(field.name)
        return as_crispy_field(field)

    monkeypatch.setattr(ui_tags, "as_crispy_field", counting_fallback)
    patient = make_patient(unit_a)
    rendered = 0
    for make in form_makers(nurse_a, patient):
        probe = make()
        for state in ("unbound", "empty", "junk"):
            data = None if state == "unbound" else {} if state == "empty" else junk_for(probe)
            crispy_form, fast_form = make(data), make(data)
            for name in probe.fields:
                expected = normalise(as_crispy_field(crispy_form[name]))
                got = normalise(bs_field(fast_form[name]))
                assert got == expected, f"{type(probe).__name__}.{name} ({state})"
                rendered += 1
    assert rendered - len(fallbacks) > 100  # the comparison really exercised the hand-written path
    assert fallbacks  # and the fields it leaves to crispy were compared too


def original_crispy_markup(field: forms.BoundField) -> str:
    """``|as_crispy_field`` with crispy-bootstrap5's own templates, not this project's override of one of them."""
    # Installed apps' templates only (no project templates/ directory), with the installed tag libraries.
    engine = Engine(app_dirs=True, libraries=get_installed_libraries())
    attributes: dict[str, Any] = {
        "field": field,
        "form_show_errors": True,
        "form_show_labels": True,
        "label_class": "",
        "field_class": "",
    }
    helper = getattr(field.form, "helper", None)
    if helper is not None:
        attributes.update(helper.get_attributes("bootstrap5"))
    return engine.get_template("bootstrap5/field.html").render(Context(attributes))


@pytest.mark.django_db
def test_overridden_checkbox_and_radio_template_keeps_crispys_markup(
    nurse_a: User, unit_a: Unit, make_patient: Callable[..., Patient]
) -> None:
    """templates/bootstrap5/layout/radio_checkbox_select.html only makes crispy's template faster."""
    compared = 0
    for make in form_makers(nurse_a, make_patient(unit_a)):
        probe = make()
        lists = [n for n, f in probe.fields.items() if isinstance(f.widget, forms.RadioSelect)]
        for data in (None, {}, junk_for(probe)):
            ours, theirs = make(data), make(data)
            for name in lists:
                expected = normalise(original_crispy_markup(theirs[name]))
                assert normalise(as_crispy_field(ours[name])) == expected, f"{type(probe).__name__}.{name}"
                compared += 1
    assert compared > 20


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
