"""Free-text medicine names -> medication codes, from the reviewed table in ``medicine_names.toml``.

One matcher for every door into the engine: case validation (the JSON contract and the wizard), the web medicine
search, the FHIR import and the CDS Hooks services. Public functions:

- ``match_medicines(text) -> MedicineMatch``: every code the entry names (a combination product names several),
  plus any spelling that was read as a listed name. Use this where a hard stop must not be missed.
- ``match_medicine(text) -> str | None``: the code when the entry names exactly one coded medicine.
- ``search_medicines(query, limit) -> list[tuple[str, str]]``: (code, display) pairs for type-ahead.
- ``normalise_medicine(text) -> str``: the words left once doses, frequencies, routes and forms are set aside.

A mention always counts: "stopped baclofen" still matches baclofen, so free text can only make the plan stricter
(a hard stop and taper advice), never switch a hard stop off.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .knowledge import Knowledge, load_knowledge

FILE = "medicine_names.toml"
KINDS = ("generic", "brand", "spelling", "member")

# Words that describe how much, how often, by which route or in which form: never part of a medicine's name.
_DOSE = {"mg", "mcg", "ug", "g", "gm", "gram", "grams", "ml", "iu", "unit", "units", "mmol", "meq", "x", "per"}
_FREQUENCY = {
    "od", "bd", "bid", "tds", "tid", "qds", "qid", "qd", "qh", "qhs", "hs", "nocte", "mane", "prn", "stat",
    "daily", "once", "twice", "thrice", "weekly", "day", "days", "week", "a", "at", "night", "bedtime",
    "morning", "evening", "every", "each", "times", "three", "two", "one", "hourly", "as", "needed", "required",
    "alternate", "after", "before", "post", "pre", "with", "on", "hd", "dialysis", "and", "or", "the",
    "for", "when", "to", "take", "takes", "taking",
}  # fmt: skip
_ROUTE = {
    "po", "oral", "orally", "iv", "im", "sc", "sq", "sl", "subcut", "subcutaneous", "intravenous",
    "intramuscular", "intrathecal", "pr", "topical", "inhaled", "neb", "transdermal", "by", "mouth",
}  # fmt: skip
_FORM = {
    "tab", "tabs", "tablet", "tablets", "cap", "caps", "capsule", "capsules", "solution", "susp", "suspension",
    "syrup", "liquid", "elixir", "injection", "inj", "infusion", "drops", "cream", "gel", "patch", "er", "sr",
    "xr", "xl", "cr", "mr", "la", "dr", "ec", "odt", "disintegrating", "extended", "release", "modified",
    "delayed", "chewable", "dispersible", "film", "coated", "granules", "powder", "sachet", "vial", "ampoule",
    "amp", "pen", "prefilled", "usp", "bp",
}  # fmt: skip
_SALT = {
    "sulfate", "sulphate", "bisulfate", "bisulphate", "hydrochloride", "hcl", "hydrobromide", "maleate",
    "mesylate", "besylate", "tartrate", "succinate", "fumarate", "phosphate", "acetate", "sodium", "potassium",
    "calcium", "dihydrate", "monohydrate", "anhydrous", "hyclate", "bitartrate", "gluconate", "polygalacturonate",
    "citrate", "carbonate", "lactate", "chloride", "bromide", "mesilate", "besilate", "hydrogen",
}  # fmt: skip
_IGNORED = _DOSE | _FREQUENCY | _ROUTE | _FORM
_NUMBER = re.compile(r"^\d+(\.\d+)?%?$")
MAX_NGRAM = 3


@dataclass(frozen=True, slots=True)
class NameLine:
    name: str  # as written in the table
    key: str  # normalised
    code: str
    kind: str
    source: str


@dataclass(frozen=True, slots=True)
class MedicineMatch:
    codes: tuple[str, ...]  # every code named, in the order found
    read_as: tuple[tuple[str, str], ...] = ()  # (word as entered, listed name it was read as)

    @property
    def code(self) -> str | None:
        return self.codes[0] if len(self.codes) == 1 else None


@dataclass(frozen=True, slots=True)
class MedicineIndex:
    lines: tuple[NameLine, ...]
    by_key: dict[str, tuple[str, ...]]  # normalised name -> codes
    version: str
    review: str


# ------------------------------------------------------------------------------------------- normalising


def _words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).lower()
    folded = folded.replace("µ", "u").replace("μ", "u")
    folded = re.sub(r"(?<=\d)(?=[a-z%])|(?<=[a-z])(?=\d)", " ", folded)  # "10mg" -> "10 mg"
    folded = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", folded)  # keep decimal points only
    folded = re.sub(r"[^a-z0-9.%]+", " ", folded)
    return folded.split()


def _name_words(words: list[str]) -> list[str]:
    return [w for w in words if w not in _IGNORED and not _NUMBER.match(w)]


def normalise_medicine(text: str) -> str:
    """'Lioresal 10 mg tds' -> 'lioresal'; 'Quinine Sulfate 300mg PO' -> 'quinine sulfate'."""
    return " ".join(_name_words(_words(text)))


def _key(name: str) -> str:
    return " ".join(_words(name))


# ------------------------------------------------------------------------------------------- the table


def load_index(knowledge: Knowledge | None = None) -> MedicineIndex:
    k = knowledge or load_knowledge()
    return _load(k.path, k.content_hash, tuple(k.medications.items()))


@lru_cache(maxsize=8)
def _load(path: str, content_hash: str, medications: tuple[tuple[str, str], ...]) -> MedicineIndex:
    # content_hash is part of the cache key only: the file is hashed with the other knowledge files.
    raw = tomllib.loads((Path(path) / FILE).read_text(encoding="utf-8"))
    lines: list[NameLine] = []
    for code, entries in raw.get("names", {}).items():
        for entry in entries:
            lines.append(
                NameLine(
                    name=str(entry["name"]),
                    key=_key(str(entry["name"])),
                    code=str(code),
                    kind=str(entry.get("kind", "")),
                    source=str(entry.get("source", "")),
                )
            )
    by_key: dict[str, list[str]] = {}
    # the contract code and its display name always match ("vitamin_e", "SSRI or SNRI antidepressant")
    for code, display in medications:
        for key in (_key(code), _key(display)):
            by_key.setdefault(key, [])
            if code not in by_key[key]:
                by_key[key].append(code)
    for line in lines:
        by_key.setdefault(line.key, [])
        if line.code not in by_key[line.key]:
            by_key[line.key].append(line.code)
    return MedicineIndex(
        lines=tuple(lines),
        by_key={key: tuple(codes) for key, codes in by_key.items() if key},
        version=str(raw.get("version", "")),
        review=str(raw.get("review", "")),
    )


# ------------------------------------------------------------------------------------------- matching


def _scan(words: list[str], by_key: dict[str, tuple[str, ...]]) -> tuple[list[str], set[int]]:
    """Codes of listed names found as word runs (longest first, no overlaps); and the word positions used."""
    codes: list[str] = []
    used: set[int] = set()
    for size in range(min(MAX_NGRAM, len(words)), 0, -1):
        for start in range(len(words) - size + 1):
            span = set(range(start, start + size))
            if span & used:
                continue
            found = by_key.get(" ".join(words[start : start + size]))
            if found:
                used |= span
                codes.extend(c for c in found if c not in codes)
    return codes, used


def _distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a swap of two neighbours counts once), stopping above ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def _allowed_typos(word: str) -> int:
    return 0 if len(word) < 5 else 1 if len(word) < 8 else 2


def _fuzzy(word: str, by_key: dict[str, tuple[str, ...]]) -> tuple[str, tuple[str, ...]] | None:
    """The one single-word listed name within the allowed typos of ``word``; None if none or several."""
    limit = _allowed_typos(word)
    if limit == 0:
        return None
    best: list[tuple[int, str]] = []
    for key in by_key:
        if " " in key:
            continue
        d = _distance(word, key, limit)
        if d <= limit:
            best.append((d, key))
    if not best:
        return None
    best.sort()
    closest = [key for d, key in best if d == best[0][0]]
    codes = {c for key in closest for c in by_key[key]}
    if len(codes) != 1:
        return None  # ambiguous (quinine or quinidine?): leave it unrecognised for a person to read
    return closest[0], by_key[closest[0]]


def match_medicines(text: str, knowledge: Knowledge | None = None) -> MedicineMatch:
    """Every medication code a free-text entry names. Empty ``codes`` = not recognised (report it, never drop)."""
    index = load_index(knowledge)
    exact = index.by_key.get(_key(text))  # a code or listed name as it stands ("ssri_or_snri")
    if exact:
        return MedicineMatch(exact)
    words = _name_words(_words(text))
    if not words:
        return MedicineMatch(())
    whole = index.by_key.get(" ".join(words))
    if whole:
        return MedicineMatch(whole)
    without_salts = [w for w in words if w not in _SALT] or words
    whole = index.by_key.get(" ".join(without_salts))
    if whole:
        return MedicineMatch(whole)
    codes, used = _scan(words, index.by_key)
    read_as: list[tuple[str, str]] = []
    for i, word in enumerate(words):
        if i in used or word in _SALT:
            continue
        hit = _fuzzy(word, index.by_key)
        if hit is not None:
            read_as.append((word, hit[0]))
            codes.extend(c for c in hit[1] if c not in codes)
    return MedicineMatch(tuple(codes), tuple(read_as))


def match_medicine(text: str, knowledge: Knowledge | None = None) -> str | None:
    """The medication code when ``text`` names exactly one coded medicine, else None."""
    return match_medicines(text, knowledge).code


def search_medicines(query: str, knowledge: Knowledge | None = None, limit: int = 10) -> list[tuple[str, str]]:
    """Type-ahead: (code, display) pairs, best first, e.g. ("baclofen", "Lioresal (Baclofen)").

    Prefix matches on the code's own name first, then on listed names, then on any word of a listed name. A
    query that matches nothing by prefix falls back to the full matcher (doses, salts and spelling slips).
    """
    k = knowledge or load_knowledge()
    index = load_index(k)
    q = normalise_medicine(query)
    if not q:
        return []
    ranked: list[tuple[int, str, str, str]] = []
    for code, name in k.medications.items():
        if _key(name).startswith(q) or _key(code).startswith(q):
            ranked.append((0, name.lower(), code, name))
    for line in index.lines:
        if line.key.startswith(q):
            rank = 1
        elif any(w.startswith(q) for w in line.key.split()):
            rank = 2
        else:
            continue
        ranked.append((rank, line.key, line.code, display(line, k)))
    out: list[tuple[str, str]] = []
    for _, _, code, shown in sorted(ranked):
        if (code, shown) not in out:
            out.append((code, shown))
    if not out:
        out = [(code, k.medications.get(code, code)) for code in match_medicines(query, k).codes]
    return out[:limit]


def display(line: NameLine, k: Knowledge) -> str:
    """'Lioresal (Baclofen)' for a brand or member; the code's own name for its generic name."""
    name = k.medications.get(line.code, line.code)
    return name if line.key == _key(name) else f"{line.name} ({name})"


# ------------------------------------------------------------------------------------------- integrity


def check_medicine_names(k: Knowledge) -> list[str]:
    """Problems in medicine_names.toml (empty = OK); called by integrity.check_integrity."""
    problems: list[str] = []
    try:
        index = load_index(k)
    except (OSError, tomllib.TOMLDecodeError, KeyError) as exc:
        return [f"{FILE}: cannot be read ({exc})"]
    seen: dict[str, str] = {}
    for line in index.lines:
        where = f"{FILE} {line.code}: '{line.name}'"
        if line.code not in k.medications:
            problems.append(f"{where}: '{line.code}' is not a medication code")
        if line.kind not in KINDS:
            problems.append(f"{where}: kind must be one of {', '.join(KINDS)}")
        if line.source not in k.references:
            problems.append(f"{where}: source '{line.source}' is not in references.toml")
        if not line.key or normalise_medicine(line.name) != line.key:
            problems.append(f"{where}: the name contains a dose, route, form or frequency word; list the name only")
        if seen.get(f"{line.code}|{line.key}"):
            problems.append(f"{where}: listed twice")
        seen[f"{line.code}|{line.key}"] = line.name
    return problems
