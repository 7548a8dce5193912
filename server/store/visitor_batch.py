"""A batch of visitor rows (group commit of hellos) without SQLAlchemy on the way.

A batch holds new visitors (an id the node has just made: a plain insert) and known
ones (a valid token: `conversations.upsert_visitor`'s merge). Known rows are applied
as if one after the other in batch order: `fold_known` first folds the rows of one id
into one, so each id appears once (an `ON CONFLICT DO UPDATE` may touch a row once).

The merge, as `upsert_visitor` does it: `site_id` and `first_seen_ts` are kept; a
`user_id`, `name`, `email` or `last_seen_ts` that is None leaves the stored value; the
given attributes are merged over the stored ones (new keys win). A visitor that no
longer exists is inserted.

PostgreSQL: `write_visitors_postgres`, one statement in autocommit on the pooled
asyncpg connection (committed when it returns). SQLite: `write_visitors_sqlite`, on the
driver's thread inside the caller's transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

_COLUMNS = (
    "id",
    "site_id",
    "user_id",
    "name",
    "email",
    "attributes",
    "first_seen_ts",
    "last_seen_ts",
)
# Overwritten only when the new row gives a value (None keeps what is stored).
_GIVEN = ("user_id", "name", "email", "last_seen_ts")

# `attributes` travels as JSON text (json.dumps, what SQLAlchemy's JSON type writes):
# the column is `json`, not `jsonb`, so the stored text is kept as it came.
_BATCH = """
WITH input AS (
    SELECT * FROM unnest(
        $1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
        $6::text[], $7::int8[], $8::int8[], $9::bool[]
    ) AS t(id, site_id, user_id, name, email, attributes, first_seen_ts, last_seen_ts, known)
),
fresh AS (
    INSERT INTO visitors (id, site_id, user_id, name, email, attributes,
                          first_seen_ts, last_seen_ts)
    SELECT id, site_id, user_id, name, email, attributes::json, first_seen_ts, last_seen_ts
    FROM input WHERE NOT known
)
INSERT INTO visitors AS v (id, site_id, user_id, name, email, attributes,
                           first_seen_ts, last_seen_ts)
SELECT id, site_id, user_id, name, email, attributes::json, first_seen_ts, last_seen_ts
FROM input WHERE known
ON CONFLICT (id) DO UPDATE SET
    user_id = COALESCE(EXCLUDED.user_id, v.user_id),
    name = COALESCE(EXCLUDED.name, v.name),
    email = COALESCE(EXCLUDED.email, v.email),
    last_seen_ts = EXCLUDED.last_seen_ts,
    -- Python's {**stored, **given}: stored keys in their order (a given value wins),
    -- then the new keys in theirs. json_each keeps each value's text as stored.
    attributes = CASE WHEN EXCLUDED.attributes::text = '{}' THEN v.attributes ELSE (
        SELECT json_object_agg(m.key, m.value ORDER BY m.part, m.n)
        FROM (
            SELECT s.key, CASE WHEN g.key IS NULL THEN s.value ELSE g.value END AS value,
                   0 AS part, s.n
            FROM json_each(v.attributes) WITH ORDINALITY AS s(key, value, n)
            LEFT JOIN json_each(EXCLUDED.attributes) AS g ON g.key = s.key
            UNION ALL
            SELECT g.key, g.value, 1, g.n
            FROM json_each(EXCLUDED.attributes) WITH ORDINALITY AS g(key, value, n)
            WHERE NOT EXISTS (
                SELECT 1 FROM json_each(v.attributes) AS s WHERE s.key = g.key)
            -- The cap (NULL: none): stored keys first, then new ones while there is room.
            ORDER BY part, n LIMIT $10
        ) AS m
    ) END
