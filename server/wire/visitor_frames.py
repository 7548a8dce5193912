"""Models of the frames a visitor (the widget) sends — protocol.md, "Visitor socket".

One model per `type`, all strict and closed (see `fields.WireModel`). Free-form
data is limited to `hello.attributes`, the `attributes` frame and `track.props`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from invitations import signals
from server.wire.fields import (
    Amount,
    AttachmentIds,
    Attributes,
    ClientMsgId,
    Comment,
    Count,
    Currency,
    Email,
    EventName,
    Frame,
    HttpUrl,
    Id,
    Lang,
    Name,
    Props,
    Referrer,
    Seq,
    Text,
    TimeZone,
    Title,
    Token,
    UserHash,
    UserId,
    WireModel,
    check_attributes,
    invalid,
)


class Page(WireModel):
    url: HttpUrl
    title: Title | None = None
    referrer: Referrer | None = None


class Identity(WireModel):
    """Signed identity: `user_hash` = hex HMAC-SHA256(site identity secret, user_id)."""

    user_id: UserId
    user_hash: UserHash
    name: Name | None = None
    email: Email | None = None


class ResumePoint(WireModel):
    id: Id
    after_seq: Seq


class Prechat(WireModel):
    name: Name | None = None
    email: Email | None = None
    department: Id | None = None
    # The site's own fields (widget.prechat_custom): field id → answer ("true" for a
    # ticked checkbox); checked against the site's form in server/chat/prechat_fields.py.
    fields: (
        Annotated[
            dict[Annotated[str, Field(max_length=32)], Annotated[str, Field(max_length=1000)]],
            Field(max_length=20),
        ]
        | None
    ) = None


class VisitorHello(Frame):
    type: Literal["hello"] = "hello"
    visitor_token: Token | None = None
    page: Page
    lang: Lang | None = None
    tz: TimeZone | None = None
    identity: Identity | None = None
    attributes: Attributes | None = None
    conversation: ResumePoint | None = None


class VisitorPageView(Frame):
    type: Literal["page_view"] = "page_view"
    url: HttpUrl
    title: Title | None = None
    referrer: Referrer | None = None


def _number(value: Any) -> bool:
    return type(value) is int or type(value) is float


class VisitorTrack(Frame):
    """Custom behaviour; reserved events have typed props (protocol.md). A struggle
    signal (`invitations.signals`) takes only its own numeric props: never text."""

    type: Literal["track"] = "track"
    event: EventName
    props: Props | None = None

    @model_validator(mode="after")
    def _reserved_props(self) -> VisitorTrack:
        props = self.props or {}
        if self.event in signals.BY_NAME:
            problem = signals.check_props(self.event, props)
            if problem is not None:
                raise invalid(problem[1], problem[0])
        elif self.event == "scroll":
            depth = props.get("depth")
            if not _number(depth) or not 0 <= depth <= 100:
                raise invalid("must be a number from 0 to 100", "props.depth")
        elif self.event == "conversion":
            value = props.get("value")
            if value is not None and (not _number(value) or value < 0):
                raise invalid("must be a finite number >= 0", "props.value")
            currency = props.get("currency")
            if currency is not None and (
                type(currency) is not str or len(currency) != 3 or not currency.isupper()
            ):
                raise invalid("must be an ISO 4217 currency code", "props.currency")
            order_id = props.get("order_id")
            if order_id is not None and (type(order_id) is not str or not 0 < len(order_id) <= 64):
                raise invalid("must be a string of 1 to 64 characters", "props.order_id")
        return self


class VisitorCart(Frame):
    """Replaces the visitor's current cart."""

    type: Literal["cart"] = "cart"
    value: Amount
    currency: Currency
    items: Count | None = None


class VisitorAttributes(Frame):
    """Custom attributes sent flat: `{"type": "attributes", "name": "Ann", "plan": "pro"}`.

    Every key besides `type` and `ref` is an attribute; they are gathered into
    `attributes` (≤ 50 keys of 1..64 chars, scalar values; see `check_attributes`).
    """

    type: Literal["attributes"] = "attributes"
    attributes: dict[str, Any]

    @model_validator(mode="before")
    @classmethod
    def _gather(cls, data: Any) -> Any:
        # Always the wire shape: build one in code with
        # `VisitorAttributes.model_validate({"type": "attributes", **values})`.
        if type(data) is not dict:
            return data
        values = {key: value for key, value in data.items() if key not in ("type", "ref")}
        check_attributes(values)
        gathered: dict[str, Any] = {"attributes": values}
        for key in ("type", "ref"):
            if key in data:
                gathered[key] = data[key]
        return gathered


