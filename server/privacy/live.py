"""An erased visitor's live state: Broker keys, presence, routing, and open sockets on
every node.

Keys named by a visitor id: `vstate:{id}` (facts, counters, the invitation on screen),
the `online-visitors:{site}` presence member, and the per-visitor quota counters. Keys
named by a conversation: the routing offer, its lock and who had it, and the queue
entry (taken out by `Router.finished`). Pub/sub carries nothing stored.
"""

from __future__ import annotations

import hashlib
from typing import Any

from server.broker.base import Broker
from server.chat import visitor_state
from server.chat.proactive import online_group
from server.chat.visitor_token import TOKEN_TTL_MS
from server.hub import chat_events
from server.hub.dispatch import Dispatch
from server.hub.hub import visitor_channel
from server.services import Services
from server.store import decisions, visits

# The quotas counted per visitor (`server/hub/visitor/limits.py`, scope "v").
VISITOR_QUOTAS = ("chat_start", "offline_message", "conversion")
ERASED_EVENT = "erased"
"""Published on `visitor:{id}`: every node closes that visitor's sockets (4403)."""


def tombstone_key(visitor_id: str) -> str:
    """Marks an erased visitor id for as long as its tokens are valid, so a page load
    with an old token starts a new visitor instead of bringing the id back. Keyed by a
    hash: the Broker keeps no erased id."""
    return "erased:" + hashlib.sha256(visitor_id.encode()).hexdigest()[:32]


async def was_erased(broker: Broker, visitor_id: str) -> bool:
    return await broker.state_get(tombstone_key(visitor_id)) is not None


def visitor_keys(visitor_id: str) -> list[str]:
    return [
        visitor_state.key(visitor_id),
        *(f"quota:{name}:v:{visitor_id}" for name in VISITOR_QUOTAS),
    ]


def conversation_keys(conversation_id: str) -> list[str]:
    return [f"{kind}:{conversation_id}" for kind in ("offer", "offered", "offerlock")]


async def clear_keys(broker: Broker, site_id: str, visitor_ids: list[str], cids: list[str]) -> None:
    for visitor_id in visitor_ids:
        for key in visitor_keys(visitor_id):
            await broker.state_delete(key)
        await broker.presence_remove(online_group(site_id), visitor_id)
    for conversation_id in cids:
        for key in conversation_keys(conversation_id):
            await broker.state_delete(key)


async def forget(
    dispatch: Dispatch,
    site_id: str,
    visitor_ids: list[str],
    conversation_ids: list[str],
    open_conversations: list[dict[str, Any]],
) -> bool:
    """Clear the live state of an erasure already committed to the Store.

    Keys are cleared before and after the sockets are told to close, so a socket
    writing its state while it closes cannot leave a copy behind (`forget` may also be
    called again: every step is idempotent). Returns False when the Broker could not
    carry the close to other nodes (their sockets then close at their next reconnect
    check, or stay until the visitor leaves)."""
    broker = dispatch.router.broker
    for conv in open_conversations:
        # Frees the agent's slot or the queue entry; the agents see it closed.
        await dispatch.router.finished(conv)
        await chat_events.publish_closed(dispatch.hub, conv["id"], "system", [])
    await clear_keys(broker, site_id, visitor_ids, conversation_ids)
    for visitor_id in visitor_ids:
        await broker.state_set(tombstone_key(visitor_id), b"1", TOKEN_TTL_MS / 1000)
    told = True
    for visitor_id in visitor_ids:
        told &= await dispatch.hub.publish(visitor_channel(visitor_id), ERASED_EVENT, {})
    await clear_keys(broker, site_id, visitor_ids, conversation_ids)
    return told


async def sweep_node(services: Services, site_id: str, visitor_id: str) -> None:
    """On a node whose socket of an erased visitor has just closed: what that socket
    may have left behind after the erasure (its unwritten visit events, a last write
    of its live state)."""
    services.visit_log.forget(visitor_id)
    services.decision_log.forget(visitor_id)
    await visits.delete_visitor(services.db, site_id, visitor_id)
    await decisions.delete_visitor(services.db, site_id, visitor_id)
    for key in visitor_keys(visitor_id):
        await services.broker.state_delete(key)
    await services.broker.presence_remove(online_group(site_id), visitor_id)
