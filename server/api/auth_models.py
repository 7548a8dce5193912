"""Request and response models of sign-in, sessions, API tokens and password changes."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from server.api.models import Strict

# Milliseconds since the epoch, as every timestamp on the wire; a JSON integer only
# (strict: no "123" string, no `true`).
Millis = Annotated[int, Field(strict=True, ge=0, le=2**53)]
Password = Annotated[str, Field(min_length=10, max_length=200)]


class TokenCreate(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    expires_ts: Millis | None = Field(
        default=None, description="when the token stops working (ms); in the future; null: never"
    )


class TokenInfo(BaseModel):
    id: str
    name: str
    created_ts: int
    last_used_ts: int | None
    expires_ts: int | None


class TokenOut(TokenInfo):
    token: str = Field(description="shown once; store it now")


class SessionInfo(BaseModel):
    id: str
    created_ts: int
    last_used_ts: int | None
    expires_ts: int
    ip: str | None
    user_agent: str | None
    current: bool = Field(description="the session this request came with")


class PasswordChange(Strict):
    current_password: Annotated[str, Field(min_length=1, max_length=1000)]
    new_password: Password
