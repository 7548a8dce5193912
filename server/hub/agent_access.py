"""What an agent socket may do: its role and the sites it answers chats on.

The agent socket is for the roles that answer chats: `admin` (on every site) and
`agent` (on the sites it is a member of). A `marketer` is refused (4403); it keeps its
REST read access. The answer is re-read from the Store — the truth — on connect, when
an `access` or `revoke` envelope says something changed (server/hub/access_events.py),
and every `BECKON_AGENT_ACCESS_RECHECK_S` in case such an envelope was lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.auth import Principal
from server.ids import now_ms
from server.store import sessions as session_queries
from server.store import sites as site_queries
from server.store import users as user_queries
from server.store.database import Database

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
SOCKET_ROLES = frozenset({"admin", "agent"})
NO_AGENT_ROLE = "the agent socket needs the agent or admin role"
NO_SITE = "not an agent of any site"
SITES_LIMIT = 1000


class AccessDenied(Exception):
    """The socket must close with `code` (4401 or 4403) and `reason`."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Access:
    user: dict[str, Any]
    sites: dict[str, dict[str, Any]]
    """The sites this socket answers chats on, by id."""


def check_role(role: str, member_site_count: int) -> None:
    """Raise AccessDenied(4403) unless `role` may use the agent socket on some site."""
    if role not in SOCKET_ROLES:
        raise AccessDenied(CLOSE_FORBIDDEN, NO_AGENT_ROLE)
    # An admin answers on every site, even before the first one exists.
    if role == "agent" and member_site_count == 0:
        raise AccessDenied(CLOSE_FORBIDDEN, NO_SITE)


async def _credentials_live(conn: Any, principal: Principal, now: int) -> bool:
    if principal.session_hash is not None:
        return await session_queries.session_user(conn, principal.session_hash, now) is not None
    if principal.token_id is not None:
        return await user_queries.token_is_live(conn, principal.token_id, now)
    return False


def ended_reason(principal: Principal, now: int) -> str:
    """Why the principal's credentials no longer work, as a close reason."""
    what = "token" if principal.via == "token" else "session"
    expired = principal.expires_ts is not None and principal.expires_ts <= now
    return f"{what} expired" if expired else f"{what} revoked"


async def current_access(db: Database, principal: Principal) -> Access:
    """The principal's role and agent sites as the Store has them now.

    Raises AccessDenied(4401) when its session or token ended or the user is inactive,
    AccessDenied(4403) when its role may not use the agent socket, or it is an agent of
    no site. StoreUnavailable passes through (the caller keeps what it had).
    """
    now = now_ms()
    async with db.read() as conn:
        user = await user_queries.get_user(conn, principal.id)
        live = await _credentials_live(conn, principal, now)
        if user is None or not user["active"] or not live:
            raise AccessDenied(CLOSE_UNAUTHORIZED, ended_reason(principal, now))
        member_id = None if user["role"] == "admin" else user["id"]
        rows = await site_queries.list_sites(
            conn, member_id=member_id, after_id=None, limit=SITES_LIMIT
        )
    check_role(user["role"], len(rows))
    return Access(user=user, sites={row["id"]: row for row in rows})
