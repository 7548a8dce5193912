"""A batch of chat messages in ONE PostgreSQL statement (guarantees 1–3, group commit).

`append_batch_postgres` sends one statement on the pooled asyncpg connection itself, in
autocommit: a single statement is its own transaction, so there is no BEGIN and no
COMMIT round trip, and no SQLAlchemy compile on this path. When it returns, every row
it reports is committed. The statement, in order:

1. `existing`: rows already stored under a (conversation, sender, client_msg_id) of the
   batch — a retry; returned as they are, nothing stored.
2. `locked`: the open conversations of the batch, row-locked in id order (two nodes
   writing batches that share conversations wait for each other, never deadlock). The
   lock returns each row's newest `last_seq`, even one committed while we waited.
3. `fresh`: the other messages, numbered `last_seq + 1, + 2, …` per conversation in
   batch order (gap-free: the numbers and the rows commit or roll back together).
4. the inserts, and each conversation's `last_seq` (and first agent reply time) moved.

A message whose conversation is closed or absent comes back with no row. A retried
`client_msg_id` committed by another node after this statement's snapshot makes the
insert fail (unique violation): the caller settles such a batch message by message.
Duplicates inside one batch are the caller's to fold (each key appears once here).
"""

from __future__ import annotations

import sqlite3
from typing import Any

_BATCH = """
WITH input AS (
    SELECT * FROM unnest(
        $1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
        $6::text[], $7::text[], $8::text[], $9::bool[], $10::int4[]
    ) AS t(id, conversation_id, sender, client_msg_id, author_kind,
           author_id, author_name, text, internal, ord)
),
existing AS (
    SELECT i.ord, m.*
    FROM input i
    JOIN messages m ON m.conversation_id = i.conversation_id
        AND m.sender = i.sender AND m.client_msg_id = i.client_msg_id
),
locked AS (
    SELECT id, last_seq FROM conversations
    WHERE id = ANY($11::text[]) AND status <> 'closed'
    ORDER BY id
    FOR UPDATE
),
fresh AS (
    SELECT i.*, l.last_seq + row_number() OVER (
        PARTITION BY i.conversation_id ORDER BY i.ord) AS seq
    FROM input i JOIN locked l ON l.id = i.conversation_id
    WHERE NOT EXISTS (SELECT 1 FROM existing e WHERE e.ord = i.ord)
),
inserted AS (
    INSERT INTO messages (id, conversation_id, seq, author_kind, author_id, author_name,
                          sender, client_msg_id, text, internal, ts)
    SELECT id, conversation_id, seq, author_kind, author_id, author_name,
           sender, client_msg_id, text, internal, $12::int8
    FROM fresh
),
moved AS (
    UPDATE conversations c
    SET last_seq = f.last_seq,
        -- the first visible agent reply, if the conversation has none yet
        first_response_ts = COALESCE(c.first_response_ts, f.first_response_ts)
    FROM (
        SELECT conversation_id, max(seq) AS last_seq,
               CASE WHEN bool_or(author_kind = 'agent' AND NOT internal)
                    THEN $12::int8 END AS first_response_ts
        FROM fresh GROUP BY conversation_id
    ) f
    -- `= ANY` lets the planner reach the few rows by primary key, not a scan of all
    WHERE c.id = f.conversation_id AND c.id = ANY($11::text[])
)
SELECT ord, seq, NULL::text AS id, NULL::text AS author_kind, NULL::text AS author_id,
       NULL::text AS author_name, NULL::text AS text, NULL::bool AS internal,
       NULL::int8 AS ts, false AS duplicate
FROM fresh
UNION ALL
SELECT ord, seq, id, author_kind, author_id, author_name, text, internal, ts, true
FROM existing
"""

Stored = tuple[dict[str, Any], bool]  # (row, duplicate)


