"""Models of the frames an agent console sends — protocol.md, "Agent socket".

One model per `type`, all strict and closed (see `fields.WireModel`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from server.wire.fields import (
    AttachmentIds,
    ClientMsgId,
    Frame,
    Id,
    Seq,
    Text,
    Token,
    explained,
    invalid,
)


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


class AgentView(Frame):
    """Set this console's live visitor view of a site: the query (the same flat
    parameters as `GET /sites/{id}/visitors`, checked by `visitor_query`) and the
    window of rows on screen. Answered by `visitor_view`; replaces any earlier view of
    the site. `unwatch` ends it."""

    type: Literal["view"] = "view"
    site_id: Id
    query: dict[
        str, Annotated[str | int | float | bool, explained("must be a string, number or boolean")]
    ] = Field(default_factory=dict)
    offset: Annotated[
        int, Field(ge=0, le=1_000_000), explained("must be an integer 0..1000000")
    ] = 0
    limit: Annotated[int, Field(ge=1, le=200), explained("must be an integer 1..200")] = 50


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
    | AgentView
    | AgentUnwatch
    | AgentPing
)

AGENT_FRAMES: dict[str, type[AgentFrame]] = {
    model.model_fields["type"].default: model for model in AgentFrame.__args__
}
