"""The forms of the nephrologist's review: a decision (accept or decline) per nephrologist-scope action and drug
option, with a note (required to decline a hard-stop item), a comment for the signed plan, and the comment that
returns a plan to the nurse. The services enforce the same rules again (clinic/workups/lifecycle.sign)."""

from __future__ import annotations

from typing import Any

from django import forms

from clinic.workups.decisions import ACCEPTED, DECLINED, Item
from clinic.workups.lifecycle import RETURN_COMMENT_MAX, SIGN_COMMENT_MAX

DECISION_CHOICES = [(ACCEPTED, "Accept"), (DECLINED, "Decline")]
NOTE_MAX = 500


class DecisionForm(forms.Form):
    """Accept or decline each item (all required); a note is optional, except when declining a hard-stop item."""

    comment = forms.CharField(
        label="Comment (optional)",
        required=False,
        max_length=SIGN_COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, items: list[Item], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.items = items
        for item in items:
            self.fields[item.field] = forms.ChoiceField(
                label=item.text,
                choices=DECISION_CHOICES,
                widget=forms.RadioSelect,
                error_messages={"required": "Accept or decline this recommendation."},
            )
            self.fields[item.note_field] = forms.CharField(label="Note", required=False, max_length=NOTE_MAX)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for item in self.items:
            if item.hard_stop and cleaned.get(item.field) == DECLINED and not cleaned.get(item.note_field, "").strip():
                self.add_error(
                    item.note_field, "This recommendation concerns a hard-stop drug: say why you decline it."
                )
        return cleaned

    def decisions(self) -> dict[str, dict[str, str]]:
        return {
            item.code: {
                "decision": self.cleaned_data[item.field],
                "note": self.cleaned_data.get(item.note_field, "").strip(),
            }
            for item in self.items
        }

    def rows(self) -> list[tuple[Item, Any, Any]]:
        return [(item, self[item.field], self[item.note_field]) for item in self.items]


class ReturnForm(forms.Form):
    comment = forms.CharField(
        label="What should the nurse check or change?",
        max_length=RETURN_COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say what the nurse should check or change."},
    )
