"""Publishing chat events (shared by both socket kinds and the REST API)."""

from __future__ import annotations

from typing import Any

from server.chat.payloads import message_frame
from server.hub.hub import Hub, agent_channel, conv_channel, site_channel


async def publish_message(hub: Hub, row: dict[str, Any]) -> None:
    await hub.publish(
        conv_channel(row["conversation_id"]),
        "message",
        {"frame": message_frame(row), "seq": row["seq"], "internal": bool(row["internal"])},
    )


async def publish_conversation(hub: Hub, frame: dict[str, Any]) -> None:
    await hub.publish(conv_channel(frame["id"]), "conversation", frame)


async def publish_queue_changed(hub: Hub, site_id: str) -> None:
    await hub.publish(site_channel(site_id), "queue", {"site_id": site_id})


def closed_frame(conversation_id: str, by: str, survey: list[str]) -> dict[str, Any]:
    return {"type": "closed", "conversation_id": conversation_id, "by": by, "survey": survey}


async def publish_closed(
    hub: Hub, conversation_id: str, by: str, survey: list[str], origin: str | None = None
) -> None:
    """Tell both sides; `origin` (the closing socket) got its own reply with its ref."""
    frame = closed_frame(conversation_id, by, survey)
    await hub.publish(conv_channel(conversation_id), "closed", {**frame, "origin": origin})


def survey_kinds(site: dict[str, Any]) -> list[str]:
    return list((site.get("widget") or {}).get("survey", ["csat"]))


async def publish_revoke(hub: Hub, agent_id: str, session_hash: str | None) -> None:
    """Close the agent's sockets on every node: one session's, or all (None)."""
    await hub.publish(agent_channel(agent_id), "revoke", {"session": session_hash})
