"""The ASGI application: routes, error handling, and the lifespan that owns resources."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, WebSocketRoute

from invitations import device
from server.api import (
    account_routes,
    agents,
    auth_routes,
    backtests,
    conversations,
    credential_routes,
    decisions,
    desk,
    inbox,
    mail_prefs,
    mail_routes,
    privacy,
    reports,
    rules,
    site_events,
    sites,
    visitors,
    wait_prediction,
    webhooks,
)
from server.api.mail_inbound import mail_inbound_routes
from server.api.router import merge
from server.audit import routes as audit_routes
from server.audit.pruner import AuditPruner
from server.bans import routes as ban_routes
from server.bans.cache import BanList
from server.broker.base import BrokerUnavailable
from server.chat.assignment import Router
from server.chat.chat_end import ChatEndListener
from server.chat.decision_recorder import DecisionRecorder
from server.chat.inbox import InboxRecorder
from server.chat.proactive import Proactive
from server.chat.queue import WaitEstimator
from server.chat.rule_cache import RuleCache
from server.chat.rule_reevaluation import RuleChangeReevaluator
from server.chat.site_load import SiteLoads
from server.chat.visitor_briefs import VisitorBriefs
from server.chat.wait_inputs import WaitInputs
from server.errors import ApiError, error_body, error_response
from server.events import EventBus
from server.gc_tuning import tune_after_startup
from server.hub.address_limits import AddressLimits
from server.hub.agent_ws import agent_endpoint
from server.hub.dispatch import Dispatch
from server.hub.hub import Hub, visitor_channel
from server.hub.janitor import Janitor
from server.hub.loads import reconcile_loads
from server.hub.socket_loop import closing_when_unavailable
from server.hub.visitor_mirror import VisitorMirrors
from server.hub.visitor_views import VisitorViews
from server.hub.visitor_ws import visitor_endpoint
from server.loop_lag import LoopLagMonitor
from server.mail.lifecycle import MailNode
from server.media import open_media_storage
from server.media.janitor import MediaJanitor
from server.media.routes import media_routes
from server.media.routes import routes as attachment_routes
from server.media.uploads import Media
from server.metrics_sampler import MetricsSampler
from server.no_store import NoStoreApi
from server.ops_routes import ops_routes
from server.privacy.retention import RetentionSweeper
from server.privacy.retention_policy import Defaults
from server.profile.routes import avatar_routes
from server.profile.routes import routes as profile_routes
from server.request_ids import StarletteWithRequestIds
from server.resources import open_services
from server.services import Services
from server.settings import Settings
from server.sites import site_cache
from server.static_routes import static_routes
from server.store.database import StoreUnavailable
from server.web import BrowserFiles, installed_browser_files
from server.webhook_worker import DeliveryWorker, WebhookConfig
from server.webhooks import WebhookListener

log = logging.getLogger("beckon.app")

api = merge(
    auth_routes.routes,
    credential_routes.routes,
    sites.routes,
    agents.routes,
    conversations.routes,
    desk.routes,
    inbox.routes,
    rules.routes,
    backtests.routes,
    wait_prediction.routes,
    decisions.routes,
    visitors.routes,
    site_events.routes,
    reports.routes,
    webhooks.routes,
    privacy.routes,
    mail_routes.routes,
    mail_prefs.routes,
    account_routes.routes,
    audit_routes.routes,
    ban_routes.routes,
    attachment_routes,
    profile_routes,
)


def _json_error(status: int, code: str, message: str) -> Response:
    # no-store here too: a 500 is answered outside the middleware (NoStoreApi).
    return Response(
        orjson.dumps(error_body(code, message)),
        status,
        headers={"Cache-Control": "no-store"},
        media_type="application/json",
    )


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


async def _finish_work(
    hub: Hub, events: EventBus, listener: WebhookListener, worker: DeliveryWorker
) -> None:
    """Shutdown, in order: sockets still open are told to reconnect elsewhere (1012);
    the domain events already emitted reach their listeners; the webhook outbox rows
    they produce are written; the deliveries in flight finish."""
    await hub.close_all(1012, "server shutting down")
    await events.drain()
    await listener.flush()
    await worker.finish()


# `beckon serve` reaches these through server/ws_protocol.py, without ASGI; the
# WebSocketRoutes below serve them under any other ASGI server.
SOCKET_ENDPOINTS = {
    "/ws/visitor": closing_when_unavailable(visitor_endpoint),
    "/ws/agent": closing_when_unavailable(agent_endpoint),
}


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
        # Attachments (server/media/): the storage is opened here and closed last.
        media_storage = open_media_storage(
            settings.media_storage_url, settings.media_s3_endpoint, settings.media_s3_region
        )
        await media_storage.open()
        app.state.media = Media(media_storage, owned.db, settings)
        media_janitor = MediaJanitor(app.state.media)
        media_janitor.start()
        hub = Hub(owned.db, owned.broker, owned.metrics)
        app.state.hub = hub
        app.state.address_limits = AddressLimits(owned.broker, hub.node_id, settings)
        app.state.events = EventBus()
        router = Router(owned.db, owned.broker, settings.offer_timeout_s)
        app.state.briefs = VisitorBriefs(owned.db, owned.broker)
        app.state.dispatch = Dispatch(
            owned.db, hub, router, WaitEstimator(owned.db), app.state.briefs
        )
        app.state.rules = RuleCache(owned.db)
        app.state.loads = SiteLoads(
            owned.db,
            owned.broker,
            WaitInputs(owned.db, settings.wait_window_s, settings.default_handle_time_s),
        )
        proactive = Proactive(
            owned.db,
            owned.broker,
            app.state.rules,
            app.state.loads,
            lambda vid, kind, payload: hub.publish(visitor_channel(vid), kind, payload),
            app.state.events.emit,
            hub.publish,
            owned.visit_log,
            DecisionRecorder(
                owned.decision_log,
                settings.decision_log_full_per_min,
                settings.decision_log_sample_pct,
            ),
        )
        app.state.proactive = proactive
        reevaluator = RuleChangeReevaluator(proactive)
        app.state.rules.listeners.append(reevaluator.rules_changed)
        ChatEndListener(proactive).attach(app.state.events)
        proactive.start()
        app.state.visitor_views = VisitorViews(VisitorMirrors(hub, owned.db, owned.broker))
        app.state.visitor_views.start()
        await app.state.rules.follow(owned.broker)
        janitor = Janitor(
            app.state.dispatch,
            app.state.events,
            settings.presence_ttl_s,
            proactive,
            RetentionSweeper(
                owned.db,
                Defaults(
                    transcripts=settings.transcript_retention_days,
                    visits=settings.visit_retention_days,
                    decisions=settings.decision_retention_days,
                    offline_messages=settings.offline_message_retention_days,
                    attachments=settings.attachment_retention_days,
                ),
                batch=settings.retention_batch,
                files=app.state.media,
            ),
            settings.retention_sweep_s,
        )
        await reconcile_loads(owned.db, owned.broker)
        owned.broker.add_reconnect_listener(lambda: reconcile_loads(owned.db, owned.broker))
        janitor.start()
        webhook_config = WebhookConfig.from_env(
            deadline_s=settings.webhook_deadline_s,
            max_in_flight=settings.webhook_max_in_flight,
            pause_after=settings.webhook_pause_after,
        )
        webhook_worker = DeliveryWorker(owned.db, webhook_config, settings.allow_private_targets)
        webhook_listener = WebhookListener(owned.db, webhook_worker, app.state.media.sign)
        webhook_listener.attach(app.state.events)
        InboxRecorder(owned.db).attach(app.state.events)
        app.state.webhook_listener = webhook_listener
        await webhook_listener.wanted.follow(owned.broker)
        app.state.bans = BanList(owned.db)
        await app.state.bans.follow(owned.broker)
        app.state.sites_by_key = site_cache(owned.db)
        await app.state.sites_by_key.follow(owned.broker)
        app.state.webhook_worker = webhook_worker
        await webhook_worker.follow(owned.broker)
        webhook_worker.start()
        app.state.mail = MailNode(owned, app.state.events)
        await app.state.mail.start()
        device.warm_up()
        lag = LoopLagMonitor(owned.metrics.event_loop_lag.observe)
        lag.start()
        sampler = MetricsSampler(owned)
        sampler.start()
        audit_pruner = AuditPruner(owned.db, settings.audit_retention_days)
        audit_pruner.start()
        owned.search_indexer.start()
        tune_after_startup()
        try:
            yield
        finally:
            await sampler.close()
            await audit_pruner.close()
            await lag.close()
            await janitor.close()
            await app.state.visitor_views.close()
            await media_janitor.close()
            await reevaluator.close()
            await proactive.close()
            await app.state.rules.close()
            await webhook_listener.wanted.close()
            await app.state.sites_by_key.close()
            await app.state.bans.close()
            try:
                # The second half of BECKON_SHUTDOWN_TIMEOUT_S (the sockets had the first).
                async with asyncio.timeout(settings.shutdown_timeout_s / 2):
                    await _finish_work(hub, app.state.events, webhook_listener, webhook_worker)
            except TimeoutError:
                log.error(
                    "shutdown: work still in flight after %g s (BECKON_SHUTDOWN_TIMEOUT_S/2) "
                    "was cut short",
                    settings.shutdown_timeout_s / 2,
                )
            await app.state.address_limits.close()
            await webhook_worker.close()
            await app.state.mail.close(settings.shutdown_timeout_s / 4)
            await media_storage.close()
            await owned.close()

    routes: list[BaseRoute] = [
        *ops_routes(api),
        *api.routes(),
        *mail_inbound_routes(),
        *media_routes(),
        *avatar_routes(),
        *(WebSocketRoute(path, endpoint) for path, endpoint in SOCKET_ENDPOINTS.items()),
        *static_routes(browser or installed_browser_files()),
    ]
    return StarletteWithRequestIds(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(NoStoreApi)],
        exception_handlers={
            ApiError: _api_error,
            StoreUnavailable: _unavailable,
            BrokerUnavailable: _unavailable,
            HTTPException: _http_error,
            Exception: _internal,
        },
    )
