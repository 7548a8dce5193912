"""A visitor's answers to invitations: `invitation_shown`, `invitation_accept`,
`invitation_dismiss`; and withdrawing a paced invitation when agents go offline.
Drives `server/chat/proactive.py` and `server/chat/invitation_log.py`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server.chat import invitation_log, personas, visitor_state
from server.chat.payloads import message_frame
from server.hub import chat_events
from server.hub.socket_loop import Refused
from server.hub.visitor import chat, limits
from server.ids import now_ms

if TYPE_CHECKING:
    from server.hub.visitor.session import Handler, VisitorSession


def _log(session: VisitorSession, kind: str, invitation_id: str) -> None:
    session.services.visit_log.append(
        session.site["id"], session.visitor_id, now_ms(), kind, {"invitation_id": invitation_id}
    )


async def on_shown(session: VisitorSession, frame: Any) -> None:
    if not await session.proactive.mark_shown(session.visitor_id, frame.invitation_id):
        raise Refused("not_found", "no such invitation")
    _log(session, "invitation_shown", frame.invitation_id)


async def on_dismiss(session: VisitorSession, frame: Any) -> None:
    if not await session.proactive.close_invitation(
        session.site["id"], session.visitor_id, frame.invitation_id, "dismissed"
    ):
        raise Refused("conflict", "the invitation is no longer open")
    _log(session, "invitation_dismiss", frame.invitation_id)


async def on_accept(session: VisitorSession, frame: Any) -> None:
    site_id = session.site["id"]
    row = await invitation_log.get(session.db, frame.invitation_id)
    if row is None or row["visitor_id"] != session.visitor_id:
        raise Refused("not_found", "no such invitation")
    # Counted before the invitation is answered, so a refusal leaves it open.
    quota = limits.chat_starts(session)
    await limits.take(session, quota)
    if not await session.proactive.close_invitation(
        site_id, session.visitor_id, row["id"], "accepted"
    ):
        await limits.give_back(session, quota)
        raise Refused("conflict", "the invitation is no longer open")
    _log(session, "invitation_accept", row["id"])
    conv, created = await chat.start(
        session, None, rule_id=row["rule_id"], variant_id=row["variant_id"], invitation_id=row["id"]
    )
    if not created:
        await limits.give_back(session, quota)
        raise Refused("conflict", "a conversation is already open")
    await invitation_log.link_conversation(session.db, row["id"], conv["id"])
    session.proactive.decisions.chat_opened(row["id"], conv["id"])
    session.events.emit(
        "invitation.accepted",
        {
            "invitation_id": row["id"],
            "site_id": site_id,
            "rule_id": row["rule_id"],
            "variant_id": row["variant_id"],
            "conversation_id": conv["id"],
        },
    )
    session.reply(await session.conversation_frame(conv), frame.ref)
    await session.follow_conversation(conv["id"], 0)
    # Who the invitation spoke as (its persona, or the agent who invited by hand) says its
    # words in the transcript and gets the chat first, when they still can take it.
    speaker = (
        await personas.agent(session.db, site_id, row["agent_id"]) if row["agent_id"] else None
    )
    if row["text"]:
        line = await chat_events.post_invitation_line(
            session.hub, session.db, conv["id"], row["text"], speaker
        )
        session.conn.deliver(conv["id"], line["seq"], message_frame(line))
    if frame.text:
        await chat.append(session, conv["id"], frame.client_msg_id, frame.text, None)
    if speaker is not None:
        await session.dispatch.route_to(conv, speaker["id"])
    await chat.opened(session, conv)


async def withdraw_paced(session: VisitorSession) -> None:
    """Agents went offline: an invitation that promised an agent is withdrawn."""
    state = await visitor_state.load(session.services.broker, session.visitor_id)
    if state.invitation and state.invitation.get("paced"):
        await session.proactive.close_invitation(
            session.site["id"],
            session.visitor_id,
            state.invitation["id"],
            "withdrawn",
            notify="agents_offline",
        )


HANDLERS: dict[str, Handler] = {
    "invitation_shown": on_shown,
    "invitation_accept": on_accept,
    "invitation_dismiss": on_dismiss,
}
