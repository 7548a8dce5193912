"""The predicted wait per department and its inputs (what `max_predicted_wait_s` reads),
for the admin's rule editor."""

from __future__ import annotations

import math
from typing import Any

from invitations.erlang import predict_wait
from server.api.access import site_for
from server.api.router import ApiRouter, Context
from server.api.rules import RULE_ROLES

routes = ApiRouter()


@routes.route("GET", "/sites/{site_id}/wait-prediction", roles=RULE_ROLES, tags=["rules"])
async def wait_prediction(ctx: Context) -> dict[str, Any]:
    """Per department ("" = the whole site): Erlang C's inputs and the predicted wait."""
    site = await site_for(ctx.services.db, ctx.user, ctx.params["site_id"])
    context = await ctx.request.app.state.loads.context(site)
    items = []
    for department, load in sorted(context.departments.items()):
        wait = predict_wait(load.servers, load.arrivals_per_s, load.handle_time_s)
        items.append(
            {
                "department": department,
                "agents_online": load.agents_online,
                "servers": load.servers,
                "free_slots": load.free_slots,
                "queued_chats": load.queued_chats,
                "arrivals_per_hour": round(load.arrivals_per_s * 3600, 3),
                "handle_time_s": round(load.handle_time_s, 3),
                "load_erlangs": round(wait.load_erlangs, 4),
                "wait_probability": round(wait.wait_probability, 4),
                # null: the agents cannot keep up (or nobody is online) — an endless wait.
                "predicted_wait_s": None
                if math.isinf(wait.predicted_wait_s)
                else round(wait.predicted_wait_s, 3),
            }
        )
    return {"items": items}
