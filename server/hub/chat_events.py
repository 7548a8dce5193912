"""Publishing chat events (shared by both socket kinds and the REST API)."""

from __future__ import annotations

from typing import Any

from server.chat import messages
from server.chat.payloads import message_frame
from server.events import EventBus
from server.hub.hub import Hub, conv_channel, site_channel
from server.store.database import Database
from server.wire.codec import encode_frame


async def publish_message(hub: Hub, row: dict[str, Any]) -> None:
    """Fan a stored message out. The frame travels encoded: receivers write the text.

    Returns without waiting for the broker (`Hub.publish_detached`): the message is
    stored and its ack sent, so a broker outage must not hold the sender's next frame;
    what a failed publish did not deliver, receivers read from the Store on re-sync.
    Publishes leave in call order, so a conversation's events keep their order."""
    await hub.publish_detached(
        conv_channel(row["conversation_id"]),
        "message",
        {
            "conversation_id": row["conversation_id"],
            "seq": row["seq"],
            "internal": bool(row["internal"]),
            "json": encode_frame(message_frame(row)),
        },
    )


# The conversation's change (a transfer, a close) is in the Store before these go out, so
# they are handed to the broker without waiting (`Hub.publish_detached`): with Redis down
# the socket's next frame does not wait the broker's retry window; receivers re-sync.
async def publish_conversation(hub: Hub, frame: dict[str, Any]) -> None:
    await hub.publish_detached(conv_channel(frame["id"]), "conversation", frame)


async def publish_queue_changed(hub: Hub, site_id: str) -> None:
    await hub.publish_detached(site_channel(site_id), "queue", {"site_id": site_id})


def closed_frame(conversation_id: str, by: str, survey: list[str]) -> dict[str, Any]:
    return {"type": "closed", "conversation_id": conversation_id, "by": by, "survey": survey}


async def publish_closed(
    hub: Hub, conversation_id: str, by: str, survey: list[str], origin: str | None = None
) -> None:
    """Tell both sides; `origin` (the closing socket) got its own reply with its ref."""
    frame = closed_frame(conversation_id, by, survey)
    await hub.publish_detached(conv_channel(conversation_id), "closed", {**frame, "origin": origin})


def survey_kinds(site: dict[str, Any]) -> list[str]:
    return list((site.get("widget") or {}).get("survey", ["csat"]))


async def post_system_message(
    hub: Hub, db: Database, conversation_id: str, text: str
) -> dict[str, Any]:
    """Store a system line (transfer, invitation text) in the transcript and fan it out."""
    row, _ = await messages.append(
        db,
        conversation_id=conversation_id,
        sender=None,
        author_kind="system",
        author_id=None,
        author_name=None,
        client_msg_id=None,
        text=text,
    )
    await publish_message(hub, row)
    return row


async def post_invitation_line(
    hub: Hub, db: Database, conversation_id: str, text: str, agent: dict[str, Any] | None
) -> dict[str, Any]:
    """An accepted invitation's words open the transcript, so the agent sees the context:
    said by the agent it spoke as (its persona, or the agent who invited by hand), else a
    system line. Not an answer: the first response time waits for the agent's own."""
    if agent is None:
        return await post_system_message(hub, db, conversation_id, text)
    row, _ = await messages.append(
        db,
        conversation_id=conversation_id,
        sender=f"a:{agent['id']}",
        author_kind="agent",
        author_id=agent["id"],
        author_name=agent["display_name"],
        client_msg_id=None,
        text=text,
        answers=False,
    )
    await publish_message(hub, row)
    return row


def emit_message_created(events: EventBus, site_id: str, row: dict[str, Any]) -> None:
    """The domain event for a new visible message (webhooks listen to it)."""
    if not row["internal"]:
        events.emit(
            "message.created",
            {
                "site_id": site_id,
                "conversation_id": row["conversation_id"],
                "message": message_frame(row),
            },
        )
