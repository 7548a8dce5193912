"""Each node's list of a site's active bans, dropped on every node when one changes.

Read on every guarded visitor frame, so it is in memory; a ban or lift announces the
site through the Broker (server/announced_cache.py), and entries expire after
`MAX_AGE_S` in case an announcement was lost while the broker was down.
"""

from __future__ import annotations

from server.announced_cache import AnnouncedCache
from server.bans import queries
from server.bans.matching import Ban, banned
from server.broker.base import Broker
from server.ids import now_ms
from server.store.database import Database

CHANNEL = "bans-changed"
MAX_AGE_S = 30.0


class BanList:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.cache: AnnouncedCache[tuple[Ban, ...]] = AnnouncedCache(
            CHANNEL, self._load, max_age_s=MAX_AGE_S
        )

    async def _load(self, site_id: str) -> tuple[Ban, ...]:
        async with self.db.read() as conn:
            rows = await queries.active_bans(conn, site_id, now_ms())
        return tuple(Ban.of(r) for r in rows)

    async def of_site(self, site_id: str) -> tuple[Ban, ...]:
        return await self.cache.get(site_id)

    async def holds(
        self,
        site_id: str,
        visitor_id: str | None,
        address: str | None,
        *,
        except_id: str | None = None,
    ) -> bool:
        """Whether a ban of the site holds for this visitor now."""
        bans = await self.cache.get(site_id)
        return banned(bans, visitor_id, address, now_ms(), except_id=except_id)

    async def follow(self, broker: Broker) -> None:
        await self.cache.follow(broker)

    async def announce(self, broker: Broker, site_id: str) -> None:
        await self.cache.announce(broker, site_id)

    async def close(self) -> None:
        await self.cache.close()
