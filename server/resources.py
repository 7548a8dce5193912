"""Opening and closing the node's resources (database, broker, metrics)."""

from __future__ import annotations

import asyncio
import logging

from server.broker import open_broker
from server.chat.message_writer import MessageWriter
from server.chat.visitor_writer import VisitorWriter
from server.errors import first_line
from server.metrics import Metrics
from server.passwords import Passwords
from server.search_indexer import SearchIndexer
from server.services import Services
from server.settings import Settings, redact_url
from server.store.database import Database, open_database
from server.store.decisions import DecisionLog
from server.store.migrate import current_revision, head_revision
from server.store.visits import VisitLog

log = logging.getLogger("beckon.resources")
START_TIMEOUT_S = 10


class StartupError(Exception):
    """A resource cannot be opened; the message is one line for the operator."""


async def open_services(settings: Settings) -> Services:
    """Open the database and broker, checking both really answer.

    Raises StartupError naming what failed (and closes what was opened).
    """
    db = open_database(settings.database_url)
    try:
        await asyncio.wait_for(db.ping(), START_TIMEOUT_S)
    except Exception as exc:
        await db.close()
        raise StartupError(
            f"cannot reach the database ({redact_url(settings.database_url)}): {first_line(exc)}"
        ) from exc
    await _check_schema(db)
    try:
        broker = open_broker(settings.broker_url, prefix=settings.broker_prefix)
    except ValueError as exc:  # e.g. a prefix with a brace on redis+cluster://
        await db.close()
        raise StartupError(f"bad broker configuration: {exc}") from None
    try:
        await asyncio.wait_for(broker.start(), START_TIMEOUT_S)
    except Exception as exc:
        await db.close()
        await broker.close()
        raise StartupError(
            f"cannot reach the broker ({redact_url(settings.broker_url)}): {first_line(exc)}"
        ) from exc
    metrics = Metrics()
    broker.add_reconnect_listener(metrics.broker_reconnects.inc)
    visit_log = VisitLog(db)
    visit_log.start()
    decision_log = DecisionLog(db)
    decision_log.start()
    search_indexer = SearchIndexer(db)  # started with the app's other workers
    return Services(
        settings=settings,
        db=db,
        broker=broker,
        metrics=metrics,
        visit_log=visit_log,
        message_writer=MessageWriter(db, on_stored=search_indexer.note),
        search_indexer=search_indexer,
        visitor_writer=VisitorWriter(db, settings.visitor_max_attributes),
        passwords=Passwords(settings.password_hash_threads),
        decision_log=decision_log,
    )


async def _check_schema(db: Database) -> None:
    current = await current_revision(db)
    if current != head_revision():
        await db.close()
        raise StartupError(
            f"the database schema is at {current or 'nothing'}, not {head_revision()}; "
            "run `beckon migrate`"
        )
