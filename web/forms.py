"""Forms as people read them: each field says what it is in plain words, and
every refusal is turned into the sentence the GOV.UK Design System would
use ("Enter a reason for the change", "Choose a PfA area", "Date of birth must
be a real date"), never a library's ("Missing data for required field.").

A page declares its fields once::

    OUTCOME = Form(
        Field("text", "Outcome (Section E wording)", "the outcome"),
        Field("pfa_area", "Preparing for Adulthood area", "a PfA area", kind="choice"),
        Field("due", "Due by", "the date it is due by", kind="date"),
    )

and ``OUTCOME.plain(errors)`` gives the messages by field, in the form's
order, ready for the error summary and for each field (``_form.html``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# What marshmallow and our own schemas and rules say, and what a person is told.
_MISSING = ("missing data for required field", "field may not be null", "is required")
_EMPTY = re.compile(r"^shorter than minimum length 1\b|^length must be between 1 and")
_TOO_LONG = re.compile(r"longer than maximum length (\d+)|length must be between \d+ and (\d+)")
_NOT_A_DATE = ("not a valid date", "must be a date as yyyy-mm-dd", "not a valid datetime")
_NOT_ONE_OF = ("must be one of", "not a valid choice")
_NOT_A_LIST = ("not a valid list",)
_NOT_AN_ID = ("not a valid uuid",)


@dataclass(frozen=True)
class Field:
    """``name`` as posted; ``label`` as shown above it; ``what`` as said in a
    sentence ("a reason for the change"); ``kind``: text, choice (one of a
    list), choices (one or more), date, or number."""

    name: str
    label: str
    what: str
    kind: str = "text"
    hint: str = ""

    def plain(self, message: str) -> str:
        said = message.strip().rstrip(".")
        low = said.lower()
        if any(m in low for m in _MISSING) or _EMPTY.search(low):
            return self._ask()
        if (m := _TOO_LONG.search(low)) is not None:
            return f"{self.label} must be {m.group(1) or m.group(2)} characters or fewer"
        if any(m in low for m in _NOT_A_DATE):
            return f"{self.label} must be a real date, like 27 3 2026"
        if any(m in low for m in _NOT_ONE_OF) or any(m in low for m in _NOT_A_LIST + _NOT_AN_ID):
            return self._ask()
        if said[:1].islower():  # a rule's message about this field: "must be in the past"
            return f"{self.label} {said}"
        return said

    def _ask(self) -> str:
        verb = {"choice": "Choose", "choices": "Choose"}.get(self.kind, "Enter")
        return f"{verb} {self.what}"


class Form:
    """The fields of one form, in the order they are shown."""

    def __init__(self, *fields: Field):
        self.fields = {f.name: f for f in fields}

    def __getitem__(self, name: str) -> Field:
        return self.fields[name]

    def plain(self, errors: dict[str, list[str]]) -> dict[str, list[str]]:
        """Messages by field in plain words, fields in the form's order first.
        A message about a list item ("outcome_ids.0") goes to the list's field."""
        out: dict[str, list[str]] = {}
        for key, messages in errors.items():
            name = key.split(".", 1)[0]
            field = self.fields.get(name)
            said = [field.plain(m) if field else m for m in messages]
            out.setdefault(name if field else key, [])
            out[name if field else key].extend(m for m in said if m not in out[name if field else key])
        order = list(self.fields)
        return dict(sorted(out.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))
