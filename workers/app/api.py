"""The employee desk HTTP API (FastAPI), base path ``/api/v1``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from workers.contacts import routes as contact_routes
from workers.platform.clock import Clock, system_clock
from workers.platform.web import audit_routes
from workers.platform.web.api_docs import mount_api_docs
from workers.platform.web.body_limit import BodySizeLimit
from workers.platform.web.deadline import RequestDeadline
from workers.platform.web.dependencies import DeskServices, bind
from workers.platform.web.errors import database_unavailable_answer
from workers.platform.web.throttle import FailureThrottle
from workers.tiers.runs import routes as tier_routes
from workers.trackers import (
    follow_up_routes,
    mass_routes,
    member_routes,
    purge_routes,
    relocation_routes,
    report_routes,
    sales_lead_routes,
)

if TYPE_CHECKING:
    from workers.app.runtime import Services

API_PREFIX = "/api/v1"

API_ROUTES = (
    contact_routes,
    follow_up_routes,
    member_routes,
    relocation_routes,
    sales_lead_routes,
    mass_routes,
    purge_routes,
    report_routes,
    tier_routes,
    audit_routes,
)
"""Every module whose ``router`` serves under :data:`API_PREFIX` (the fuzz test walks them all)."""


def _readable(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {error.get('msg')}")
    return "; ".join(parts)


def create_app(services: Services, *, clock: Clock = system_clock) -> FastAPI:
    """The API bound to one process's connections.

    Args:
        services: The process's connections and configuration.
        clock: Where "now" comes from (tests pass a fixed moment to pin "today").
    """
    app = FastAPI(
        title="memberflow employee desk",
        version="1",
        description="Private Contacts queue, Trackers, follow-ups and tier scoring.",
        openapi_url="/openapi.json",
        # /docs and /redoc come from mount_api_docs, with their assets served here (no CDN).
        docs_url=None,
        redoc_url=None,
    )
    bind(
        app,
        DeskServices(
            sessions=services.session_factory,
            temporal=services.temporal,
            ops=services.ops,
            settings=services.settings,
            clock=clock,
            auth_failures=FailureThrottle(
                services.settings.auth_failure_limit,
                services.settings.auth_failure_window_seconds,
            ),
        ),
    )

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        # One readable sentence instead of FastAPI's list of error objects (docs/http-api.md).
        return JSONResponse(status_code=422, content={"detail": _readable(exc)})

    # Bodies over the limit are answered 413 before any of them reaches a route (added first,
    # so a slow body is still under the request deadline below).
    app.add_middleware(BodySizeLimit, max_bytes=services.settings.api_max_body_bytes)
    # An unreachable database answers 503 wherever it is met (the token lookup included).
    for unavailable in (OSError, TimeoutError, DBAPIError, PoolTimeoutError):
        app.add_exception_handler(unavailable, database_unavailable_answer)
    # The whole call is bounded too: reads before an Update, then the Update's own deadline,
    # and a margin for opening a database connection.
    settings = services.settings
    app.add_middleware(
        RequestDeadline,
        seconds=settings.api_update_timeout_seconds
        + settings.database.connect_timeout_seconds
        + 5.0,
    )

    for module in API_ROUTES:
        app.include_router(module.router, prefix=API_PREFIX)
    mount_api_docs(app)
    return app
