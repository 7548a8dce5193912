"""Rule personas on the node: is a rule's persona one of the site's agents (checked when
the rule is saved), and who it is when an invitation fires — the named agent, or the
least loaded online agent of the department (invitations/persona.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from invitations.persona import Persona, least_loaded
from server.broker.base import Broker
from server.chat import presence
from server.store.database import Database
from server.store.tables import site_members, users


async def agent(db: Database, site_id: str, agent_id: str) -> dict[str, Any] | None:
    """The site's active team member `agent_id` (id, display_name, avatar_url), or None."""
    query = (
        select(users.c.id, users.c.display_name, users.c.avatar_url)
        .join(site_members, site_members.c.user_id == users.c.id)
        .where(
            site_members.c.site_id == site_id,
            users.c.id == agent_id,
            users.c.active.is_(True),
        )
    )
    async with db.read() as conn:
        row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def problems(db: Database, site: dict[str, Any], rule: dict[str, Any]) -> list[dict]:
    """The rule's persona problems, as 422 details (path, message); [] when fine."""
    persona = rule.get("persona")
    if not isinstance(persona, dict):
        return []
    agent_id = persona.get("agent_id")
    if isinstance(agent_id, str) and await agent(db, site["id"], agent_id) is None:
        return [
            {
                "path": "persona.agent_id",
                "message": f'no agent "{agent_id}" on this site (an active member of its team)',
            }
        ]
    department = persona.get("department")
    if isinstance(department, str) and department not in site["departments"]:
        return [{"path": "persona.department", "message": f'unknown department "{department}"'}]
    return []


async def resolve(
    db: Database, broker: Broker, site_id: str, persona: Persona | None
) -> dict[str, Any] | None:
    """{id, name, avatar_url} of who the invitation speaks as now, or None (the site:
    no persona, or nobody of the department online, or the agent left the team)."""
    if persona is None:
        return None
    agent_id = persona.agent_id
    if agent_id is None:
        agent_id = least_loaded(await presence.agents(broker, site_id), persona.department or "")
        if agent_id is None:
            return None
    member = await agent(db, site_id, agent_id)
    if member is None:
        return None
    return {"id": member["id"], "name": member["display_name"], "avatar_url": member["avatar_url"]}
