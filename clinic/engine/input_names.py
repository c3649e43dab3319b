"""Human names for case paths ("labs.carnitine_free" -> "Free carnitine", "dialysis.dialysate_temperature_c" ->
"Dialysate temperature"): for text a person reads, where the plan's contract fields keep the paths themselves."""

from __future__ import annotations

from .case_fields import DIALYSIS, EPISODE, PATIENT, VITALS, Spec
from .knowledge_types import Knowledge

SECTIONS: dict[str, dict[str, Spec]] = {"patient": PATIENT, "episode": EPISODE, "vitals": VITALS, "dialysis": DIALYSIS}
WHOLE_SECTIONS = {"medications": "the medication list", "previous_trials": "drug trials already tried"}


def input_name(path: str, k: Knowledge) -> str:
    """The name of the input at ``path``, capitalised as the start of a list item."""
    section, _, key = path.partition(".")
    if not key and section in WHOLE_SECTIONS:
        name = WHOLE_SECTIONS[section]
    elif section == "labs" and key in k.analytes:
        name = k.analytes[key].name
    elif section == "findings" and key in k.findings:
        name = k.findings[key].name
    elif section == "previous_trials":
        name = WHOLE_SECTIONS[section]
    elif key in SECTIONS.get(section, {}):
        name = SECTIONS[section][key].label
    else:  # a path the contract does not define: still never shown with underscores
        name = (key or section).replace("_", " ")
    return name[:1].upper() + name[1:]