"""


def capped_merge(
    stored: Mapping[str, Any] | None, given: Mapping[str, Any], max_keys: int
) -> dict[str, Any]:
    """`{**stored, **given}` keeping at most `max_keys` keys: stored keys first, then new
    ones while there is room. The Store's own bound on a visitor's attributes, so a
    visitor whose live facts expired cannot grow its row past the cap visit by visit."""
    merged = dict(stored or {})
    for key, value in given.items():
        if key in merged or len(merged) < max_keys:
            merged[key] = value
    return merged


def fold_known(
    rows: list[dict[str, Any]], max_attributes: int | None = None
) -> list[dict[str, Any]]:
    """One row per id with the effect of upserting `rows` one after the other.

    The first row of an id gives `site_id` and `first_seen_ts` (they matter only if the
    row is inserted); for each `_GIVEN` field the last non-None value wins; attributes
    are the given ones merged in order (None when no row gave any). Order: first
    appearance of each id.
    """
    folded: dict[str, dict[str, Any]] = {}
    for row in rows:
        into = folded.get(row["id"])
        if into is None:
            folded[row["id"]] = {name: row.get(name) for name in _COLUMNS}
            continue
        for name in _GIVEN:
            if row.get(name) is not None:
                into[name] = row[name]
        given = row.get("attributes")
        if given is not None:
            into["attributes"] = _merge(into["attributes"], given, max_attributes)
    return list(folded.values())


def _merge(
    stored: dict[str, Any] | None, given: dict[str, Any], max_attributes: int | None
) -> dict[str, Any]:
    if max_attributes is None:
        return {**(stored or {}), **given}
    return capped_merge(stored, given, max_attributes)


def _json(attributes: dict[str, Any] | None) -> str:
    # Most hellos carry no attributes: no encoder call for those.
    return json.dumps(attributes) if attributes else "{}"


def _arrays(new: list[dict[str, Any]], known: list[dict[str, Any]]) -> list[list[Any]]:
    rows = new + known
    columns: list[list[Any]] = [[row.get(name) for row in rows] for name in _COLUMNS]
    columns[_COLUMNS.index("attributes")] = [_json(row.get("attributes")) for row in rows]
    columns.append([False] * len(new) + [True] * len(known))
    return columns


async def write_visitors_postgres(
    pg: Any,
    new: list[dict[str, Any]],
    known: list[dict[str, Any]],
    max_attributes: int | None = None,
) -> None:
    """Insert `new` and upsert `known` (each id once: see `fold_known`) through the
    asyncpg connection `pg`, in one statement; everything is committed on return.

    Nothing is stored when it raises: asyncpg's UniqueViolationError when a new id
    exists already (or twice in `new`), NotNullViolationError for a row missing a
    required column, DataError when the stored attributes are not a JSON object (or a
    key cannot be read back as text), and asyncpg's connection errors as they come.
    """
    # Through asyncpg's statement cache: one round trip per batch (an unnamed prepare
    # would add one), and the plan is the same whatever the arguments (an insert that
    # probes the primary key).
    await pg.execute(_BATCH, *_arrays(new, known), max_attributes)


_INSERT = (
    f"INSERT INTO visitors ({', '.join(_COLUMNS)}) VALUES ({', '.join(['?'] * len(_COLUMNS))})"
)
_SELECT_ATTRIBUTES = "SELECT attributes FROM visitors WHERE id = ?"


def _insert_values(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(
        _json(row.get("attributes")) if name == "attributes" else row.get(name) for name in _COLUMNS
    )


def write_visitors_sqlite(
    db: sqlite3.Connection,
    new: list[dict[str, Any]],
    known: list[dict[str, Any]],
    max_attributes: int | None = None,
) -> None:
    """`write_visitors_postgres`'s contract on SQLite, run on the driver's thread inside
    the caller's `BEGIN IMMEDIATE` transaction (nothing changes between a row's read
    and its write). Raises sqlite3.IntegrityError as the insert meets it."""
    if new:
        db.executemany(_INSERT, [_insert_values(row) for row in new])
    for row in known:
        found = db.execute(_SELECT_ATTRIBUTES, (row["id"],)).fetchone()
        if found is None:
            db.execute(_INSERT, _insert_values(row))
            continue
        values = {name: row.get(name) for name in _GIVEN if row.get(name) is not None}
        if row.get("attributes") is not None:
            stored = json.loads(found[0]) if found[0] is not None else None
            values["attributes"] = json.dumps(_merge(stored, row["attributes"], max_attributes))
        if values:
            assignments = ", ".join(f"{name} = ?" for name in values)
            db.execute(
                f"UPDATE visitors SET {assignments} WHERE id = ?", (*values.values(), row["id"])
            )
