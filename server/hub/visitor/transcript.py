"""`transcript_request`: the visitor asks for their chat's transcript by email.

It goes only to the address Beckon already has for the visitor (never one named in
the frame: no relay), within the same per-visitor and per-site email limits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server.hub.socket_loop import Refused

if TYPE_CHECKING:
    from server.hub.visitor.session import Handler, VisitorSession

REFUSALS = {
    "disabled": ("conflict", "email is not configured on this server"),
    "no_email": ("conflict", "no email address is known for this visitor"),
    "bad_address": ("conflict", "the email address on file cannot be used"),
    "rate_limited": ("rate_limited", "too many emails; try again later"),
    "not_found": ("not_found", "no such conversation"),
}


async def on_transcript_request(session: VisitorSession, frame: Any) -> None:
    conv = await session.own_conversation(frame.conversation_id)
    result = await session.ws.app.state.mail.out.queue_transcript(conv["id"])
    if result != "queued":
        raise Refused(*REFUSALS[result])
    session.reply({"type": "transcript_queued", "conversation_id": conv["id"]}, frame.ref)


HANDLERS: dict[str, Handler] = {"transcript_request": on_transcript_request}
