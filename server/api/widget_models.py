"""The site's widget settings (`site.widget`): look, position, texts per language.

Sent as they are to the widget in `welcome.widget` (the visitor socket reads the site
through the announced site cache, so a saved change reaches every open widget at its
next page view, when it says hello again).
"""

from __future__ import annotations

import functools
import json
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from server.web import package_directory
from server.widget_contrast import contrast_problem
from server.widget_welcome import SETTING_TEXTS

HEX_COLOR = r"^#[0-9a-fA-F]{6}$"
LANG = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"
MAX_STRING = 500


class _Strict(BaseModel):
    # As server.api.models.Strict (which imports this module, so it cannot be shared).
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)


@functools.cache
def string_keys() -> frozenset[str]:
    """The widget's text keys: those of its built-in English (`widget/i18n/en.json`)."""
    path = package_directory("server.web.widget") / "i18n" / "en.json"
    return frozenset(json.loads(path.read_text("utf-8")))


def _known_keys(strings: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    for lang, texts in strings.items():
        unknown = sorted(set(texts) - string_keys() - set(SETTING_TEXTS))
        if unknown:
            raise PydanticCustomError(
                "unknown_text",
                "{lang} has texts the widget does not show: {keys} (the keys are those of "
                "widget/i18n/en.json, and greeting and launcher_label)",
                {"lang": lang, "keys": ", ".join(unknown[:5])},
            )
    return strings


Color = Annotated[str, Field(pattern=HEX_COLOR)]
Text = Annotated[str, Field(max_length=MAX_STRING)]
LangTexts = Annotated[dict[Annotated[str, Field(max_length=40)], Text], Field(max_length=100)]
Texts = Annotated[
    dict[Annotated[str, Field(pattern=LANG)], LangTexts],
    Field(max_length=50),
    AfterValidator(_known_keys),
]


FIELD_ID = r"^[a-z][a-z0-9_]{0,31}$"


class PrechatLink(_Strict):
    text: Annotated[str, Field(min_length=1, max_length=100)]
    url: Annotated[str, Field(max_length=500, pattern=r"^https://\S+$")]


class PrechatField(_Strict):
    """A field the site adds to the pre-chat form; the answer is stored as the visitor's
    attribute `id` with its label (server/chat/prechat_fields.py checks it)."""

    id: Annotated[str, Field(pattern=FIELD_ID)]
    type: Literal["text", "email", "phone", "select", "checkbox"]
    label: Annotated[str, Field(min_length=1, max_length=200)]
    required: bool = False
    options: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=100)]], Field(max_length=50)
    ] = []
    link: PrechatLink | None = None
    """Checkbox only: e.g. the privacy policy a consent box refers to."""
    departments: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=50)] = []
    """Asked only when the visitor picks one of these departments; empty: always."""

    @model_validator(mode="after")
    def _consistent(self) -> PrechatField:
        if self.type == "select" and not self.options:
            raise PydanticCustomError("options", "a select field needs at least one option")
        if self.type != "select" and self.options:
            raise PydanticCustomError("options", "only a select field has options")
        if self.type != "checkbox" and self.link:
            raise PydanticCustomError("link", "only a checkbox field has a link")
        return self


def _unique_ids(fields: list[PrechatField]) -> list[PrechatField]:
    seen = [f.id for f in fields]
    twice = sorted({i for i in seen if seen.count(i) > 1})
    if twice:
        raise PydanticCustomError(
            "duplicate_field", "two pre-chat fields have the id {ids}", {"ids": ", ".join(twice)}
        )
    return fields


class WidgetLook(_Strict):
    color: Color = "#2563eb"
    text_color: Color | None = None
    """Text on the accent colour; None: near-black or white, whichever reads better."""
    theme: Literal["light", "dark", "auto"] = "light"
    """auto follows the visitor's system setting (prefers-color-scheme)."""
    position: Literal["right", "left"] = "right"
    offset_x: Annotated[int, Field(ge=0, le=400)] = 20
    """Pixels from the side of the window named by `position`."""
    offset_y: Annotated[int, Field(ge=0, le=400)] = 20
    """Pixels from the bottom of the window."""
    launcher_label: Annotated[str, Field(max_length=40)] = ""
    """Text beside the launcher's icon; empty: the icon alone."""
    greeting: Annotated[str, Field(max_length=MAX_STRING)] = "Hi! How can we help?"
    show_agent_name: bool = True
    show_agent_avatar: bool = True
    z_index: Annotated[int, Field(ge=0, le=2147483647)] = 2147483647
    strings: Texts = {}
    """Per language tag, texts replacing the widget's own (key → text)."""
    prechat: bool = False
    prechat_fields: list[Literal["name", "email", "department"]] = []
    prechat_custom: Annotated[
        list[PrechatField], Field(max_length=20), AfterValidator(_unique_ids)
    ] = []
    survey: list[Literal["csat", "nps", "ces", "thumbs"]] = ["csat"]
    """The questions after a chat; their wording per language is `strings` (csat, nps,
    ces, thumbs, comment)."""
    survey_comment: bool = True
    """Ask for a comment too (optional for the visitor)."""
    sound: bool = True

    @model_validator(mode="after")
    def _readable(self) -> WidgetLook:
        problem = contrast_problem(self.color.lower(), self.text_color and self.text_color.lower())
        if problem:
            raise PydanticCustomError("contrast", problem)
        return self
