"""Form fields drawn by Django's ``as_field_group`` through the form renderer's field template
(clinic/core/jinja2/chairside/field.html): labels tied to their controls, Bootstrap classes, errors and help text
announced to screen readers, checkbox lists as a fieldset with a legend."""

from __future__ import annotations

import re

from clinic.workups.forms import DialysisForm, MedicationsForm


def test_a_number_field_with_an_error_is_marked_and_described() -> None:
    form = DialysisForm(data={"pre_weight_kg": "999"})
    assert not form.is_valid()
    html = form["pre_weight_kg"].as_field_group()
    assert '<label for="id_pre_weight_kg" class="form-label">Pre-dialysis weight (kg)</label>' in html
    control = re.search(r"<input [^>]*>", html).group(0)  # type: ignore[union-attr]
    assert 'class="form-control is-invalid"' in control and 'aria-invalid="true"' in control
    assert 'aria-describedby="id_pre_weight_kg_error"' in control
    assert '<div id="id_pre_weight_kg_error" class="invalid-feedback d-block">' in html
    assert "Enter a number from 20 to 300 kg." in html


def test_a_valid_select_gets_the_select_class_once_and_no_error() -> None:
    form = DialysisForm(data={"buffer": ""})
    form.is_valid()
    html = form["buffer"].as_field_group()
    assert re.search(r'<select [^>]*class="form-select"', html) and "is-invalid" not in html
    assert "invalid-feedback" not in html


def test_help_text_is_announced_with_its_control() -> None:
    html = MedicationsForm()["other_medications"].as_field_group()
    assert 'aria-describedby="id_other_medications_helptext"' in html
    assert '<div id="id_other_medications_helptext" class="form-text">Separate with commas.' in html


def test_a_checkbox_list_is_a_fieldset_of_form_checks_with_a_legend() -> None:
    form = MedicationsForm(data={"conditions": ["glaucoma"]})
    form.is_valid()
    html = form["conditions"].as_field_group()
    assert html.startswith('<fieldset id="div_id_conditions" class="mb-3">')
    assert '<legend class="form-label fs-6">Conditions</legend>' in html
    boxes = re.findall(r'<div class="form-check"><input type="checkbox" name="conditions" [^>]*>', html)
    assert len(boxes) == len(form.fields["conditions"].choices) > 1
    assert all('class="form-check-input"' in box for box in boxes)
    checked = [box for box in boxes if " checked" in box]
    assert len(checked) == 1 and 'value="glaucoma"' in checked[0]
    assert '<label class="form-check-label" for="id_conditions_0">' in html
