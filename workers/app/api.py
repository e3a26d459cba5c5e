"""The employee desk HTTP API (FastAPI), base path ``/api/v1``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from workers.contacts import routes as contact_routes
from workers.tiers.runs import routes as tier_routes
from workers.trackers import follow_up_routes, member_routes, report_routes

if TYPE_CHECKING:
    from workers.app.runtime import Services

API_PREFIX = "/api/v1"


def _readable(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {error.get('msg')}")
    return "; ".join(parts)


def create_app(services: Services) -> FastAPI:
    """The API bound to one process's connections."""
    app = FastAPI(
        title="memberflow employee desk",
        version="1",
        description="Private Contacts queue, Trackers, follow-ups and tier scoring.",
        openapi_url="/openapi.json",
    )
    app.state.sessions = services.session_factory
    app.state.temporal = services.temporal
    app.state.ops = services.ops
    app.state.settings = services.settings

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        # One readable sentence instead of FastAPI's list of error objects (INTERFACES.md §2).
        return JSONResponse(status_code=422, content={"detail": _readable(exc)})

    for module in (contact_routes, follow_up_routes, member_routes, report_routes, tier_routes):
        app.include_router(module.router, prefix=API_PREFIX)
    return app
