"""The node's open resources, built once at start-up and handed to whoever needs them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from server.metrics import Metrics
from server.passwords import Passwords
from server.settings import Settings
from server.store.database import Database

if TYPE_CHECKING:
    from server.broker.base import Broker
    from server.chat.message_writer import MessageWriter
    from server.chat.visitor_writer import VisitorWriter
    from server.search_indexer import SearchIndexer
    from server.store.decisions import DecisionLog
    from server.store.visits import VisitLog


@dataclass(slots=True)
class Services:
    settings: Settings
    db: Database
    broker: Broker
    metrics: Metrics
    visit_log: VisitLog
    message_writer: MessageWriter
    visitor_writer: VisitorWriter
    passwords: Passwords
    decision_log: DecisionLog  # decisions over time (server/chat/decision_recorder.py)
    search_indexer: SearchIndexer  # full-text search off the ack path

    async def close(self) -> None:
        """Close the broker, then the database; safe to call twice."""
        try:
            await self.search_indexer.close()
            await self.message_writer.close()
            await self.visitor_writer.close()
            await self.visit_log.close()
            await self.decision_log.close()
            await self.broker.close()
        finally:
            self.passwords.close()
            await self.db.close()
