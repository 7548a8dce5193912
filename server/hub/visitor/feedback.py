"""What a visitor leaves behind: `survey` (after the chat) and `offline_message` (when no
agent is online). Drives `server/chat/feedback.py`; both fire webhooks."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from server.chat import feedback
from server.hub.socket_loop import Refused
from server.hub.visitor import limits

if TYPE_CHECKING:
    from server.hub.visitor.session import Handler, VisitorSession


async def on_survey(session: VisitorSession, frame: Any) -> None:
    conv = await session.own_conversation(frame.conversation_id)
    if conv["status"] != "closed":
        raise Refused("conflict", "surveys are answered after the chat is closed")
    try:
        row = await feedback.save_survey(session.db, conv, frame.kind, frame.score, frame.comment)
    except feedback.AlreadyAnswered:
        raise Refused("conflict", f"the {frame.kind} survey was already answered") from None
    session.reply(
        {"type": "survey_saved", "conversation_id": conv["id"], "kind": frame.kind}, frame.ref
    )
    session.events.emit("survey.submitted", row)


async def on_offline_message(session: VisitorSession, frame: Any) -> None:
    quota = limits.offline_messages(session)
    await limits.take(session, quota)
    try:
        row = await feedback.save_offline_message(
            session.db,
            site_id=session.site["id"],
            visitor_id=session.visitor_id,
            name=frame.name,
            email=frame.email,
            text=frame.text,
        )
    except Exception:
        with contextlib.suppress(Exception):  # not stored: the visitor may retry
            await limits.give_back(session, quota)
        raise
    session.reply({"type": "offline_message_saved", "id": row["id"]}, frame.ref)
    session.events.emit("offline_message.created", row)


HANDLERS: dict[str, Handler] = {
    "survey": on_survey,
    "offline_message": on_offline_message,
}
