"""Declarative REST endpoints: one place that validates, authorises and documents.

Each endpoint names its body model, response model and the roles allowed; the router
turns that into Starlette routes and into the OpenAPI document, so the schema a client
reads is the one requests are validated against.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.api.plain_errors import plain_message
from server.api.query import Query, parse_query, query_parameters
from server.audit import hook as audit_hook
from server.auth import ROLES, Principal, authenticate
from server.errors import ApiError
from server.services import Services

ANY_ROLE = frozenset(ROLES)
PUBLIC = frozenset()
# Every id in a path (sites, agents, conversations, …) has this shape; anything else is
# answered 404 before it reaches a query (a NUL byte broke PostgreSQL with a 500).
PATH_PARAM = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PATH_SCHEMA = {"type": "string", "pattern": PATH_PARAM.pattern}
# Every error answer (server/errors.py): a stable code, a message, and for validation
# failures the path and message of each problem.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["path", "message"],
                        "properties": {
                            "path": {"type": "string"},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        }
    },
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}


@dataclass(slots=True)
class Context:
    """What a handler gets: the request, node services, caller, validated body."""

    request: Request
    services: Services
    principal: Principal | None
    body: Any
    params: dict[str, str]
    args: Any = None  # the validated query-string parameters (the endpoint's `query` model)

    @property
    def user(self) -> Principal:
        assert self.principal is not None, "handler declared roles, so a principal exists"
        return self.principal

    def query(self) -> dict[str, str]:
        return dict(self.request.query_params)


Handler = Callable[[Context], Awaitable[Any]]


@dataclass(slots=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    roles: frozenset[str]
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    query: type[Query] | None
    body_schema: dict[str, Any] | None  # a body the handler validates itself
    status: int
    summary: str
    tags: list[str] = field(default_factory=list)


def _json(data: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    # Row keys may be str subclasses (SQLAlchemy's quoted_name for words like "text").
    body = orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
    return Response(body, status, headers, media_type="application/json")


def validation_details(exc: ValidationError) -> list[dict[str, str]]:
    """Each error's `path` (what clients match on, unchanged) and a sentence for people."""
    details = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "(body)"
        details.append({"path": path, "message": plain_message(err)})
    return details


