"""The ASGI application: routes, error handling, and the lifespan that owns resources."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, WebSocketRoute

from invitations import device
from server.api import (
    agents,
    auth_routes,
    backtests,
    conversations,
    desk,
    reports,
    rules,
    site_events,
    sites,
    visitors,
    webhooks,
)
from server.api.router import merge
from server.broker.base import BrokerUnavailable
from server.chat.assignment import Router
from server.chat.proactive import Proactive
from server.chat.queue import WaitEstimator
from server.chat.rule_cache import RuleCache
from server.chat.site_load import SiteLoads
from server.chat.visitor_briefs import VisitorBriefs
from server.errors import ApiError, error_body, error_response
from server.events import EventBus
from server.gc_tuning import tune_after_startup
from server.hub.agent_ws import agent_endpoint
from server.hub.dispatch import Dispatch
from server.hub.hub import Hub, visitor_channel
from server.hub.janitor import Janitor
from server.hub.loads import reconcile_loads
from server.hub.visitor_mirror import VisitorMirrors
from server.hub.visitor_views import VisitorViews
from server.hub.visitor_ws import visitor_endpoint
from server.loop_lag import LoopLagMonitor
from server.metrics_sampler import MetricsSampler
from server.ops_routes import ops_routes
from server.request_ids import StarletteWithRequestIds
from server.resources import open_services
from server.services import Services
from server.settings import Settings
from server.sites import site_cache
from server.static_routes import static_routes
from server.store.database import StoreUnavailable
from server.web import BrowserFiles, installed_browser_files
from server.webhooks import DeliveryWorker, WebhookConfig, WebhookListener

log = logging.getLogger("beckon.app")

api = merge(
    auth_routes.routes,
    sites.routes,
    agents.routes,
    conversations.routes,
    desk.routes,
    rules.routes,
    backtests.routes,
    visitors.routes,
    site_events.routes,
    reports.routes,
    webhooks.routes,
)


def _json_error(status: int, code: str, message: str) -> Response:
    return Response(orjson.dumps(error_body(code, message)), status, media_type="application/json")


async def _api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _unavailable(request: Request, exc: Exception) -> Response:
    which = "store" if isinstance(exc, StoreUnavailable) else "broker"
    request.app.state.services.metrics.backend_errors.labels(which).inc()
    log.warning("%s unavailable during %s %s: %s", which, request.method, request.url.path, exc)
    return _json_error(503, "unavailable", f"the {which} is unavailable; retry shortly")


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "invalid_request")
    return _json_error(exc.status_code, code, str(exc.detail))


async def _internal(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
    return _json_error(500, "internal", "internal error")


# `beckon serve` reaches these through server/ws_protocol.py, without ASGI; the
# WebSocketRoutes below serve them under any other ASGI server.
SOCKET_ENDPOINTS = {"/ws/visitor": visitor_endpoint, "/ws/agent": agent_endpoint}


def create_app(
    settings: Settings, services: Services | None = None, browser: BrowserFiles | None = None
) -> Starlette:
    """Build the app. With `services` given (the CLI opened them to report failures
    clearly) the lifespan only closes them; otherwise it opens them itself. `browser`
    defaults to the installed package's files (raises BrowserFilesMissing without them)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        owned = services or await open_services(settings)
        app.state.services = owned
        hub = Hub(owned.db, owned.broker, owned.metrics)
        app.state.hub = hub
        app.state.events = EventBus()
        router = Router(owned.db, owned.broker, settings.offer_timeout_s)
        app.state.briefs = VisitorBriefs(owned.db, owned.broker)
        app.state.dispatch = Dispatch(
            owned.db, hub, router, WaitEstimator(owned.db), app.state.briefs
        )
        app.state.rules = RuleCache(owned.db)
        app.state.loads = SiteLoads(owned.db, owned.broker)
        proactive = Proactive(
            owned.db,
            owned.broker,
            app.state.rules,
            app.state.loads,
            lambda vid, kind, payload: hub.publish(visitor_channel(vid), kind, payload),
            app.state.events.emit,
            hub.publish,
        )
        app.state.proactive = proactive
        proactive.start()
        app.state.visitor_views = VisitorViews(VisitorMirrors(hub, owned.db, owned.broker))
        app.state.visitor_views.start()
        await app.state.rules.follow(owned.broker)
        janitor = Janitor(
            app.state.dispatch,
            app.state.events,
            settings.presence_ttl_s,
            proactive,
            settings.visit_retention_days,
        )
        await reconcile_loads(owned.db, owned.broker)
        owned.broker.add_reconnect_listener(lambda: reconcile_loads(owned.db, owned.broker))
        janitor.start()
        webhook_worker = DeliveryWorker(
            owned.db, WebhookConfig.from_env(), settings.allow_private_targets
        )
        webhook_listener = WebhookListener(owned.db, webhook_worker)
        webhook_listener.attach(app.state.events)
        app.state.webhook_listener = webhook_listener
        await webhook_listener.wanted.follow(owned.broker)
        app.state.sites_by_key = site_cache(owned.db)
        await app.state.sites_by_key.follow(owned.broker)
        app.state.webhook_worker = webhook_worker
        webhook_worker.start()
        device.warm_up()
        lag = LoopLagMonitor(owned.metrics.event_loop_lag.observe)
        lag.start()
        sampler = MetricsSampler(owned)
        sampler.start()
        tune_after_startup()
        try:
            yield
        finally:
            await sampler.close()
            await lag.close()
            await janitor.close()
            await app.state.visitor_views.close()
            await proactive.close()
            await app.state.rules.close()
            await webhook_listener.wanted.close()
            await app.state.sites_by_key.close()
            # Sockets still open at shutdown are told to reconnect elsewhere (1012).
            await hub.close_all(1012, "server shutting down")
            await app.state.events.drain()
            await webhook_listener.flush()
            await webhook_worker.close()
            await owned.close()

    routes: list[BaseRoute] = [
        *ops_routes(api),
        *api.routes(),
        *(WebSocketRoute(path, endpoint) for path, endpoint in SOCKET_ENDPOINTS.items()),
        *static_routes(browser or installed_browser_files()),
    ]
    return StarletteWithRequestIds(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            ApiError: _api_error,
            StoreUnavailable: _unavailable,
            BrokerUnavailable: _unavailable,
            HTTPException: _http_error,
            Exception: _internal,
        },
    )
