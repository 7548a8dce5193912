"""server/store/ops_stats.py and the gauges it feeds, on SQLite and PostgreSQL: queued
chats, the webhook backlog (count and oldest age) and the deliveries that gave up."""

from __future__ import annotations

from types import SimpleNamespace

from prometheus_client import generate_latest
from sqlalchemy import insert

from server.metrics import Metrics
from server.metrics_sampler import record
from server.store.database import Database
from server.store.ops_stats import OpsStats, ops_stats
from server.store.tables import conversations, webhook_outbox, webhooks
from tests.store.test_schema import _conversation, _seed


def _delivery(did: str, status: str, created_ts: int) -> dict:
    return {
        "id": did,
        "webhook_id": "wh_1",
        "site_id": "st_1",
        "event": "message.created",
        "event_id": f"ev_{did}",
        "body": "{}",
        "status": status,
        "next_attempt_ts": created_ts,
        "created_ts": created_ts,
    }


async def test_an_empty_store_has_nothing_waiting(db: Database) -> None:
    async with db.read() as conn:
        assert await ops_stats(conn) == OpsStats(0, 0, None, 0)


async def test_queued_chats_and_the_webhook_outbox_are_counted(db: Database) -> None:
    await _seed(db)
    async with db.write() as conn:
        await conn.execute(insert(conversations).values(**_conversation("cv_1", "queued")))
        await conn.execute(
            insert(webhooks).values(
                id="wh_1",
                site_id="st_1",
                url="https://hooks.example.com/in",
                events=["message.created"],
                secret="s" * 32,
                created_ts=1,
            )
        )
        for row in (
            _delivery("d1", "pending", 5_000),
            _delivery("d2", "pending", 2_000),
            _delivery("d3", "delivered", 1_000),
            _delivery("d4", "failed", 1_000),
        ):
            await conn.execute(insert(webhook_outbox).values(**row))
    async with db.read() as conn:
        stats = await ops_stats(conn)
    assert stats == OpsStats(
        queued_chats=1, webhook_pending=2, webhook_oldest_pending_ms=2_000, webhook_failed=1
    )


def test_record_sets_the_gauges() -> None:
    metrics = Metrics()
    services = SimpleNamespace(metrics=metrics)
    record(services, OpsStats(3, 7, 10_000, 2), now=25_500)  # type: ignore[arg-type]
    text = generate_latest(metrics.registry).decode()
    assert "beckon_chat_queue_waiting 3.0" in text
    assert "beckon_webhook_backlog 7.0" in text
    assert "beckon_webhook_oldest_pending_seconds 15.5" in text
    assert "beckon_webhook_failed_deliveries 2.0" in text
    assert "beckon_store_sample_timestamp_seconds 25.5" in text
    record(services, OpsStats(0, 0, None, 2), now=30_000)  # type: ignore[arg-type]
    assert "beckon_webhook_oldest_pending_seconds 0.0" in generate_latest(metrics.registry).decode()