async def read_json_body(request: Request, limit: int) -> Any:
    """The parsed JSON body; 415/413/400 errors for the wrong type, size or syntax."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise ApiError("unsupported_media_type", "send the body as application/json")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError("too_large", f"the body is larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError("too_large", f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError("invalid_json", f"the body is not valid JSON: {exc}") from None
    # No field of ours means a NUL, and PostgreSQL refuses one in text (a 500).
    if b"\\u0000" in raw and _has_nul(parsed):
        raise ApiError(
            "validation_failed",
            "the request body is not valid",
            details=[{"path": "(body)", "message": "NUL characters (\\u0000) are not allowed"}],
        )
    return parsed


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class ApiRouter:
    """Collects endpoints under a prefix; `routes()` for Starlette, `openapi()` for docs."""

    def __init__(self, prefix: str = "/api/v1") -> None:
        self.prefix = prefix
        self.endpoints: list[Endpoint] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        roles: frozenset[str] = ANY_ROLE,
        body: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        query: type[Query] | None = None,
        body_schema: dict[str, Any] | None = None,
        status: int = 200,
        summary: str = "",
        tags: list[str] | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.endpoints.append(
                Endpoint(
                    method,
                    path,
                    handler,
                    roles,
                    body,
                    response,
                    query,
                    body_schema,
                    status,
                    summary or (handler.__doc__ or "").strip().split("\n")[0],
                    tags or [],
                )
            )
            return handler

        return register

    def routes(self) -> list[Route]:
        by_path: dict[str, dict[str, Endpoint]] = {}
        for endpoint in self.endpoints:
            by_path.setdefault(endpoint.path, {})[endpoint.method] = endpoint
        return [
            Route(self.prefix + path, self._dispatcher(methods), methods=list(methods))
            for path, methods in by_path.items()
        ]

    def _dispatcher(self, methods: dict[str, Endpoint]) -> Callable[[Request], Awaitable[Response]]:
        async def dispatch(request: Request) -> Response:
            endpoint = methods[request.method]
            services: Services = request.app.state.services
            principal = await authenticate(
                services.db,
                method=request.method,
                headers=request.headers,
                cookies=request.cookies,
            )
            if endpoint.roles:
                if principal is None:
                    raise ApiError("unauthorized", "sign in or send an API token")
                if principal.role not in endpoint.roles:
                    raise ApiError("forbidden", f"the {principal.role} role cannot do this")
            for name, value in request.path_params.items():
                if not PATH_PARAM.match(value):
                    raise ApiError("not_found", f"no such {name.removesuffix('_id')}")
            args = None
            if endpoint.query is not None:
                args = parse_query(endpoint.query, dict(request.query_params))
            body = None
            if endpoint.body is not None:
                raw = await read_json_body(request, services.settings.max_body_bytes)
                try:
                    body = endpoint.body.model_validate(raw)
                except ValidationError as exc:
                    raise ApiError(
                        "validation_failed",
                        "the request body is not valid",
                        details=validation_details(exc),
                    ) from None
            ctx = Context(request, services, principal, body, dict(request.path_params), args)
            change = await audit_hook.begin(ctx, endpoint.method, endpoint.path)
            result = await endpoint.handler(ctx)
            if change is not None:
                await change.finish(result)
            if isinstance(result, Response):
                return result
            if isinstance(result, BaseModel):
                result = result.model_dump(mode="json")
            return _json(result, endpoint.status)

        return dispatch

    def openapi(self, title: str, version: str) -> dict[str, Any]:
        """The OpenAPI 3.1 document, with schemas from the validating models."""
        paths: dict[str, dict[str, Any]] = {}
        schemas: dict[str, Any] = {}

        def ref(model: type[BaseModel]) -> dict[str, str]:
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[model.__name__] = schema
            return {"$ref": f"#/components/schemas/{model.__name__}"}

        for ep in self.endpoints:
            op: dict[str, Any] = {"summary": ep.summary, "tags": ep.tags, "responses": {}}
            params = re.findall(r"{(\w+)}", ep.path)
            parameters = [
                {"name": p, "in": "path", "required": True, "schema": PATH_SCHEMA} for p in params
            ]
            if ep.query is not None:
                parameters += query_parameters(ep.query)
            if parameters:
                op["parameters"] = parameters
            body_schema = ref(ep.body) if ep.body is not None else ep.body_schema
            if body_schema is not None:
                op["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": body_schema}},
                }
            ok: dict[str, Any] = {"description": "OK"}
            if ep.response is not None:
                ok["content"] = {"application/json": {"schema": ref(ep.response)}}
            op["responses"][str(ep.status)] = ok
            op["responses"]["default"] = {
                "description": "an error",
                "content": {"application/json": {"schema": ERROR_REF}},
            }
            if ep.roles:
                op["security"] = [{"session": []}, {"bearer": []}]
                op["x-roles"] = sorted(ep.roles)
            paths.setdefault(self.prefix + ep.path, {})[ep.method.lower()] = op
        return {
            "openapi": "3.1.0",
            "info": {"title": title, "version": version},
            "paths": paths,
            "components": {
                "schemas": {**schemas, "Error": ERROR_SCHEMA},
                "securitySchemes": {
                    "session": {"type": "apiKey", "in": "cookie", "name": "beckon_session"},
                    "bearer": {"type": "http", "scheme": "bearer"},
                },
            },
        }


def merge(*routers: ApiRouter, prefix: str = "/api/v1") -> ApiRouter:
    """One router holding the endpoints of several modules."""
    merged = ApiRouter(prefix)
    for router in routers:
        merged.endpoints.extend(router.endpoints)
    return merged
