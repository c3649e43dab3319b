"""Load the clinical knowledge (clinic/knowledge/*.toml) into validated, frozen, read-only objects.

``load_knowledge()`` is cached per process and per directory. Structural problems (a missing field, an unknown
placeholder, a bad operator) raise ``KnowledgeError`` at load time; cross-file consistency (every contract code
declared, every source id resolvable, Python implementation present) is checked by ``integrity.check_integrity``.
"""

from __future__ import annotations

import threading
from pathlib import Path

from .knowledge_parse import FILES, build_knowledge
from .knowledge_types import (
    SECONDARY_MARK,
    ActionDef,
    Analyte,
    DoNowDef,
    DrugDef,
    FindingCode,
    Knowledge,
    KnowledgeError,
    OrderLimit,
    RedFlagDef,
    Reference,
    ScreenDef,
    StepDef,
    Threshold,
    TightenRule,
    UnitDef,
    fmt_number,
    normalise_unit,
)

# The objects live in knowledge_types.py and the TOML parsing in knowledge_parse.py; they are re-exported here,
# the import path the rest of the code has always used.
__all__ = [
    "DEFAULT_DIR",
    "FILES",
    "SECONDARY_MARK",
    "ActionDef",
    "Analyte",
    "DoNowDef",
    "DrugDef",
    "FindingCode",
    "Knowledge",
    "KnowledgeError",
    "OrderLimit",
    "RedFlagDef",
    "Reference",
    "ScreenDef",
    "StepDef",
    "Threshold",
    "TightenRule",
    "UnitDef",
    "clear_cache",
    "fmt_number",
    "load_knowledge",
    "normalise_unit",
]

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "knowledge"

# --------------------------------------------------------------------------------------------- loading

_cache: dict[str, Knowledge] = {}
_lock = threading.Lock()
_DEFAULT_KEY = str(DEFAULT_DIR)  # already resolved: pages call load_knowledge() dozens of times per request


def load_knowledge(path: str | Path | None = None) -> Knowledge:
    """Load and validate the knowledge directory (default ``clinic/knowledge``). Cached per process."""
    directory = DEFAULT_DIR if path is None else Path(path)
    key = _DEFAULT_KEY if path is None else str(directory.resolve())
    cached = _cache.get(key)
    if cached is not None:
        return cached
    with _lock:
        cached = _cache.get(key)
        if cached is None:
            cached = build_knowledge(directory)
            _cache[key] = cached
        return cached


def clear_cache() -> None:
    with _lock:
        _cache.clear()
