"""Telling open agent sockets, on every node, that what they may do has changed.

Two envelope kinds on the agent's channel (`agent:<id>`):

- `revoke {session?, token?, keep_session?, tokens}` — credentials ended: one session,
  one API token, or every session of the user except `keep_session` (a password change
  keeps the session it was made from) and, when `tokens`, every API token too. A socket
  signed in with one of them is closed with 4401.
- `access {}` — the user's role, sites or active flag changed: each socket re-reads them
  from the Store (the truth) and loses the sites it may no longer answer for.

A publish lost while the broker is down is covered by each socket's periodic re-check
(`BECKON_AGENT_ACCESS_RECHECK_S`), which reads the same Store.
"""

from __future__ import annotations

from typing import Any

from server.auth import Principal
from server.hub.hub import Hub, agent_channel
from server.store import users as user_queries
from server.store.database import Database


async def publish_revoke(
    hub: Hub,
    user_id: str,
    *,
    session: str | None = None,
    token: str | None = None,
    keep_session: str | None = None,
    tokens: bool = True,
) -> None:
    """Close the sockets signed in with the ended credentials (see the module doc)."""
    payload = {"session": session, "token": token, "keep_session": keep_session, "tokens": tokens}
    await hub.publish(agent_channel(user_id), "revoke", payload)


async def publish_access_changed(hub: Hub, user_id: str) -> None:
    await hub.publish(agent_channel(user_id), "access", {})


async def publish_access_to_admins(hub: Hub, db: Database) -> None:
    """A site was created: every admin answers on it, so their open sockets take it up."""
    async with db.read() as conn:
        admin_ids = await user_queries.active_ids_with_role(conn, "admin")
    for admin_id in admin_ids:
        await publish_access_changed(hub, admin_id)


def revoke_hits(payload: dict[str, Any], principal: Principal) -> bool:
    """True if the `revoke` payload ends the credentials `principal` signed in with."""
    if payload.get("session") is not None:
        return payload["session"] == principal.session_hash
    if payload.get("token") is not None:
        return payload["token"] == principal.token_id
    if principal.via == "token":
        return bool(payload.get("tokens", True))
    keep = payload.get("keep_session")
    return keep is None or keep != principal.session_hash
