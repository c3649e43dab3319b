"""Parse a contract case from untrusted JSON text: one place for the API and the command line."""

from __future__ import annotations

import json


class CaseJSONError(ValueError):
    """The text is not a JSON document the engine can read; the message is for the person who sent it."""


def parse_case_json(raw: bytes | str) -> object:
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        data = json.loads(text)
        # Lone surrogate escapes ("\ud800") parse, but are not text: echoed in an error they cannot be encoded.
        json.dumps(data, ensure_ascii=False, allow_nan=True).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CaseJSONError("The case holds a lone surrogate escape (such as \\ud800), which is not text.") from exc
    except RecursionError as exc:
        raise CaseJSONError("The case is nested too deeply to be a case.") from exc
    except json.JSONDecodeError as exc:
        raise CaseJSONError(f"Not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}.") from exc
    except ValueError as exc:  # UnicodeDecodeError, an integer with more than 4300 digits
        raise CaseJSONError(f"Not valid JSON ({exc.__class__.__name__}).") from exc
    return data