class VisitorChatStart(Frame):
    """Opens a conversation (queued), optionally with a first message: `client_msg_id`
    makes a retried start store that message once (acked like `message`)."""

    type: Literal["chat_start"] = "chat_start"
    text: Text | None = None
    client_msg_id: ClientMsgId | None = None
    prechat: Prechat | None = None


class VisitorMessage(Frame):
    """Acked by the stored `message` echo carrying the same `client_msg_id`."""

    type: Literal["message"] = "message"
    conversation_id: Id
    client_msg_id: ClientMsgId
    text: Text
    attachments: AttachmentIds = Field(default_factory=list)


class VisitorTyping(Frame):
    type: Literal["typing"] = "typing"
    conversation_id: Id
    on: bool


class VisitorRead(Frame):
    type: Literal["read"] = "read"
    conversation_id: Id
    seq: Seq


class VisitorFollowUpRead(Frame):
    """The visitor has seen an agent's follow-up answer up to `seq` (server/hub/follow_up.py)."""

    type: Literal["follow_up_read"] = "follow_up_read"
    conversation_id: Id
    seq: Seq


class VisitorResume(Frame):
    """The server replays `message`s with seq > after_seq."""

    type: Literal["resume"] = "resume"
    conversation_id: Id
    after_seq: Seq


class VisitorInvitationShown(Frame):
    type: Literal["invitation_shown"] = "invitation_shown"
    invitation_id: Id


class VisitorInvitationAccept(Frame):
    type: Literal["invitation_accept"] = "invitation_accept"
    invitation_id: Id
    text: Text | None = None
    client_msg_id: ClientMsgId | None = None


class VisitorInvitationDismiss(Frame):
    type: Literal["invitation_dismiss"] = "invitation_dismiss"
    invitation_id: Id


# thumbs: 0 = thumbs down, 1 = thumbs up.
SURVEY_SCALES = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7), "thumbs": (0, 1)}


class VisitorSurvey(Frame):
    """Once per kind per conversation; `score` is checked against the kind's scale."""

    type: Literal["survey"] = "survey"
    conversation_id: Id
    kind: Literal["csat", "nps", "ces", "thumbs"]
    score: int
    comment: Comment | None = None

    @model_validator(mode="after")
    def _score_in_scale(self) -> VisitorSurvey:
        low, high = SURVEY_SCALES[self.kind]
        if not low <= self.score <= high:
            raise invalid(f"must be from {low} to {high} for {self.kind}", "score")
        return self


class VisitorOfflineMessage(Frame):
    type: Literal["offline_message"] = "offline_message"
    name: Name | None = None
    email: Email
    text: Text


class VisitorTranscriptRequest(Frame):
    """Email me this chat's transcript (to the address Beckon already has)."""

    type: Literal["transcript_request"] = "transcript_request"
    conversation_id: Id


class VisitorClose(Frame):
    type: Literal["close"] = "close"
    conversation_id: Id


class VisitorPing(Frame):
    type: Literal["ping"] = "ping"


VisitorFrame = (
    VisitorHello
    | VisitorPageView
    | VisitorTrack
    | VisitorCart
    | VisitorAttributes
    | VisitorChatStart
    | VisitorMessage
    | VisitorTyping
    | VisitorRead
    | VisitorFollowUpRead
    | VisitorResume
    | VisitorInvitationShown
    | VisitorInvitationAccept
    | VisitorInvitationDismiss
    | VisitorSurvey
    | VisitorOfflineMessage
    | VisitorTranscriptRequest
    | VisitorClose
    | VisitorPing
)

VISITOR_FRAMES: dict[str, type[VisitorFrame]] = {
    model.model_fields["type"].default: model for model in VisitorFrame.__args__
}