async def append_batch_postgres(
    pg: Any, batch: list[dict[str, Any]], ts: int
) -> list[Stored | None]:
    """Store `batch` (dicts with every `messages` column but `seq` and `ts`) through
    the asyncpg connection `pg`; one result per message, in order: (row, duplicate), or
    None when the conversation is closed or absent.

    Each non-null (conversation_id, sender, client_msg_id) must appear once. Raises
    asyncpg's UniqueViolationError when a concurrent retry committed first (nothing is
    stored then), and asyncpg's connection errors as they come.
    """
    columns: list[list[Any]] = [[] for _ in range(10)]
    for ord_, message in enumerate(batch):
        values = (
            message["id"],
            message["conversation_id"],
            message["sender"],
            message["client_msg_id"],
            message["author_kind"],
            message["author_id"],
            message["author_name"],
            message["text"],
            message["internal"],
            ord_,
        )
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    conversation_ids = sorted(set(columns[1]))
    # Unnamed, so PostgreSQL plans it for these arguments every time. A cached generic
    # plan is made once, from the table sizes of the moment: one made while `messages`
    # was nearly empty hash-joined a scan of every stored message into each batch.
    statement = await pg.prepare(_BATCH, name="")
    records = await statement.fetch(*columns, conversation_ids, ts)
    results: list[Stored | None] = [None] * len(batch)
    for record in records:
        ord_ = record[0]
        message = batch[ord_]
        if record[9]:
            row = {
                "id": record[2],
                "conversation_id": message["conversation_id"],
                "seq": record[1],
                "author_kind": record[3],
                "author_id": record[4],
                "author_name": record[5],
                "sender": message["sender"],
                "client_msg_id": message["client_msg_id"],
                "text": record[6],
                "internal": record[7],
                "ts": record[8],
            }
            results[ord_] = (row, True)
        else:
            results[ord_] = ({**message, "seq": record[1], "ts": ts}, False)
    return results


_NAMES = (
    "id",
    "conversation_id",
    "seq",
    "author_kind",
    "author_id",
    "author_name",
    "sender",
    "client_msg_id",
    "text",
    "internal",
    "ts",
)
_COLUMNS = ", ".join(_NAMES)
_SQLITE_SET_LAST_SEQ = (
    "UPDATE conversations SET last_seq = ?, first_response_ts = COALESCE(first_response_ts, ?)"
    " WHERE id = ?"
)
_SQLITE_INSERT = f"INSERT INTO messages ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


def sqlite_stored_query(keys: int) -> str:
    """The stored rows of `keys` (conversation_id, sender, client_msg_id) triples.

    A join, not `(a, b, c) IN (VALUES …)`: SQLite answers that with a scan of every
    message; the join searches the unique index once per key.
    """
    values = ", ".join(["(?, ?, ?)"] * keys)
    return (
        f"SELECT {', '.join('m.' + name for name in _NAMES)}"
        f" FROM (VALUES {values}) AS k JOIN messages m ON m.conversation_id = k.column1"
        " AND m.sender = k.column2 AND m.client_msg_id = k.column3"
    )


def append_batch_sqlite(
    db: sqlite3.Connection, batch: list[dict[str, Any]], ts: int
) -> list[Stored | None]:
    """`append_batch_postgres`'s contract on SQLite, run on the driver's thread inside the
    caller's `BEGIN IMMEDIATE` transaction (the database's one write lock: nothing
    changes between these reads and writes). Four statements, no SQLAlchemy compile."""
    results: list[Stored | None] = [None] * len(batch)
    keyed = [
        (i, m)
        for i, m in enumerate(batch)
        if m["client_msg_id"] is not None and m["sender"] is not None
    ]
    if keyed:
        params = [
            v for _, m in keyed for v in (m["conversation_id"], m["sender"], m["client_msg_id"])
        ]
        found = db.execute(sqlite_stored_query(len(keyed)), params).fetchall()
        stored = {(r[1], r[6], r[7]): r for r in found}
        for i, m in keyed:
            r = stored.get((m["conversation_id"], m["sender"], m["client_msg_id"]))
            if r is not None:
                row = dict(zip(_NAMES, r, strict=True))
                row["internal"] = bool(row["internal"])
                results[i] = (row, True)
    ids = sorted({m["conversation_id"] for m in batch})
    marks = ", ".join(["?"] * len(ids))
    seqs = dict(
        db.execute(
            f"SELECT id, last_seq FROM conversations WHERE id IN ({marks}) AND status <> 'closed'",
            ids,
        ).fetchall()
    )
    first_response: dict[str, int | None] = {}
    rows = []
    for i, m in enumerate(batch):
        cid = m["conversation_id"]
        if results[i] is not None or cid not in seqs:
            continue
        seqs[cid] += 1
        row = {**m, "seq": seqs[cid], "ts": ts}
        results[i] = (row, False)
        reply = ts if m["author_kind"] == "agent" and not m["internal"] else None
        first_response[cid] = first_response.get(cid) or reply
        rows.append(
            (
                row["id"],
                cid,
                row["seq"],
                m["author_kind"],
                m["author_id"],
                m["author_name"],
                m["sender"],
                m["client_msg_id"],
                m["text"],
                m["internal"],
                ts,
            )
        )
    if rows:
        db.executemany(
            _SQLITE_SET_LAST_SEQ,
            [(seqs[cid], frt, cid) for cid, frt in sorted(first_response.items())],
        )
        db.executemany(_SQLITE_INSERT, rows)
    return results
