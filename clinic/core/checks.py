"""System checks: the clinical knowledge must load and be internally consistent before the app serves anyone."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register


@register("chairside")
def knowledge_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from clinic.engine import load_knowledge
    from clinic.engine.integrity import check_integrity

    try:
        knowledge = load_knowledge()
    except Exception as exc:  # any failure to load is a configuration error worth stopping for
        return [Error(f"Clinical knowledge files do not load: {exc}", id="chairside.E001")]
    return [Error(problem, id="chairside.E002") for problem in check_integrity(knowledge)]
