"""Rows → wire frames (protocol.md, server → client). One place, so every node and
every path (live, resume, REST) shows a message or conversation the same way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from invitations import VisitorFacts


def message_frame(row: dict[str, Any]) -> dict[str, Any]:
    author: dict[str, Any] = {"kind": row["author_kind"]}
    if row.get("author_name"):
        author["name"] = row["author_name"]
    if row["author_kind"] == "agent" and row.get("author_id"):
        author["id"] = row["author_id"]
    frame: dict[str, Any] = {
        "type": "message",
        "conversation_id": row["conversation_id"],
        "id": row["id"],
        "seq": row["seq"],
        "author": author,
        "text": row["text"],
        "ts": row["ts"],
    }
    if row.get("client_msg_id"):
        frame["client_msg_id"] = row["client_msg_id"]
    if row.get("internal"):
        frame["internal"] = True
    if row.get("attachments"):
        frame["attachments"] = row["attachments"]  # server/media/references.py
    return frame


def conversation_frame(
    row: dict[str, Any], agent: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    frame: dict[str, Any] = {
        "type": "conversation",
        "id": row["id"],
        "status": row["status"],
        "site_id": row["site_id"],
        "visitor_id": row["visitor_id"],
        "department": row.get("department"),
        "last_seq": row["last_seq"],
        "created_ts": row["created_ts"],
        "version": conversation_version(row),
    }
    if agent is not None:
        frame["agent"] = {
            "id": agent["id"],
            "name": agent["display_name"],
            "avatar_url": agent.get("avatar_url"),
            "title": agent.get("title"),
        }
    if row.get("rule_id"):
        frame["rule_id"] = row["rule_id"]
        frame["variant"] = row.get("variant_id")
    frame.update(extra)
    return frame


def visitor_brief(
    visitor_id: str, facts: VisitorFacts | None, stored: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The compact visitor summary that conversation frames (and offers) carry for the
    console (docs/protocol.md): what a queue card or a chat tab shows.

    `facts` are the visitor's live facts (Broker) and `stored` its Store row (`name`,
    `user_id`), either may be None. Out: `id`; `name` when the visitor gave one (the
    Store's, from a verified identity, the pre-chat form or the `name` attribute, else
    the facts'); `identified: true` only for a verified identity; `page {url, title?}`;
    `cart {value, currency, items?}`; `lang`. Keys without a value are left out.
    """
    brief: dict[str, Any] = {"id": visitor_id}
    name = (stored or {}).get("name") or (facts.name if facts is not None else None)
    if name:
        brief["name"] = name
    if (stored or {}).get("user_id") or (facts is not None and facts.identified):
        brief["identified"] = True
    if facts is None:
        return brief
    if facts.page_url:
        page: dict[str, Any] = {"url": facts.page_url}
        if facts.page_title:
            page["title"] = facts.page_title
        brief["page"] = page
    if facts.cart_value is not None:
        cart: dict[str, Any] = {"value": facts.cart_value, "currency": facts.cart_currency}
        if facts.cart_items is not None:
            cart["items"] = facts.cart_items
        brief["cart"] = cart
    if facts.lang_tag:
        brief["lang"] = facts.lang_tag
    return brief


def conversation_version(row: dict[str, Any]) -> int:
    """Grows with every status change (each transfer or requeue bumps `transfers`), so a
    receiver can drop a `conversation` frame older than one it already has — frames
    from different nodes may arrive out of order."""
    return int(row.get("transfers") or 0) * 2 + (1 if row["status"] == "active" else 0)


def conversation_summary(row: dict[str, Any]) -> dict[str, Any]:
    """The REST shape of a conversation (history and search)."""
    return {
        key: row[key]
        for key in (
            "id",
            "site_id",
            "visitor_id",
            "status",
            "department",
            "agent_id",
            "rule_id",
            "variant_id",
            "last_seq",
            "created_ts",
            "accepted_ts",
            "first_response_ts",
            "closed_ts",
            "closed_by",
            "missed_reason",
        )
    }
