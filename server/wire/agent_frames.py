"""Models of the frames an agent console sends — protocol.md, "Agent socket".

One model per `type`, all strict and closed (see `fields.WireModel`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from server.wire.fields import AttachmentIds, ClientMsgId, Frame, Id, Seq, Text, Token, invalid


class AgentHello(Frame):
    """First frame for API-token clients; cookie sessions need not send it."""

    type: Literal["hello"] = "hello"
    token: Token


class AgentStatus(Frame):
    type: Literal["status"] = "status"
    status: Literal["online", "away", "offline"]


class AgentAccept(Frame):
    """Takes a queued conversation or answers an `offer`."""

    type: Literal["accept"] = "accept"
    conversation_id: Id


class AgentDecline(Frame):
    """Declines an `offer`; routing rings the next agent."""

    type: Literal["decline"] = "decline"
    conversation_id: Id


class AgentMessage(Frame):
    """`internal` marks a note the visitor never sees."""

    type: Literal["message"] = "message"
    conversation_id: Id
    client_msg_id: ClientMsgId
    text: Text
    internal: bool = False
    attachments: AttachmentIds = Field(default_factory=list)


class AgentTyping(Frame):
    type: Literal["typing"] = "typing"
    conversation_id: Id
    on: bool


class AgentRead(Frame):
    type: Literal["read"] = "read"
    conversation_id: Id
    seq: Seq


class AgentResume(Frame):
    """The server replays `message`s with seq > after_seq."""

    type: Literal["resume"] = "resume"
    conversation_id: Id
    after_seq: Seq


class AgentTransfer(Frame):
    """Hands a conversation to one agent or to a department queue — exactly one."""

    type: Literal["transfer"] = "transfer"
    conversation_id: Id
    agent_id: Id | None = None
    department: Id | None = None

    @model_validator(mode="after")
    def _one_target(self) -> AgentTransfer:
        if (self.agent_id is None) == (self.department is None):
            raise invalid("must have exactly one of 'agent_id' and 'department'")
        return self


class AgentClose(Frame):
    type: Literal["close"] = "close"
    conversation_id: Id


class AgentInvite(Frame):
    """A manual invitation to a visitor on a watched site."""

    type: Literal["invite"] = "invite"
    visitor_id: Id
    text: Text


class AgentWatch(Frame):
    """Subscribe to the live visitor list of a site (snapshot, then updates)."""

    type: Literal["watch"] = "watch"
    site_id: Id


class AgentUnwatch(Frame):
    type: Literal["unwatch"] = "unwatch"
    site_id: Id


class AgentPing(Frame):
    type: Literal["ping"] = "ping"


AgentFrame = (
    AgentHello
    | AgentStatus
    | AgentAccept
    | AgentDecline
    | AgentMessage
    | AgentTyping
    | AgentRead
    | AgentResume
    | AgentTransfer
    | AgentClose
    | AgentInvite
    | AgentWatch
    | AgentUnwatch
    | AgentPing
)

AGENT_FRAMES: dict[str, type[AgentFrame]] = {
    model.model_fields["type"].default: model for model in AgentFrame.__args__
}
