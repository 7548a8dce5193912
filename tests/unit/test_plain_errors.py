"""server/api/plain_errors.py: pydantic's texts become sentences naming the field; our own
validators' messages pass through; the details keep their `path`."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from server.api.plain_errors import field_label, plain_message
from server.api.router import validation_details


class Gates(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    max_per_visit: Annotated[int, Field(ge=1, le=5)] = 1


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    identity_secret: Annotated[str, Field(min_length=10, max_length=12)] = "0123456789"
    shortcut: Annotated[str, Field(min_length=1, pattern=r"^[a-z]+$")] = "a"
    kind: Literal["csat", "nps"] = "csat"
    tags: Annotated[list[str], Field(max_length=1)] = []
    gates: Gates = Gates()
    url: str = "https://a.example"

    @field_validator("url")
    @classmethod
    def no_credentials(cls, value: str) -> str:
        if "@" in value:
            raise ValueError("the URL must not carry credentials")
        return value


def details(raw: dict) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        Body.model_validate(raw)
    return {d["path"]: d["message"] for d in validation_details(caught.value)}


def test_library_texts_become_sentences_naming_the_field() -> None:
    assert details({"identity_secret": "short"}) == {
        "identity_secret": "Identity secret must be at least 10 characters long."
    }
    assert details({"identity_secret": "x" * 13}) == {
        "identity_secret": "Identity secret must be at most 12 characters long."
    }
    assert details({"shortcut": ""}) == {"shortcut": "Shortcut must not be empty."}
    assert details({"shortcut": "A!"}) == {
        "shortcut": "Shortcut has characters or a form that is not allowed here."
    }
    assert details({"kind": "ces"}) == {"kind": "Kind must be one of: 'csat' or 'nps'."}
    assert details({"tags": ["a", "b"]}) == {"tags": "Tags must have at most 1 item."}
    assert details({"gates": {"max_per_visit": 0}}) == {
        "gates.max_per_visit": "Max per visit must be at least 1."
    }
    assert details({"gates": {"max_per_visit": "2"}}) == {
        "gates.max_per_visit": "Max per visit must be a whole number."
    }
    assert details({"identity_secret": 5}) == {"identity_secret": "Identity secret must be text."}


def test_no_library_wording_is_left() -> None:
    found = details(
        {"identity_secret": "x", "shortcut": "", "kind": "x", "tags": ["a", "b"], "url": 1}
    )
    for message in found.values():
        assert "should" not in message and message.endswith("."), message


def test_our_own_messages_and_unknown_fields_are_kept() -> None:
    assert details({"url": "https://me:pw@a.example"}) == {
        "url": "the URL must not carry credentials"
    }
    assert details({"colour": "red"}) == {"colour": "unknown field"}


def test_field_labels() -> None:
    assert field_label(("variants", 1)) == "Variants item 2"
    assert field_label(()) == "The request body"
    assert plain_message({"type": "missing", "loc": ("name",), "msg": "Field required"}) == (
        "Name is required."
    )
