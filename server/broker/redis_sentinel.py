"""`redis+sentinel://` URLs: find the Redis primary through Sentinel, and follow promotions.

    redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/service[/db]
                     [?sentinel_password=...&sentinel_username=...]

The credentials authenticate to the Redis servers; `sentinel_password` (and
`sentinel_username`) to the sentinels, which often have none. Sentinels default to
port 26379; the database to 0.

Every new connection asks the sentinels where the primary is now (SentinelPool).
The broker already reconnects after any lost connection, so following a promotion
needs no more than that: when the primary dies, its connections fail, and the
reconnect loops find the promoted replica once Sentinel has elected it (until then
Sentinel reports the old primary as down and connecting fails fast). A demoted
primary answers writes with READONLY; redis-py's SentinelManagedConnection turns that
into a lost connection, so it too leads to a fresh look-up. (Sentinel also kills the
clients of a primary it demotes, for the same reason.)
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from redis.asyncio.connection import BlockingConnectionPool
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelManagedConnection
from redis.backoff import NoBackoff

from server.broker.redis_hosts import parse_host_port

logger = logging.getLogger(__name__)

SCHEME = "redis+sentinel"
DEFAULT_SENTINEL_PORT = 26379
FORM = "redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/service[/db]"
_OPTIONS = ("sentinel_password", "sentinel_username")


@dataclass(frozen=True, slots=True)
class SentinelUrl:
    """A parsed `redis+sentinel://` URL."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_username: str | None = None
    sentinel_password: str | None = None

    @property
    def address(self) -> str:
        """How messages name the target: the service and its sentinels, no credentials."""
        hosts = ",".join(f"{host}:{port}" for host, port in self.sentinels)
        return f"service {self.service!r} via sentinels {hosts}"


def parse_sentinel_url(url: str) -> SentinelUrl:
    """Parse `url` (see the module docstring); raise ValueError saying what is wrong."""
    # Split by hand: urlsplit refuses a netloc of several hosts with an IPv6 one.
    scheme, _, rest = url.partition("://")
    if scheme.lower() != SCHEME:
        raise ValueError(f"not a {SCHEME}:// URL")
    rest, _, query = rest.partition("?")
    netloc, _, path_text = rest.partition("/")
    userinfo, _, hosts = netloc.rpartition("@")
    username = password = None
    if userinfo:
        user, has_password, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if has_password else None
    sentinels = tuple(
        parse_host_port(item, SCHEME, DEFAULT_SENTINEL_PORT, FORM) for item in hosts.split(",")
    )
    path = [segment for segment in path_text.split("/") if segment]
    if not path or len(path) > 2:
        raise ValueError(f"a {SCHEME}:// URL names the Sentinel service: {FORM}")
    db = 0
    if len(path) == 2:
        if not (path[1].isascii() and path[1].isdigit()):
            raise ValueError(f"the database in a {SCHEME}:// URL is a number, not {path[1]!r}")
        db = int(path[1])
    options = dict(parse_qsl(query, keep_blank_values=True))
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise ValueError(
            f"unknown option {unknown[0]!r} in a {SCHEME}:// URL; known: {', '.join(_OPTIONS)}"
        )
    return SentinelUrl(
        sentinels=sentinels,
        service=unquote(path[0]),
        db=db,
        username=username,
        password=password,
        sentinel_username=options.get("sentinel_username") or None,
        sentinel_password=options.get("sentinel_password") or None,
    )


class SentinelPool(BlockingConnectionPool):
    """A BlockingConnectionPool whose connections go to the primary Sentinel names.

    What redis-py's SentinelConnectionPool does for its (non-blocking) pool: each
    connection asks `get_master_address()` when it (re)connects. The pool owns the
    sentinel clients; `aclose()` closes them too.
    """

    def __init__(self, target: SentinelUrl, **connection_kwargs: Any) -> None:
        self.is_master = True  # read by SentinelManagedConnection
        self.check_connection = False
        self.service_name = target.service
        self.master_address: tuple[str, int] | None = None
        self.sentinel_manager = Sentinel(
            target.sentinels,
            sentinel_kwargs={
                "username": target.sentinel_username,
                "password": target.sentinel_password,
                "socket_connect_timeout": connection_kwargs.get("socket_connect_timeout", 1.0),
                "socket_timeout": 1.0,
                "protocol": 2,
                "retry": Retry(NoBackoff(), 0),  # discovery moves on to the next sentinel
            },
        )
        super().__init__(
            connection_class=SentinelManagedConnection,
            username=target.username,
            password=target.password,
            db=target.db,
            **connection_kwargs,
        )
        # A proxy, as redis-py does: connections must not keep the pool alive.
        self.connection_kwargs["connection_pool"] = weakref.proxy(self)

    async def get_master_address(self) -> tuple[str, int]:
        """Ask the sentinels; raises MasterNotFoundError (a ConnectionError) if none knows
        a healthy primary, e.g. between the primary's death and the promotion."""
        address = await self.sentinel_manager.discover_master(self.service_name)
        if address != self.master_address:
            if self.master_address is not None:
                logger.warning(
                    "Sentinel: the primary of %r moved from %s:%s to %s:%s",
                    self.service_name,
                    *self.master_address,
                    *address,
                )
            self.master_address = address
            # Idle connections to the old primary reconnect (to the new one) when used.
            await self.disconnect(inuse_connections=False)
        return address

    async def aclose(self) -> None:
        await super().aclose()
        await self.sentinel_manager.aclose()
