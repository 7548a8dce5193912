"""The database's share of a chat message: time and WAL of the group-commit statement.

    python -m bench.message_db_share [--messages 10000] [--batches 1,16,128]

PostgreSQL: a private cluster (bench/infra.py) with pg_stat_statements loaded; for each
index variant a fresh database migrated to head, 200 open conversations and 20,000
messages already stored, then `--messages` more stored through `append_batch_postgres`
in batches of each size, one after another as the group commit sends them. Per message:
the statement's execution time and WAL bytes (pg_stat_statements), the CPU of the
writing backend (from /proc: the cluster runs on this machine), the client's wall
time (with the commit), and the WAL of everything (pg_current_wal_lsn delta). Index work
left for later is then done and counted separately ("deferred"): a GIN pending list
merged, or (from migration 0016 on) the search indexer's statements for these messages.

SQLite: the same batches through `append_batch_sqlite` inside BEGIN IMMEDIATE … COMMIT
on a file in WAL mode, with and without the FTS5 insert trigger; from 0016 on, the
indexer's CPU for them too.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import string
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.infra import Postgres
from server.store.database import Database, open_database, raw_postgres
from server.store.message_batch import append_batch_postgres, append_batch_sqlite
from server.store.migrate import upgrade_to_head
from server.store.tables import conversations, sites, visitors

CONVERSATIONS = 200
PREFILL = 20_000
WORDS = [
    "".join(random.Random(i).choices(string.ascii_lowercase, k=3 + i % 7)) for i in range(2000)
]

# Index variants on `messages`, applied after migrating to head (IF EXISTS: the same
# names before and after the search index moved off `messages`).
PG_VARIANTS: dict[str, list[str]] = {
    "all indexes at head": [],
    "no GIN": ["DROP INDEX IF EXISTS ix_messages_text_fts"],
    "no GIN, no uq(conversation_id, seq)": [
        "DROP INDEX IF EXISTS ix_messages_text_fts",
        "ALTER TABLE messages DROP CONSTRAINT uq_messages_conversation_id_seq",
    ],
}
# From migration 0016 on: the search index's GIN without its pending list.
PG_VARIANTS["search GIN fastupdate off"] = [
    "ALTER INDEX IF EXISTS ix_message_search_tsv SET (fastupdate = off)"
]
SQLITE_VARIANTS: dict[str, list[str]] = {
    "at head": [],
    "no FTS5 insert trigger": ["DROP TRIGGER IF EXISTS messages_fts_insert"],
}


def _message(rng: random.Random, n: int) -> dict[str, Any]:
    return {
        "id": f"m{n:031d}",
        "conversation_id": f"c{rng.randrange(CONVERSATIONS):031d}",
        "sender": f"v:{n % 97}",
        "client_msg_id": f"k{n}",
        "author_kind": "visitor",
        "author_id": None,
        "author_name": None,
        "text": " ".join(rng.choices(WORDS, k=rng.randint(4, 16))),
        "internal": False,
    }


async def _seed(db: Database) -> None:
    now = int(time.time() * 1000)
    async with db.write() as conn:
        await conn.execute(
            sites.insert().values(
                id="s1",
                key="k1",
                name="bench",
                allowed_origins=[],
                identity_secret="x",
                timezone="UTC",
                default_lang="en",
                widget={},
                departments=[],
                settings={},
                created_ts=now,
            )
        )
        for i in range(CONVERSATIONS):
            vid, cid = f"v{i:031d}", f"c{i:031d}"
            await conn.execute(
                visitors.insert().values(
                    id=vid, site_id="s1", attributes={}, first_seen_ts=now, last_seen_ts=now
                )
            )
            await conn.execute(
                conversations.insert().values(
                    id=cid, site_id="s1", visitor_id=vid, status="active", created_ts=now
                )
            )


async def _index_all(db: Database) -> bool:
    """What the search indexer does off the ack path (from migration 0016 on), for
    every conversation until none is behind; whether there was such an index."""
    if await _search_index_missing(db):
        return False
    # Imported here: the script also measures checkouts from before the indexer existed.
    from server.search_indexer import BATCH, SWEEP_LIMIT
    from server.store.search_index import conversations_behind, index_conversations

    while behind := await conversations_behind(db, SWEEP_LIMIT):
        for start in range(0, len(behind), BATCH):
            await index_conversations(db, behind[start : start + BATCH])
    return True


async def _search_index_missing(db: Database) -> bool:
    async with db.read() as conn:
        found = await conn.execute(
            text("SELECT count(*) FROM alembic_version WHERE version_num < '0016'")
        )
        return bool(found.scalar_one())


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a local process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


Store = Callable[[list[dict[str, Any]]], Awaitable[None]]


async def _store_all(store: Store, first: int, count: int, batch: int) -> float:
    rng = random.Random(first)
    started = time.perf_counter()
    for start in range(first, first + count, batch):
        await store([_message(rng, n) for n in range(start, min(start + batch, first + count))])
    return time.perf_counter() - started


async def _pg_variant(pg: Postgres, name: str, ddl: list[str], batch: int, count: int) -> dict:
    url = await pg.create_database(f"share_{abs(hash((name, batch))) % 10**8}")
    db = open_database(url)
    try:
        await upgrade_to_head(db)
        await _seed(db)
        async with db.write() as conn:
            for statement in ddl:
                await conn.execute(text(statement))

        # One connection, as the node's one group-commit writer: its backend's CPU is
        # what the statements cost the database (less noisy than their time on a shared
        # machine, where a statement's time includes waiting for a core).
        async with db.read() as conn, raw_postgres(conn) as writer:

            async def store(messages: list[dict[str, Any]]) -> None:
                await append_batch_postgres(writer, messages, int(time.time() * 1000))

            backend = await writer.fetchval("SELECT pg_backend_pid()")
            await _store_all(store, 0, PREFILL, 128)
            await _index_all(db)
            await writer.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            await writer.execute("CHECKPOINT")
            await writer.execute("SELECT pg_stat_statements_reset()")
            lsn0 = await writer.fetchval("SELECT pg_current_wal_lsn()")
            cpu0 = _cpu_s(backend)
            wall = await _store_all(store, PREFILL, count, batch)
            cpu = _cpu_s(backend) - cpu0
        async with db.read() as conn, raw_postgres(conn) as raw:
            lsn1 = await raw.fetchval("SELECT pg_current_wal_lsn()")
            row = await raw.fetchrow(
                "SELECT sum(calls) AS calls, sum(total_exec_time) AS ms, sum(wal_bytes) AS wal"
                " FROM pg_stat_statements WHERE query LIKE '%WITH input AS%'"
            )
            total_wal = await raw.fetchval("SELECT pg_wal_lsn_diff($1, $2)", lsn1, lsn0)
            started = time.perf_counter()
            has_gin = await raw.fetchval(
                "SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_messages_text_fts'"
            )
            if has_gin:
                await raw.fetchval("SELECT gin_clean_pending_list('ix_messages_text_fts')")
        indexed = await _index_all(db)  # the search indexer's share, off the ack path
        async with db.read() as conn, raw_postgres(conn) as raw:
            deferred_ms = (time.perf_counter() - started) * 1000
            lsn2 = await raw.fetchval("SELECT pg_current_wal_lsn()")
            deferred_wal = int(await raw.fetchval("SELECT pg_wal_lsn_diff($1, $2)", lsn2, lsn1))
        if not has_gin and not indexed:
            deferred_ms, deferred_wal = 0.0, 0
    finally:
        await db.close()
    return {
        "variant": name,
        "batch": batch,
        "calls": int(row["calls"]),
        "exec_us": row["ms"] * 1000 / count,
        "stmt_wal": int(row["wal"]) / count,
        "wall_us": wall * 1e6 / count,
        "cpu_us": cpu * 1e6 / count,
        "all_wal": float(total_wal) / count,
        "deferred_us": deferred_ms * 1000 / count,
        "deferred_wal": deferred_wal / count,
    }


async def _sqlite_variant(name: str, ddl: list[str], batch: int, count: int) -> dict:
    path = Path(tempfile.mkdtemp(prefix="beckon-share-")) / "share.db"
    db = open_database(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade_to_head(db)
        await _seed(db)
    finally:
        await db.close()
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=NORMAL")
    raw.execute("PRAGMA foreign_keys=ON")
    for statement in ddl:
        raw.execute(statement)

    async def store(messages: list[dict[str, Any]]) -> None:
        raw.execute("BEGIN IMMEDIATE")
        append_batch_sqlite(raw, messages, int(time.time() * 1000))
        raw.execute("COMMIT")

    await _store_all(store, 0, PREFILL, 128)
    db = open_database(f"sqlite+aiosqlite:///{path}")
    await _index_all(db)
    started = time.process_time()
    wall = await _store_all(store, PREFILL, count, batch)
    cpu = time.process_time() - started
    raw.close()
    started_indexing = time.process_time()
    indexed = await _index_all(db)
    indexing_cpu = time.process_time() - started_indexing
    await db.close()
    return {
        "variant": name,
        "batch": batch,
        "wall_us": wall * 1e6 / count,
        "cpu_us": cpu * 1e6 / count,
        "index_cpu_us": indexing_cpu * 1e6 / count if indexed else 0.0,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--batches", default="1,16,128")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--only", default="", help="run the variants whose name has this")
    args = parser.parse_args()
    try:
        batches = [int(b) for b in args.batches.split(",")]
    except ValueError:
        parser.error(f"--batches must be comma-separated integers, got {args.batches!r}")
    if args.messages < 1 or any(b < 1 for b in batches):
        parser.error("--messages and every batch size must be at least 1")
    if not args.skip_postgres:
        pg = Postgres(
            Path(tempfile.mkdtemp(prefix="beckon-share-pg-")),
            settings={"shared_preload_libraries": "pg_stat_statements"},
        )
        await pg.start()
        if not pg.private:
            raise SystemExit("needs a private PostgreSQL cluster (initdb, root, postgres user)")
        try:
            print("PostgreSQL, per message (µs, WAL bytes):")
            print(
                f"{'variant':40} {'batch':>5} {'exec':>7} {'cpu':>7} {'wall':>7} {'stmt WAL':>9}"
                f" {'all WAL':>8} {'deferred':>9} {'def WAL':>8}"
            )
            for name, ddl in PG_VARIANTS.items():
                if args.only not in name:
                    continue
                for batch in batches:
                    r = await _pg_variant(pg, name, ddl, batch, args.messages)
                    print(
                        f"{name:40} {batch:>5} {r['exec_us']:>7.1f} {r['cpu_us']:>7.1f}"
                        f" {r['wall_us']:>7.1f}"
                        f" {r['stmt_wal']:>9.0f} {r['all_wal']:>8.0f} {r['deferred_us']:>9.1f}"
                        f" {r['deferred_wal']:>8.0f}",
                        flush=True,
                    )
                    await pg.drop_databases()
        finally:
            await pg.drop_databases()
            pg.stop()
    if not args.skip_sqlite:
        print("SQLite, per message (µs):")
        print(f"{'variant':40} {'batch':>5} {'wall':>7} {'cpu':>7} {'indexer cpu':>11}")
        for name, ddl in SQLITE_VARIANTS.items():
            if args.only not in name:
                continue
            for batch in batches:
                r = await _sqlite_variant(name, ddl, batch, args.messages)
                print(
                    f"{name:40} {batch:>5} {r['wall_us']:>7.1f} {r['cpu_us']:>7.1f}"
                    f" {r['index_cpu_us']:>11.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    asyncio.run(main())
