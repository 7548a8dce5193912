"""Queue and assignment: who gets which chat, atomically across nodes.

Every claim is a Lua script in the Broker (claim_from_queue / claim_member / take_slot)
that checks the agent's capacity and moves the chat in one step; the Store's
compare-and-set on the status then records it. If the Store says no (the visitor left
meanwhile) the slot is given back. Policies: least_busy (default), round_robin, offer.
"""

from __future__ import annotations

import logging
from typing import Any

import msgpack

from server.broker.base import Broker
from server.chat import conversations, presence, queue, routing_order
from server.chat.state import Action, BadTransition
from server.ids import now_ms
from server.store.database import Database

log = logging.getLogger("beckon.routing")


class RoutingError(Exception):
    """An assignment that cannot happen; `code` is the protocol error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


TURN_TTL_S = 86_400.0
"""A department idle for a day starts its circle again from the first agent."""


def _turn_key(site_id: str, department: str | None) -> str:
    return f"rr:{site_id}:{department or '-'}"


class Router:
    def __init__(self, db: Database, broker: Broker, offer_timeout_s: float = 20.0) -> None:
        self.db = db
        self.broker = broker
        self.offer_timeout_s = offer_timeout_s

    async def enqueue(self, conv: dict[str, Any]) -> None:
        await queue.push(self.broker, conv)

    async def heal(self, queued: list[dict[str, Any]], still_queued: set[str]) -> None:
        """Make the Broker's queues hold what the Store says is waiting (after a Redis
        restart they are empty). `still_queued` is re-read after the pushes: a chat
        claimed in between is taken out again."""
        for conv in queued:
            await queue.push(self.broker, conv)
        for conv in queued:
            if conv["id"] not in still_queued:
                await queue.remove(self.broker, conv)

    async def _agent(self, agent_id: str) -> dict[str, Any] | None:
        from server.store import users as user_queries

        async with self.db.read() as conn:
            return await user_queries.get_user(conn, agent_id)

    async def dispatch(
        self, site: dict[str, Any], queued: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[tuple[str, dict[str, Any]]]]:
        """Hand queued chats to agents with room. Returns (assigned conversations,
        offers made as (agent id, conversation)). `queued` is the Store's queued list,
        oldest first."""
        policy = (site.get("settings") or {}).get("routing", "least_busy")
        assigned: list[dict[str, Any]] = []
        offers: list[tuple[str, dict[str, Any]]] = []
        agents = await presence.agents(self.broker, site["id"])
        if not any(a.status == "online" and a.free for a in agents):
            return assigned, offers
        for conv in queued:
            agents = await presence.agents(self.broker, site["id"])
            last = await self._last_taker(site["id"], conv["department"], policy)
            candidates = routing_order.candidates(agents, conv["department"], policy, last)
            if not candidates:
                continue
            if policy == "offer":
                offered = await self._offer(conv, candidates)
                if offered is not None:
                    offers.append((offered, conv))
                continue
            for agent in candidates:
                claimed = await self.broker.run_script(
                    "claim_member",
                    [queue.key(conv["site_id"], conv["department"]), presence.LOAD_KEY],
                    [agent.agent_id, agent.capacity, conv["id"]],
                )
                if claimed == 1:
                    done = await self._record(conv["id"], agent.agent_id)
                    if done is not None:
                        assigned.append(done)
                        if policy == "round_robin":
                            await self._took_turn(site["id"], conv["department"], agent.agent_id)
                    break
                if claimed == 0:
                    break  # taken elsewhere meanwhile
        return assigned, offers

    async def claim_for(self, conv: dict[str, Any], agent_id: str) -> dict[str, Any] | None:
        """Give a queued chat to one named agent if they are online, serve its department
        and have a free slot (the agent an accepted invitation spoke as); None otherwise,
        and the chat waits for the usual routing."""
        agents = await presence.agents(self.broker, conv["site_id"])
        if not any(
            a.agent_id == agent_id
            for a in routing_order.candidates(agents, conv["department"], "least_busy", None)
        ):
            return None
        agent = next(a for a in agents if a.agent_id == agent_id)
        claimed = await self.broker.run_script(
            "claim_member",
            [queue.key(conv["site_id"], conv["department"]), presence.LOAD_KEY],
            [agent.agent_id, agent.capacity, conv["id"]],
        )
        return await self._record(conv["id"], agent_id) if claimed == 1 else None

    # The department's round-robin turn is the agent who took its previous chat. Kept in
    # the Broker so every node continues the same circle; a race between two nodes costs
    # at most one turn out of order, never a double claim (claims are atomic scripts).
    async def _last_taker(self, site_id: str, department: str | None, policy: str) -> str | None:
        if policy != "round_robin":
            return None
        raw = await self.broker.state_get(_turn_key(site_id, department))
        return raw.decode() if raw else None

    async def _took_turn(self, site_id: str, department: str | None, agent_id: str) -> None:
        await self.broker.state_set(_turn_key(site_id, department), agent_id.encode(), TURN_TTL_S)

    async def _record(self, conversation_id: str, agent_id: str) -> dict[str, Any] | None:
        """Write a claim to the Store; give the slot back if the chat is no longer queued."""
        try:
            return await conversations.accept(self.db, conversation_id, agent_id)
        except (BadTransition, LookupError):
            await presence.release(self.broker, agent_id)
            return None

    async def accept(self, conv: dict[str, Any], agent: dict[str, Any]) -> dict[str, Any]:
        """An agent takes a queued chat. Raises RoutingError(conflict) when it is gone or
        the agent is at capacity."""
        if conv["status"] != "queued":
            raise RoutingError("conflict", f"cannot accept a {conv['status']} conversation")
        await queue.push(self.broker, conv)  # heals a queue the Broker lost
        claimed = await self.broker.run_script(
            "claim_member",
            [queue.key(conv["site_id"], conv["department"]), presence.LOAD_KEY],
            [agent["id"], agent["capacity"], conv["id"]],
        )
        if claimed == -1:
            raise RoutingError("conflict", "you are at capacity; close a chat first")
        if claimed == 0:
            raise RoutingError("conflict", "another agent took this conversation")
        await self.broker.state_delete(f"offer:{conv['id']}")
        done = await self._record(conv["id"], agent["id"])
        if done is None:
            raise RoutingError("conflict", "the conversation is no longer waiting")
        return done

    async def finished(self, conv: dict[str, Any]) -> None:
        """A chat closed: free its agent's slot or take it out of the queue."""
        if conv["status"] == "active":
            await presence.release(self.broker, conv["agent_id"])
        elif conv["status"] == "queued":
            await queue.remove(self.broker, conv)

    async def transfer_to_agent(
        self, conv: dict[str, Any], target: dict[str, Any]
    ) -> dict[str, Any]:
        if target["id"] == conv["agent_id"]:
            raise RoutingError("conflict", "the conversation is already yours")
        taken = await self.broker.run_script(
            "take_slot", [presence.LOAD_KEY], [target["id"], target["capacity"]]
        )
        if taken == -1:
            raise RoutingError("conflict", f"{target['display_name']} is at capacity")
        try:
            moved = await conversations.apply(
                self.db,
                conv["id"],
                Action.TRANSFER_TO_AGENT,
                {
                    "agent_id": target["id"],
                    "transfers": conv.get("transfers", 0) + 1,
                    "accepted_ts": conv.get("accepted_ts") or now_ms(),
                },
            )
        except BadTransition as exc:
            await presence.release(self.broker, target["id"])
            raise RoutingError("conflict", str(exc)) from None
        if conv["status"] == "active":
            await presence.release(self.broker, conv["agent_id"])
        else:
            await queue.remove(self.broker, conv)
        return moved

    async def requeue(
        self, conv: dict[str, Any], department: str | None, *, expect_agent: str | None
    ) -> dict[str, Any] | None:
        """Send an active chat back to the queue (transfer to a department, or its agent
        went away), keeping its place. None when someone else changed it first."""
        values = {
            "agent_id": None,
            "department": department,
            "queued_ts": conv.get("queued_ts") or conv["created_ts"],
            "transfers": conv.get("transfers", 0) + 1,
        }
        from server.store import conversations as conv_queries

        async with self.db.write() as conn:
            changed = await conv_queries.transition(
                conn,
                conv["id"],
                from_statuses=("active",),
                values={"status": "queued", **values},
                expect_agent=expect_agent,
            )
            updated = await conv_queries.get_conversation(conn, conv["id"]) if changed else None
        if updated is None:
            return None
        await presence.release(self.broker, conv["agent_id"])
        await queue.push(self.broker, updated)
        return updated

    # -- offers ------------------------------------------------------------------------
    async def _offer(
        self, conv: dict[str, Any], candidates: list[presence.AgentState]
    ) -> str | None:
        """Offer the chat to the next agent who has not had it; one live offer at a time
        (a capped counter is the cross-node lock, expiring with the offer)."""
        lock = await self.broker.run_script(
            "incr_capped", [f"offerlock:{conv['id']}"], [1, int(self.offer_timeout_s * 1000), 1]
        )
        if lock == -1:
            return None
        raw = await self.broker.state_get(f"offered:{conv['id']}")
        tried: list[str] = msgpack.unpackb(raw) if raw else []
        fresh = [a for a in candidates if a.agent_id not in tried]
        if not fresh:  # everyone had a turn: start a new round
            tried, fresh = [], candidates
        agent_id = fresh[0].agent_id
        expires = now_ms() + int(self.offer_timeout_s * 1000)
        await self.broker.state_set(
            f"offer:{conv['id']}",
            msgpack.packb({"agent": agent_id, "expires": expires}),
            self.offer_timeout_s,
        )
        await self.broker.state_set(
            f"offered:{conv['id']}", msgpack.packb([*tried, agent_id]), 3600
        )
        conv["offer_expires_ts"] = expires
        return agent_id

    async def decline(self, conv: dict[str, Any], agent_id: str) -> None:
        raw = await self.broker.state_get(f"offer:{conv['id']}")
        if raw is None or msgpack.unpackb(raw)["agent"] != agent_id:
            raise RoutingError("conflict", "there is no offer of this conversation for you")
        await self.broker.state_delete(f"offer:{conv['id']}")
        await self.broker.state_delete(f"offerlock:{conv['id']}")

    async def offer_holder(self, conversation_id: str) -> str | None:
        raw = await self.broker.state_get(f"offer:{conversation_id}")
        return msgpack.unpackb(raw)["agent"] if raw else None
