"""The site's own pre-chat fields: which apply, and answers in → attributes or a sentence."""

from __future__ import annotations

import pytest

from server.chat.prechat_fields import PrechatInvalid, check

SPECS = [
    {"id": "phone", "type": "phone", "label": "Phone", "required": True, "departments": []},
    {
        "id": "plan",
        "type": "select",
        "label": "Plan",
        "options": ["Basic", "Pro"],
        "departments": ["sales"],
    },
    {
        "id": "consent",
        "type": "checkbox",
        "label": "I accept the privacy policy",
        "required": True,
        "departments": [],
    },
    {"id": "work_email", "type": "email", "label": "Work email", "departments": []},
    {
        "id": "order",
        "type": "text",
        "label": "Order number",
        "required": True,
        "departments": ["support"],
    },
]


def test_answers_become_attributes_with_their_labels() -> None:
    answers = {"phone": " +385 1 234 5678 ", "plan": "Pro", "consent": "true"}
    assert check(SPECS, "sales", answers) == {
        "phone": {"label": "Phone", "value": "+385 1 234 5678"},
        "plan": {"label": "Plan", "value": "Pro"},
        "consent": {"label": "I accept the privacy policy", "value": "true"},
    }


def test_a_field_of_another_department_is_neither_required_nor_accepted() -> None:
    # Support's required order number is not asked in sales...
    assert "order" not in check(SPECS, "sales", {"phone": "01 234 567", "consent": "true"})
    # ...and sales' plan is refused in support.
    with pytest.raises(PrechatInvalid) as refused:
        check(
            SPECS,
            "support",
            {"phone": "01 234 567", "consent": "true", "order": "A1", "plan": "Pro"},
        )
    assert str(refused.value) == "'Plan' is not asked for the department 'support'"


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"consent": "true"}, "'Phone' is required"),
        ({"phone": "   ", "consent": "true"}, "'Phone' is required"),
        ({"phone": "01 234 567"}, "'I accept the privacy policy' is required"),
        (
            {"phone": "call me", "consent": "true"},
            "'Phone' is not a phone number (digits, spaces and + ( ) - . / only)",
        ),
        (
            {"phone": "+1 2", "consent": "true"},
            "'Phone' is not a phone number (digits, spaces and + ( ) - . / only)",
        ),
        (
            {"phone": "01 234 567", "consent": "yes"},
            "'I accept the privacy policy' is a checkbox: send \"true\" when it is ticked",
        ),
        (
            {"phone": "01 234 567", "consent": "true", "plan": "Gold"},
            "'Plan' must be one of: Basic, Pro",
        ),
        (
            {"phone": "01 234 567", "consent": "true", "work_email": "ann@"},
            "'Work email' is not an email address",
        ),
        (
            {"phone": "01 234 567", "consent": "true", "nickname": "x"},
            "the pre-chat form has no field 'nickname'",
        ),
    ],
)
def test_bad_answers_are_refused_with_a_sentence(answers: dict[str, str], message: str) -> None:
    with pytest.raises(PrechatInvalid) as refused:
        check(SPECS, "sales", answers)
    assert str(refused.value) == message


def test_no_department_asks_only_the_fields_for_everyone() -> None:
    assert check(SPECS, None, {"phone": "01 234 567", "consent": "true"}) == {
        "phone": {"label": "Phone", "value": "01 234 567"},
        "consent": {"label": "I accept the privacy policy", "value": "true"},
    }
