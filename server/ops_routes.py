"""`/healthz`, `/readyz`, `/metrics`, `/api/v1/openapi.json`."""

from __future__ import annotations

import asyncio
import time

import orjson
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.api.router import ApiRouter
from server.errors import first_line
from server.services import Services
from server.version import package_version

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
    except Exception as exc:  # any failure means "not ready"; the reason goes in the body
        return f"{name}: {first_line(exc, 200)}"
    histogram.labels("ping").observe(time.perf_counter() - started)
    return None


async def readyz(request: Request) -> Response:
    """200 when the store and the broker both answer; 503 naming the ones that did not."""
    services: Services = request.app.state.services
    results = await asyncio.gather(
        _check("store", services.db.ping, services),
        _check("broker", services.broker.ping, services),
    )
    failed = [r for r in results if r]
    if failed:
        return _json(
            {
                "status": "unavailable",
                "failed": [f.split(":", 1)[0] for f in failed],
                "reasons": failed,
            },
            503,
        )
    return _json({"status": "ready"})


async def metrics(request: Request) -> Response:
    services: Services = request.app.state.services
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
