"""The visitor's side of the inbox: the agents' answers shown on return.

After `welcome` (any page of the site) the widget gets one `follow_up` frame per answer
it has not seen; `follow_up_read` records that the visitor saw it. A widget open while
the agent answers gets the frame live (`follow_up` on the visitor's channel).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server.hub import follow_up
from server.hub.hub import conv_channel
from server.hub.socket_loop import Refused

if TYPE_CHECKING:
    from server.hub.visitor.session import Handler, VisitorSession


async def announce(session: VisitorSession) -> None:
    """Send the unseen answers; called once the socket has said `welcome`."""
    assert session.visitor_id is not None, "called after hello set the visitor"
    for frame in await follow_up.unread_frames(session.db, session.visitor_id):
        session.conn.send(frame)


async def on_follow_up_read(session: VisitorSession, frame: Any) -> None:
    assert session.visitor_id is not None, "frames other than hello come after it"
    if not await follow_up.seen(session.db, session.visitor_id, frame.conversation_id, frame.seq):
        raise Refused("not_found", "no such follow-up")
    session.reply(
        {"type": "follow_up_seen", "conversation_id": frame.conversation_id, "seq": frame.seq},
        frame.ref,
    )
    # The console's read receipt, as for a live chat's `read`.
    await session.hub.publish(
        conv_channel(frame.conversation_id),
        "read",
        {
            "type": "read",
            "conversation_id": frame.conversation_id,
            "seq": frame.seq,
            "by": "visitor",
        },
    )


HANDLERS: dict[str, Handler] = {"follow_up_read": on_follow_up_read}
