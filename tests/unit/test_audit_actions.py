"""Every REST change is an audit action or listed as not a change, so a new endpoint
cannot go unrecorded without someone deciding so."""

from __future__ import annotations

from server.app import api
from server.audit.actions import ACTIONS, NOT_CHANGES
from server.audit.hook import action_for


def test_every_changing_endpoint_is_named() -> None:
    changing = {(e.method, e.path) for e in api.endpoints if e.method not in ("GET", "HEAD")}
    assert sorted(changing - set(ACTIONS) - NOT_CHANGES) == []
    # And nothing is named that does not exist (a renamed path would silently fall back).
    assert sorted((set(ACTIONS) | NOT_CHANGES) - changing) == []


def test_action_for() -> None:
    assert action_for("GET", "/sites/{site_id}") is None
    assert action_for("POST", "/auth/login") is None
    action = action_for("PATCH", "/sites/{site_id}")
    assert action is not None and action.name == "site.update"
    unnamed = action_for("POST", "/something/new")
    assert unnamed is not None and unnamed.name == "POST /something/new"


def test_the_audit_log_has_no_writing_endpoint() -> None:
    assert [(e.method, e.path) for e in api.endpoints if e.path.startswith("/audit")] == [
        ("GET", "/audit")
    ]
