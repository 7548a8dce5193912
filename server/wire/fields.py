"""Constrained field types and the base models shared by the inbound frames.

Every limit here comes from protocol.md or, where the protocol is silent, is a
conservative bound noted next to it. Validators raise `invalid(...)`, a pydantic
error of type `wire_field` whose phrase `frames.py` turns into the client message
(`field 'page.url' must be an http(s) URL`). Pure: no I/O.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

MAX_ID_CHARS = 64
MAX_TEXT_CHARS = 4000
MAX_URL_CHARS = 2048
MAX_ATTRIBUTES = 50
MAX_KEY_CHARS = 64
MAX_SCALAR_CHARS = 1000
MAX_PROP_LIST_ITEMS = 20  # "values scalar or small": a flat list of scalars at most
MAX_SEQ = 2**63 - 1  # seqs are BIGINT in the store


def invalid(what: str, sub: str = "") -> PydanticCustomError:
    """A validation failure worded as `what` ("must be an email address").

    `sub` is a dotted path below the field being validated (an attribute key, or a
    field name when raised by a whole-model check); `frames.py` appends it.
    """
    return PydanticCustomError("wire_field", "{what}", {"what": what, "sub": sub})


def explained(what: str) -> WrapValidator:
    """Replace any failure of the inner type and constraints by one phrase."""

    def wrap(value: Any, handler: Any) -> Any:
        try:
            return handler(value)
        except ValidationError:
            raise invalid(what) from None

    return WrapValidator(wrap)


def _checked(pattern: str, what: str, *, lower: bool = False) -> AfterValidator:
    regex = re.compile(pattern)

    def check(value: str) -> str:
        if regex.fullmatch(value) is None:
            raise invalid(what)
        return value.lower() if lower else value

    return AfterValidator(check)


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_BAD_URL_CHARS = re.compile(r"[\s\x00-\x1f\x7f]")


def check_email(value: str) -> str:
    """Email-shaped (`local@domain.tld`, no spaces), not deliverability."""
    if _EMAIL.fullmatch(value) is None:
        raise invalid("must be an email address")
    return value


def check_http_url(value: str) -> str:
    """An absolute http(s) URL with a host; no whitespace or control characters."""
    # urlsplit silently drops tabs and newlines, so they are refused up front.
    if _BAD_URL_CHARS.search(value) is not None:
        raise invalid("must be an http(s) URL")
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        raise invalid("must be an http(s) URL") from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise invalid("must be an http(s) URL")
    return value


def _sized(min_length: int, max_length: int) -> StringConstraints:
    return StringConstraints(min_length=min_length, max_length=max_length)


# Ids are opaque (protocol.md): non-empty, at most 64 characters.
Id = Annotated[str, _sized(1, MAX_ID_CHARS)]
# Worded as in codec.decode_frame, which normally checks it first.
Ref = Annotated[
    str, StringConstraints(max_length=64), explained("must be a string of at most 64 characters")
]
ClientMsgId = Annotated[str, _sized(1, 64)]
# A message's attachment ids (server/media/references.py MAX_PER_MESSAGE).
AttachmentIds = Annotated[
    list[Id],
    Field(max_length=10),
    explained("must be a list of at most 10 attachment ids"),
]
Token = Annotated[str, _sized(1, 512)]  # visitor and API tokens; opaque
EventName = Annotated[str, _sized(1, 64)]
# Message text: the stored text is the trimmed one, so limits apply after trimming.
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT_CHARS)
]
Comment = Annotated[str, StringConstraints(max_length=2000)]
Name = Annotated[str, StringConstraints(max_length=200)]
Title = Annotated[str, StringConstraints(max_length=1000)]
# A referrer is reported as the browser gives it ("" when there is none).
Referrer = Annotated[str, StringConstraints(max_length=MAX_URL_CHARS)]
Email = Annotated[str, StringConstraints(max_length=254), AfterValidator(check_email)]
HttpUrl = Annotated[
    str, StringConstraints(max_length=MAX_URL_CHARS), AfterValidator(check_http_url)
]
Lang = Annotated[
    str,
    StringConstraints(max_length=35),
    _checked(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*", "must be a language tag such as 'pt-BR'"),
]
TimeZone = Annotated[
    str,
    StringConstraints(max_length=64),
    _checked(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*", "must be a time zone name"),
]
UserId = Annotated[str, _sized(1, 200)]
# hex HMAC-SHA256; lowered so the hub can compare it with its own hexdigest.
UserHash = Annotated[str, _checked(r"[0-9a-fA-F]{64}", "must be 64 hex characters", lower=True)]
Currency = Annotated[str, _checked(r"[A-Z]{3}", "must be an ISO 4217 currency code")]
Seq = Annotated[int, Field(ge=0, le=MAX_SEQ), explained("must be an integer >= 0")]
Count = Seq  # same bounds: a JSON integer >= 0
Amount = Annotated[
    float, Field(ge=0, allow_inf_nan=False), explained("must be a finite number >= 0")
]


class WireModel(BaseModel):
    """Strict and closed: JSON types only as sent (no "5" for 5), no unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Frame(WireModel):
    """Base of every inbound frame: the optional client `ref` (≤ 64 chars)."""

    ref: Ref | None = None


