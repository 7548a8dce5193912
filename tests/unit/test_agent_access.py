"""Pure pieces of roles on sockets: who may use the agent socket, which revocation hits."""

from __future__ import annotations

import pytest

from server.auth import Principal
from server.hub.access_events import revoke_hits
from server.hub.agent_access import NO_AGENT_ROLE, NO_SITE, AccessDenied, check_role

USER = {"id": "us_1", "role": "agent"}
BY_SESSION = Principal(user=USER, via="session", session_hash="s1")
BY_TOKEN = Principal(user=USER, via="token", token_id="tk_1")


@pytest.mark.parametrize(("role", "sites"), [("admin", 0), ("admin", 3), ("agent", 1)])
def test_roles_that_answer_chats_may_connect(role: str, sites: int) -> None:
    check_role(role, sites)


@pytest.mark.parametrize(
    ("role", "sites", "reason"),
    [
        ("marketer", 0, NO_AGENT_ROLE),
        ("marketer", 2, NO_AGENT_ROLE),
        ("agent", 0, NO_SITE),
        ("owner", 1, NO_AGENT_ROLE),
    ],
)
def test_other_roles_and_siteless_agents_are_refused_4403(
    role: str, sites: int, reason: str
) -> None:
    with pytest.raises(AccessDenied) as caught:
        check_role(role, sites)
    assert (caught.value.code, caught.value.reason) == (4403, reason)


def _payload(**fields: object) -> dict:
    return {"session": None, "token": None, "keep_session": None, "tokens": True, **fields}


@pytest.mark.parametrize(
    ("payload", "session_hit", "token_hit"),
    [
        (_payload(session="s1"), True, False),  # logout of this session
        (_payload(session="s2"), False, False),  # another session
        (_payload(token="tk_1"), False, True),  # this token revoked
        (_payload(token="tk_2"), False, False),
        (_payload(), True, True),  # deactivated: everything
        (_payload(keep_session="s1"), False, True),  # password changed from s1
        (_payload(keep_session="s2"), True, True),  # password changed elsewhere
        (_payload(tokens=False), True, False),  # sign out everywhere: sessions only
        ({"session": None}, True, True),  # an older node's envelope: everything
    ],
)
def test_which_revocations_hit_which_socket(
    payload: dict, session_hit: bool, token_hit: bool
) -> None:
    assert revoke_hits(payload, BY_SESSION) is session_hit
    assert revoke_hits(payload, BY_TOKEN) is token_hit
