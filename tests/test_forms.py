"""Refusals in plain words (web/forms.py): what a library says becomes what a
person is told, by the kind of field."""

import pytest

from web.forms import Field, Form

FORM = Form(
    Field("reason", "Reason", "a reason for the change"),
    Field("pfa_area", "Preparing for Adulthood area", "a PfA area", kind="choice"),
    Field("due", "Due by", "the date it is due by", kind="date"),
    Field("outcome_ids", "Outcomes it serves", "at least one outcome it serves", kind="choices"),
    Field("name", "Full name", "the learner's full name"),
)


@pytest.mark.parametrize("field, said, told", [
    ("reason", "Missing data for required field.", "Enter a reason for the change"),
    ("reason", "Shorter than minimum length 1.", "Enter a reason for the change"),
    ("reason", "A reason for the change is required", "Enter a reason for the change"),
    ("reason", "Longer than maximum length 4000.", "Reason must be 4000 characters or fewer"),
    ("pfa_area", "Must be one of: employment, independent_living, community, health.", "Choose a PfA area"),
    ("due", "Not a valid date.", "Due by must be a real date, like 27 3 2026"),
    ("due", "is too far ahead to be right: dates must be between 1900-01-01 and 2100-12-31",
     "Due by is too far ahead to be right: dates must be between 1900-01-01 and 2100-12-31"),
    ("outcome_ids", "Shorter than minimum length 1.", "Choose at least one outcome it serves"),
    ("outcome_ids", "Not a valid UUID.", "Choose at least one outcome it serves"),
    ("name", "Field may not be null.", "Enter the learner's full name"),
])
def test_each_refusal_is_said_in_plain_words(field, said, told):
    assert FORM.plain({field: [said]}) == {field: [told]}


def test_messages_come_in_the_forms_order_and_list_items_go_to_their_field():
    errors = {"name": ["Missing data for required field."], "outcome_ids.0": ["Not a valid UUID."],
              "reason": ["Missing data for required field."], "csrf": ["The form expired."]}
    plain = FORM.plain(errors)
    assert list(plain) == ["reason", "outcome_ids", "name", "csrf"]
    assert plain["csrf"] == ["The form expired."]  # a field the form does not know keeps its message
