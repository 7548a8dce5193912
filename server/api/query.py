"""Query-string parameters: declared per endpoint as a pydantic model, validated by the
router (a 422 naming the parameter) and documented in the OpenAPI document from the
same model.

Strict on purpose: an integer is ASCII digits only (`str.isdigit` and `int()` accept
`²` and `٣`), within a bound that fits a 64-bit column (a 40-digit value overflowed
SQLite), and no text parameter may carry control characters (a NUL broke FTS5 and
PostgreSQL). Parameters an endpoint does not declare are ignored; an empty value is the
same as none.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from server.errors import ApiError

# Milliseconds since the epoch up to the year 287,396 — and below 2^53, so JavaScript
# clients read it exactly, and far below SQLite's and PostgreSQL's 64-bit limit.
MAX_INT = 2**53 - 1
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"


def _ascii_digits(value: Any) -> Any:
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError("must be a whole number written with the digits 0-9")
    return value


# The bounds before the validator: pydantic then documents them as minimum/maximum.
Count = Annotated[int, Field(ge=0, le=MAX_INT), BeforeValidator(_ascii_digits)]
TimestampMs = Annotated[
    int,
    Field(ge=0, le=MAX_INT, description="milliseconds since the epoch"),
    BeforeValidator(_ascii_digits),
]
Limit = Annotated[int, Field(ge=1, le=200), BeforeValidator(_ascii_digits)]
Cursor = Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[A-Za-z0-9_=-]+$")]
Text = Annotated[str, Field(max_length=200, pattern=NO_CONTROL)]
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Page(Query):
    limit: Limit = 50
    cursor: Cursor | None = None


class MessagesQuery(Query):
    after_seq: Count = 0
    limit: Limit = 50


class ConversationsQuery(Page):
    status: Literal["queued", "active", "closed"] | None = None
    agent_id: Id | None = None
    from_ts: TimestampMs | None = None
    to_ts: TimestampMs | None = None
    q: Text | None = Field(None, description="words that a message must contain")


class PeriodQuery(Query):
    from_ts: TimestampMs | None = Field(None, description="default: 30 days before to_ts")
    to_ts: TimestampMs | None = Field(None, description="exclusive; default: now")


class StatsQuery(PeriodQuery):
    bucket: Literal["day"] = "day"
    version: Annotated[int, Field(ge=1, le=MAX_INT), BeforeValidator(_ascii_digits)] | None = None


ReportTable = Literal["totals", "agents", "departments", "days", "missed", "funnel", "rules"]


class ReportQuery(PeriodQuery):
    format: Literal["json", "csv"] = "json"
    table: ReportTable | None = Field(None, description="with format=csv: the table to export")


class DeliveriesQuery(Query):
    limit: Limit = 50
    cursor: Annotated[str, Field(max_length=16, pattern=r"^[0-9]+$")] | None = None


def parse_query(model: type[Query], params: dict[str, str]) -> Query:
    """`params` validated by `model`; ApiError 422 naming each bad parameter. An empty
    value is the parameter left out (`?status=&q=` from a form), as it always was."""
    try:
        return model.model_validate({k: v for k, v in params.items() if v != ""})
    except ValidationError as exc:
        details = [
            {
                "path": ".".join(str(p) for p in err["loc"]) or "(query)",
                "message": err["msg"].removeprefix("Value error, "),
            }
            for err in exc.errors()
        ]
        raise ApiError(
            "validation_failed", "the query string is not valid", details=details
        ) from None


def query_parameters(model: type[Query]) -> list[dict[str, Any]]:
    """The OpenAPI `parameters` (in: query) of `model`."""
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": _no_null(prop)}
        for name, prop in schema.get("properties", {}).items()
    ]


def _no_null(prop: dict[str, Any]) -> dict[str, Any]:
    """A query string cannot say null (an optional parameter is simply left out): the
    schema of `X | None` is that of X."""
    branches = [b for b in prop.get("anyOf", []) if b.get("type") != "null"]
    if len(branches) != 1:
        return prop
    rest = {k: v for k, v in prop.items() if k != "anyOf"}
    rest.pop("default", None)
    return {**branches[0], **rest}