def check_scalar(value: Any, sub: str) -> None:
    """A scalar attribute or prop: str ≤ 1000 chars, int, finite float, bool, null."""
    kind = type(value)
    if value is None or kind is bool or kind is int:
        return
    if kind is float:
        if not math.isfinite(value):
            raise invalid("must be a finite number", sub)
        return
    if kind is str:
        if len(value) > MAX_SCALAR_CHARS:
            raise invalid(f"must be at most {MAX_SCALAR_CHARS} characters", sub)
        return
    raise invalid("must be a string, number, boolean or null", sub)


def _check_keys(values: dict[str, Any], noun: str) -> None:
    if len(values) > MAX_ATTRIBUTES:
        raise invalid(f"must have at most {MAX_ATTRIBUTES} {noun}")
    for key in values:
        if not 0 < len(key) <= MAX_KEY_CHARS:
            raise invalid(f"must have keys of 1 to {MAX_KEY_CHARS} characters")


def check_attributes(values: dict[str, Any]) -> dict[str, Any]:
    """Custom visitor attributes: ≤ 50 keys of 1..64 chars, scalar values.

    `name` must be a string ≤ 200 chars and `email` email-shaped (or null, to clear).
    """
    _check_keys(values, "attributes")
    for key, value in values.items():
        if key == "email" and value is not None:
            if type(value) is not str or len(value) > 254 or not _EMAIL.fullmatch(value):
                raise invalid("must be an email address", key)
        elif key == "name" and value is not None:
            if type(value) is not str or len(value) > 200:
                raise invalid("must be a string of at most 200 characters", key)
        check_scalar(value, key)
    return values


def check_props(values: dict[str, Any]) -> dict[str, Any]:
    """`track.props`: ≤ 50 keys of 1..64 chars; scalars or flat lists of ≤ 20 scalars."""
    _check_keys(values, "props")
    for key, value in values.items():
        if type(value) is list:
            if len(value) > MAX_PROP_LIST_ITEMS:
                raise invalid(f"must have at most {MAX_PROP_LIST_ITEMS} items", key)
            for index, item in enumerate(value):
                if type(item) is list or type(item) is dict:
                    raise invalid("must be a string, number, boolean or null", f"{key}[{index}]")
                check_scalar(item, f"{key}[{index}]")
        elif type(value) is dict:
            raise invalid("must be a scalar or a list of scalars", key)
        else:
            check_scalar(value, key)
    return values


Attributes = Annotated[dict[str, Any], AfterValidator(check_attributes)]
Props = Annotated[dict[str, Any], AfterValidator(check_props)]
