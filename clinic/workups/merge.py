"""Three-way merge of one wizard step's answers: two tabs (or two people) that changed different answers of a step
both keep theirs; only one answer changed to different values on both sides is a conflict.

A step page carries the answers it was opened with (its *base*), signed so that it cannot be altered or moved to
another workup or step. A save compares, answer by answer (per form field, as the form shows them), the answers
posted (*mine*) and the answers stored now (*theirs*) with that base: an answer changed on one side only takes
that side's value. No database access here; the service calls this under its row lock."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from django.core import signing

from clinic.workups.forms_base import StepForm

SALT = "chairside.workups.step-base"


def sign_base(workup_id: object, slug: str, answers: Mapping[str, Any]) -> str:
    """The hidden ``base`` field of a step page: the answers its form was filled from."""
    return signing.dumps(dict(answers), salt=f"{SALT}:{workup_id}:{slug}", compress=True)


def read_base(token: str, workup_id: object, slug: str) -> dict[str, Any] | None:
    """The base a page posted back, or None if it is missing or was not made for this workup and step."""
    if not token:
        return None
    try:
        base = signing.loads(token, salt=f"{SALT}:{workup_id}:{slug}")
    except signing.BadSignature:
        return None
    return base if isinstance(base, dict) else None


def _empty(value: object) -> bool:
    return value is None or value == "" or value == [] or value == ()


def flat(form_class: type[StepForm], answers: Mapping[str, Any]) -> dict[str, Any]:
    """A step's answers per form field, as the form shows them; unanswered fields are left out."""
    return {key: value for key, value in form_class.initial_from(dict(answers)).items() if not _empty(value)}


def _same(a: object, b: object) -> bool:
    return _comparable(a) == _comparable(b)


def _comparable(value: object) -> object:
    if _empty(value):
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list | tuple):
        return tuple(sorted(str(item) for item in value))  # the same medicines in another order are the same
    return str(value)


@dataclass(frozen=True)
class StepMerge:
    answers: dict[str, Any] | None  # the merged answers; None when there is a conflict
    conflicts: tuple[str, ...]  # form fields both sides changed, to different values
    taken: tuple[str, ...]  # form fields whose saved value came from the other side (this form does not show it)
    theirs: dict[str, Any]  # flat answers stored now
    mine: dict[str, Any]  # flat answers posted


def merge_step(
    form_class: type[StepForm],
    base: Mapping[str, Any],
    theirs: Mapping[str, Any],
    mine: Mapping[str, Any],
    bind: Callable[[dict[str, Any]], StepForm],
    resolve: str = "",
    own: Collection[str] = (),
) -> StepMerge:
    """Merge ``mine`` into ``theirs`` relative to ``base``. ``own`` are the fields whose stored value this same
    page saved last (its base may not show that save yet, when the save's answer was still on its way): there the
    page's value wins. ``resolve`` ("mine" or "theirs") settles the fields both sides changed; without it they
    are conflicts. ``bind`` makes the step's form from flat values, to check that a combination taken from both
    sides is still valid (a contradiction between the two is a conflict too)."""
    b, t, m = flat(form_class, base), flat(form_class, theirs), flat(form_class, mine)
    merged: dict[str, Any] = {}
    conflicts: list[str] = []
    taken: list[str] = []
    for key in sorted(set(b) | set(t) | set(m)):
        bv, tv, mv = b.get(key), t.get(key), m.get(key)
        if key in own or _same(mv, tv) or _same(tv, bv):
            value = mv
        elif _same(mv, bv) or resolve == "theirs":
            value = tv
            taken.append(key)
        elif resolve == "mine":
            value = mv
        else:
            conflicts.append(key)
            continue
        if not _empty(value):
            merged[key] = value
    if conflicts:
        return StepMerge(None, tuple(conflicts), tuple(taken), t, m)
    if not taken:
        return StepMerge(dict(mine), (), (), t, m)
    form = bind(merged)
    if not form.is_valid():  # each side's change is valid alone, not together: the user decides
        changed = {key for key in set(b) | set(t) | set(m) if not _same(t.get(key), m.get(key))}
        return StepMerge(None, tuple(sorted(changed)), tuple(taken), t, m)
    return StepMerge(form.to_answers(), (), tuple(taken), t, m)


def changed_fields(form_class: type[StepForm], before: Mapping[str, Any], after: Mapping[str, Any]) -> set[str]:
    """The form fields whose answer differs between two versions of a step's answers."""
    b, a = flat(form_class, before), flat(form_class, after)
    return {key for key in set(b) | set(a) if not _same(b.get(key), a.get(key))}
