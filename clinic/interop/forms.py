from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from clinic.accounts.models import Unit
from clinic.interop import conf


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".json,.ndjson,application/fhir+json"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)]


class FhirImportForm(forms.Form):
    files = MultipleFileField(
        label="FHIR files",
        help_text="A FHIR R4 JSON Bundle or resource, or bulk-export .ndjson files (Patient, Condition, Procedure, "
        "MedicationRequest, Observation). Several files at once are fine.",
    )

    def __init__(self, *args: Any, units: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if units is not None:
            self.fields["unit"] = forms.ModelChoiceField(queryset=units, empty_label=None, label="Unit")
            self.order_fields(["unit", "files"])

    def clean_files(self) -> list[Any]:
        files = self.cleaned_data["files"]
        limit = conf.import_max_bytes()
        total = sum(f.size for f in files)
        if total > limit:
            raise ValidationError(
                f"The files are larger than {limit // (1024 * 1024) or limit} "
                f"{'MiB' if limit >= 1024 * 1024 else 'bytes'} in all; import them in parts or from the command line."
            )
        return files

    def payloads(self) -> list[tuple[str, bytes]]:
        return [(f.name, f.read()) for f in self.cleaned_data["files"]]

    @property
    def unit(self) -> Unit | None:
        return self.cleaned_data.get("unit")
