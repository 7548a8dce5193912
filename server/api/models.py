"""Request and response models (pydantic): they validate input and feed the OpenAPI doc."""

from __future__ import annotations

import functools
import re
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from publicsuffixlist import PublicSuffixList
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema

from server.api.widget_models import WidgetLook
from server.media.kinds import ALLOW_ENTRIES

ORIGIN_RE = re.compile(r"^https?://(\*\.)?[a-z0-9.-]+(:\d{1,5})?$")
EMAIL_RE = r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$"
HEX_COLOR = r"^#[0-9a-fA-F]{6}$"
HHMM = r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$"


class Strict(BaseModel):
    # strict: a wrong JSON type is a 422 ("3" is not a number, 1 is not true).
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)


def unset() -> Any:
    """The default of a PATCH field that may be left out but never set to null: its type
    has no None, so an explicit null is a 422 naming the field (a stored null broke
    every later visitor socket of the site). Handlers read `model_fields_set`."""
    return Field(default=None)


@functools.cache
def _suffixes() -> PublicSuffixList:
    """The Public Suffix List bundled with the `publicsuffixlist` package (offline),
    loaded on first use; a pure lookup table, never refreshed over the network."""
    return PublicSuffixList()


def _origin(value: str) -> str:
    lowered = value.lower().rstrip("/")
    if not ORIGIN_RE.match(lowered):
        raise ValueError(
            "an origin is scheme://host[:port], optionally https://*.example.com; "
            f"got {value[:100]!r}"
        )
    host = lowered.split("://", 1)[1].split(":", 1)[0]
    if host.startswith("*."):
        # `*.` must stand before a registrable domain (example.co.uk), never before a
        # public suffix (com, co.uk, github.io): that would allow every site under it.
        rest = host[2:]
        if _suffixes().privatesuffix(rest) is None:
            raise ValueError(
                f"{rest!r} is a public suffix: a wildcard must keep a registrable domain, "
                "e.g. https://*.example.com"
            )
    return lowered


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value[:64]!r}") from None
    return value


Origin = Annotated[str, Field(max_length=300), AfterValidator(_origin)]
TimeZone = Annotated[str, Field(max_length=64), AfterValidator(_timezone)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Department = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\w .-]+$")]
Lang = Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
Role = Literal["admin", "marketer", "agent"]
Email = Annotated[str, Field(max_length=254, pattern=EMAIL_RE)]


def _retention_days(value: Any) -> int | str | None:
    # One rule and one message (a union would answer one error per branch).
    if value is None or value == "forever":
        return value
    if type(value) is int and 1 <= value <= 3650:
        return value
    raise ValueError('days from 1 to 3650, "forever", or null for the node\'s default')


RetentionDays = Annotated[
    int | str | None,
    PlainValidator(_retention_days),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": 3650},
                {"const": "forever"},
                {"type": "null"},
            ]
        }
    ),
]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class HoursWindow(Strict):
    days: Annotated[list[Day], Field(min_length=1)]
    start: Annotated[str, Field(alias="from", pattern=HHMM)]
    end: Annotated[str, Field(alias="to", pattern=HHMM)]


class BusinessHours(Strict):
    windows: Annotated[list[HoursWindow], Field(max_length=50)] = []
    holidays: Annotated[
        list[Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]], Field(max_length=366)
    ] = []


