"""The router's side of the audit log: every successful REST change is recorded.

`begin` runs before the handler (reading the thing's "before"), `finish` after it
succeeded (reading its "after" and writing the entry). A handler that raises records
nothing: a refused change is not a change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from server.audit.actions import ACTIONS, NOT_CHANGES, AuditAction
from server.audit.recorder import Actor, record
from server.client_address import scope_client_ip

if TYPE_CHECKING:
    from server.api.router import Context

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def action_for(method: str, path: str) -> AuditAction | None:
    """The action a request to this endpoint records; None for reads and non-changes.
    An endpoint named nowhere is still recorded, as "<METHOD> <path>"."""
    if method in READ_METHODS or (method, path) in NOT_CHANGES:
        return None
    return ACTIONS.get((method, path)) or AuditAction(f"{method} {path}")


@dataclass(slots=True)
class PendingChange:
    ctx: Context
    action: AuditAction
    before: dict[str, Any] | None

    async def finish(self, result: Any) -> None:
        ctx, action = self.ctx, self.action
        params = dict(ctx.params)
        new_id = result.get("id") if isinstance(result, dict) else None
        if action.id_param and isinstance(new_id, str):
            params[action.id_param] = new_id
        after = None
        if action.loader is not None and (not action.id_param or action.id_param in params):
            async with ctx.services.db.read() as conn:
                after = await action.loader(conn, params)
        principal = ctx.user
        await record(
            ctx.services.db,
            Actor.of(principal.user),
            action.name,
            _target(params, principal.id),
            self.before,
            after,
            scope_client_ip(ctx.request.scope, ctx.services.settings.trusted_proxies),
            site_id=params.get("site_id") or _created_site(action, new_id),
        )


def _target(params: dict[str, str], actor_id: str) -> str:
    """The most specific id in the path (a rule, not its site); the actor for /me."""
    ids = [v for k, v in params.items() if k != "variant_id"]
    return ids[-1] if ids else actor_id


def _created_site(action: AuditAction, new_id: Any) -> str | None:
    return new_id if action.name == "site.create" and isinstance(new_id, str) else None


async def begin(ctx: Context, method: str, path: str) -> PendingChange | None:
    """Start recording a change (reads its "before"); None when nothing is recorded."""
    action = action_for(method, path)
    if action is None or ctx.principal is None:
        return None
    before = None
    if action.loader is not None and not action.id_param:
        async with ctx.services.db.read() as conn:
            before = await action.loader(conn, ctx.params)
    return PendingChange(ctx, action, before)
