"""The site's own pre-chat fields (`widget.prechat_custom`): which apply to a department,
and whether a visitor's answers fit them (pure: field specs, the department and the
answers in; visitor attributes out, or PrechatInvalid with a sentence for the visitor).

Answers are stored as visitor attributes keyed by field id, each with its label, so the
console shows "Phone: +385 1 234" and a later change of label does not rewrite history:
`{"phone": {"label": "Phone", "value": "+385 1 234"}}`.
"""

from __future__ import annotations

import re
from typing import Any

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[0-9 ()./-]{5,30}$")
MAX_TEXT = 1000
CHECKED = "true"


class PrechatInvalid(Exception):
    """An answer the form does not accept; the message names the field by its label."""


def applies(spec: dict[str, Any], department: str | None) -> bool:
    """A field with departments is asked only for those departments."""
    wanted = spec.get("departments") or []
    return not wanted or department in wanted


def _problem(spec: dict[str, Any], value: str) -> str | None:
    label, kind = spec["label"], spec["type"]
    if len(value) > MAX_TEXT:
        return f"'{label}' is longer than {MAX_TEXT} characters"
    if kind == "email" and not EMAIL.match(value):
        return f"'{label}' is not an email address"
    if kind == "phone" and not (PHONE.match(value) and sum(c.isdigit() for c in value) >= 5):
        return f"'{label}' is not a phone number (digits, spaces and + ( ) - . / only)"
    if kind == "select" and value not in spec.get("options", []):
        return f"'{label}' must be one of: {', '.join(spec['options'])}"
    if kind == "checkbox" and value != CHECKED:
        return f"'{label}' is a checkbox: send \"{CHECKED}\" when it is ticked"
    return None


def check(
    specs: list[dict[str, Any]], department: str | None, answers: dict[str, str]
) -> dict[str, dict[str, str]]:
    """The visitor attributes for `answers`. Raises PrechatInvalid for an unknown field,
    a field not asked for this department, a missing required answer or a bad value."""
    by_id = {spec["id"]: spec for spec in specs}
    for field_id in answers:
        if field_id not in by_id:
            raise PrechatInvalid(f"the pre-chat form has no field '{field_id[:32]}'")
        if not applies(by_id[field_id], department):
            raise PrechatInvalid(
                f"'{by_id[field_id]['label']}' is not asked for the department "
                f"'{department or 'none'}'"
            )
    attributes: dict[str, dict[str, str]] = {}
    for spec in specs:
        if not applies(spec, department):
            continue
        value = answers.get(spec["id"], "").strip()
        if not value:
            if spec.get("required"):
                raise PrechatInvalid(f"'{spec['label']}' is required")
            continue
        problem = _problem(spec, value)
        if problem:
            raise PrechatInvalid(problem)
        attributes[spec["id"]] = {"label": spec["label"], "value": value}
    return attributes