class SiteOptions(Strict):
    attribution_window_days: Annotated[int, Field(ge=1, le=90)] = 7
    queue_timeout_s: Annotated[int, Field(ge=30, le=86400)] = 600
    offline_mode: Literal["offline_message", "keep_queued"] = "offline_message"
    max_invitations_per_visit: Annotated[int, Field(ge=0, le=20)] = 2
    max_invitations_per_day: Annotated[int, Field(ge=0, le=50)] = 4
    consent_mode: Literal["none", "required"] = "none"
    routing: Literal["least_busy", "round_robin", "offer"] = "least_busy"
    # Who goes first in the queue: identified visitors, and carts at or above a value,
    # jump ahead as if they had waited this many seconds longer.
    priority_identified_s: Annotated[int, Field(ge=0, le=86400)] = 0
    priority_cart_value: Annotated[float, Field(ge=0)] | None = None
    priority_cart_s: Annotated[int, Field(ge=0, le=86400)] = 0
    # A waiting visitor gone from the site this long is recorded as missed (visitor_left).
    abandon_after_s: Annotated[int, Field(ge=10, le=86400)] = 60
    # Conversions the widget reports can be sent by anyone with the page open: they count
    # in rule stats and uplift only when the site says so (server-side events always do).
    trust_client_conversions: bool = False
    # Retention (docs/privacy.md): days kept, "forever", or null for the node's default
    # (BECKON_{TRANSCRIPT,VISIT,DECISION,OFFLINE_MESSAGE,ATTACHMENT}_RETENTION_DAYS).
    retention_transcripts_days: RetentionDays = None
    retention_visits_days: RetentionDays = None
    retention_decisions_days: RetentionDays = None
    retention_offline_messages_days: RetentionDays = None
    retention_attachments_days: RetentionDays = None
    # Attachments (docs/protocol.md): what files the site accepts, as groups ("images",
    # "pdf", "text", "any") or single types, within the node's BECKON_MEDIA_TYPES; null:
    # all of those; []: no files.
    attachments_allowed: (
        Annotated[list[Literal[ALLOW_ENTRIES]], Field(max_length=20)] | None  # type: ignore[valid-type]
    ) = None


class SiteCreate(Strict):
    name: Name
    allowed_origins: Annotated[list[Origin], Field(max_length=50)] = []
    timezone: TimeZone = "UTC"
    default_lang: Lang = "en"
    languages: Annotated[list[Lang], Field(max_length=50)] = []
    widget: WidgetLook = WidgetLook()
    departments: Annotated[list[Department], Field(max_length=50)] = []
    business_hours: BusinessHours | None = None
    settings: SiteOptions = SiteOptions()


class SitePatch(Strict):
    name: Name = unset()
    allowed_origins: Annotated[list[Origin], Field(max_length=50)] = unset()
    timezone: TimeZone = unset()
    default_lang: Lang = unset()
    languages: Annotated[list[Lang], Field(max_length=50)] = unset()
    widget: WidgetLook = unset()
    departments: Annotated[list[Department], Field(max_length=50)] = unset()
    business_hours: BusinessHours | None = None  # null: no business hours (always open)
    settings: SiteOptions = unset()
    rotate_identity_secret: bool = False


class SiteOut(BaseModel):
    id: str
    key: str
    name: str
    allowed_origins: list[str]
    timezone: str
    default_lang: str
    languages: list[str]
    widget: dict
    departments: list[str]
    business_hours: dict | None
    settings: dict
    identity_secret: str | None = Field(None, description="admins only")
    created_ts: int
    snippet: str


class LoginIn(Strict):
    email: Email
    password: Annotated[str, Field(min_length=1, max_length=1000)]


class UserOut(BaseModel):
    id: str
    email: str
    role: Role
    display_name: str
    avatar_url: str | None
    title: str | None = None
    capacity: int
    departments: list[str]
    active: bool
    site_ids: list[str]
    created_ts: int


class MeOut(UserOut):
    csrf_token: str | None = None


class AgentCreate(Strict):
    email: Email
    password: Annotated[str, Field(min_length=10, max_length=200)]
    role: Role = "agent"
    display_name: Name
    avatar_url: Annotated[str, Field(max_length=500, pattern=r"^https://")] | None = None
    capacity: Annotated[int, Field(ge=1, le=50)] = 3
    departments: Annotated[list[Department], Field(max_length=50)] = []
    site_ids: Annotated[list[Annotated[str, Field(max_length=32)]], Field(max_length=500)] = []


class AgentPatch(Strict):
    password: Annotated[str, Field(min_length=10, max_length=200)] = unset()
    role: Role = unset()
    display_name: Name = unset()
    # null: no avatar
    avatar_url: Annotated[str, Field(max_length=500, pattern=r"^https://")] | None = None
    capacity: Annotated[int, Field(ge=1, le=50)] = unset()
    departments: Annotated[list[Department], Field(max_length=50)] = unset()
    site_ids: Annotated[list[Annotated[str, Field(max_length=32)]], Field(max_length=500)] = unset()
    active: bool = unset()
