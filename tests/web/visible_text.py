"""What a person sees or hears on a page, from its HTML: text nodes (not scripts, styles or hidden inputs), the
values shown in text fields and selects, and the labels assistive technology reads (aria-label, title, alt,
placeholder). And the checks for raw internal values in that text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from html.parser import HTMLParser

SKIP_CONTENT = {"script", "style", "template", "head"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
SPOKEN_ATTRIBUTES = ("aria-label", "title", "alt", "placeholder")
SHOWN_INPUT_TYPES = {"text", "number", "search", "tel", "email", "", None}


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in SKIP_CONTENT and tag not in VOID:
            self.skipping.append(tag)
        if self.skipping:
            return
        for name in SPOKEN_ATTRIBUTES:
            if attributes.get(name):
                self.chunks.append(str(attributes[name]))
        if tag == "input" and attributes.get("type") in SHOWN_INPUT_TYPES and attributes.get("value"):
            self.chunks.append(str(attributes["value"]))
        if tag in {"p", "div", "li", "td", "th", "dt", "dd", "tr", "br", "h1", "h2", "h3", "h4", "option", "label"}:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.chunks.append(data)


def visible_text(html: str) -> str:
    parser = _Extractor()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.chunks).splitlines())
    return "\n".join(line for line in lines if line)


@cache
def _internal_words() -> frozenset[str]:
    """The case contract's field names and the lab codes written with spaces for underscores ("dialysate
    temperature c", "carnitine free"): what ``key.replace("_", " ")`` makes of them, unless that happens to be
    the field's own name."""
    from clinic.engine import load_knowledge
    from clinic.engine.validation import DIALYSIS, EPISODE, PATIENT, VITALS

    k = load_knowledge()
    spaced = {
        code.replace("_", " "): spec.label
        for section in (PATIENT, EPISODE, VITALS, DIALYSIS)
        for code, spec in section.items()
        if "_" in code
    }
    spaced |= {code.replace("_", " "): analyte.name for code, analyte in k.analytes.items() if "_" in code}
    return frozenset(words for words, name in spaced.items() if words != name.lower())


@cache
def _lab_units() -> str:
    from clinic.engine import load_knowledge

    units = {u.unit for analyte in load_knowledge().analytes.values() for u in analyte.units}
    return "|".join(re.escape(unit) for unit in sorted(units, key=len, reverse=True))


SNAKE = re.compile(r"(?<![\w/.-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?:\.[a-z0-9_]+)*(?![\w/-])")
DOTTED = re.compile(r"\b(?:labs|findings|dialysis|vitals|patient|episode|medications)\.[a-z_]+\b")
PY_BOOL = re.compile(r"(?<![\w-])(?:True|False|None)(?![\w-])(?! of)")
REPR = re.compile(
    r"\[['\"]|\{['\"]|\[\]|\{\}|Decimal\(|datetime\.|<[A-Z]\w+ object|\bnan\b|\binf\b"
    r"|(?<![\w-])\d+(?:\.\d+)?[Ee][+-]?\d+(?![\w-])"  # 1.4E+2
)


def _point_zero(line: str) -> list[str]:
    """Whole numbers written with ".0". A lab result below 100 followed by its unit keeps the ".0" of its
    reporting precision (potassium 3.0 mmol/L); nothing else does (sodium 138.0, weight 70.0 kg, "2.0")."""
    lab = re.compile(rf"\s?(?:{_lab_units()})(?![\w/])")
    found = []
    for match in re.finditer(r"(?<![\d.])(\d+)\.0(?![\d.])", line):
        if int(match.group(1)) < 100 and lab.match(line, match.end()):
            continue
        found.append(match.group(0))
    return found


def raw_values(text: str) -> list[str]:
    """Every raw internal value in ``text``: snake_case or dotted keys, keys with their underscores replaced by
    spaces, Python's True/False/None, Python reprs, and whole numbers printed with a meaningless ``.0``."""
    found: list[str] = []
    for line in text.splitlines():
        hits: Iterable[str] = [
            *(f"key {m}" for m in SNAKE.findall(line)),
            *(f"key {m}" for m in DOTTED.findall(line)),
            *(f"python {m}" for m in PY_BOOL.findall(line)),
            *(f"repr {m}" for m in REPR.findall(line)),
            *(f"number {m}" for m in _point_zero(line)),
            *(
                f"spaced key {w!r}"
                for w in _internal_words()
                if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", line, re.IGNORECASE)
            ),
        ]
        found.extend(f"{hit} in: {line[:160]}" for hit in hits)
    return found
