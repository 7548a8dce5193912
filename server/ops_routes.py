"""`/healthz`, `/readyz`, `/metrics`, `/api/v1/openapi.json`.

`/readyz` names the part that failed (store, broker) and a fixed word for how, never
the driver's error text (hosts, users, SQL): that goes to the log. `/metrics` is read
from allowed addresses or with the metrics token (`server/metrics_access.py`).
"""

from __future__ import annotations

import asyncio
import logging
import time

import orjson
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.api.router import ApiRouter
from server.errors import error_body, first_line
from server.metrics_access import metrics_allowed
from server.services import Services
from server.version import package_version

log = logging.getLogger("beckon.ops")
READY_TIMEOUT_S = 2.0


def _json(data: object, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status, media_type="application/json")


async def healthz(_request: Request) -> Response:
    return _json({"status": "ok"})


async def _check(name: str, probe, services: Services) -> str | None:  # type: ignore[no-untyped-def]
    histogram = (
        services.metrics.store_latency if name == "store" else (services.metrics.broker_latency)
    )
    started = time.perf_counter()
    try:
        await asyncio.wait_for(probe(), READY_TIMEOUT_S)
    except TimeoutError:
        log.warning("readyz: %s did not answer within %g s", name, READY_TIMEOUT_S)
        return "timeout"
    except Exception as exc:  # any failure means "not ready"; the details go to the log
        log.warning("readyz: %s failed: %s", name, first_line(exc, 300))
        return "error"
    histogram.labels("ping").observe(time.perf_counter() - started)
    return None


async def readyz(request: Request) -> Response:
    """200 when the store and the broker both answer; 503 naming the ones that did not,
    each with `timeout` (no answer within 2 s) or `error` (it answered with a failure)."""
    services: Services = request.app.state.services
    store, broker = await asyncio.gather(
        _check("store", services.db.ping, services),
        _check("broker", services.broker.ping, services),
    )
    reasons = {name: why for name, why in (("store", store), ("broker", broker)) if why}
    if reasons:
        return _json({"status": "unavailable", "failed": list(reasons), "reasons": reasons}, 503)
    return _json({"status": "ready"})


async def metrics(request: Request) -> Response:
    services: Services = request.app.state.services
    if not metrics_allowed(request.scope, request.headers, services.settings):
        body = error_body(
            "forbidden",
            "metrics are readable from BECKON_METRICS_ALLOW addresses or with the "
            "BECKON_METRICS_TOKEN bearer token",
        )
        return _json(body, 403)
    return Response(services.metrics.render(), media_type=CONTENT_TYPE_LATEST)


def ops_routes(api: ApiRouter) -> list[Route]:
    document = orjson.dumps(api.openapi("Beckon", package_version()))

    async def openapi(_request: Request) -> Response:
        return Response(document, media_type="application/json")

    return [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        Route(api.prefix + "/openapi.json", openapi),
    ]
