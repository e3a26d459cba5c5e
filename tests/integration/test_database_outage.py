"""The desk while PostgreSQL is away: 503 with a readable detail in bounded time, never a 500 or
a call that waits for ever, and back to normal as soon as the database answers again."""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.integration.conftest import RunningApp
from tests.tcp_proxy import FreezableProxy
from workers.app.api import create_app
from workers.platform.database import create_engine, session_factory
from workers.platform.employees import add_employee

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

GUARD_SECONDS = 60
"""Only so a regression fails instead of hanging the run; no test measures time."""


def _closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@asynccontextmanager
async def desk_on(
    app: RunningApp, database_url: str, *, statement_timeout: float
) -> AsyncIterator[httpx.AsyncClient]:
    """The desk API of ``app`` with its database reached at ``database_url``."""
    engine = create_engine(
        database_url, pool_size=2, connect_timeout=1.0, statement_timeout=statement_timeout
    )
    database = app.settings.database.model_copy(update={"connect_timeout_seconds": 1.0})
    settings = app.settings.model_copy(
        update={"api_update_timeout_seconds": 1.0, "database": database}
    )
    api = create_app(
        replace(app.services, settings=settings, session_factory=session_factory(engine))
    )
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=api, raise_app_exceptions=False),
            base_url="http://desk",
        ) as http:
            yield http
    finally:
        await engine.dispose()


async def _token(app: RunningApp) -> dict[str, str]:
    employee_id = f"DB{random.getrandbits(24):06x}"
    token = await add_employee(app.services.session_factory, employee_id, "Dee", "employee")
    return {"Authorization": f"Bearer {token}"}


def _via(url: str, port: int) -> str:
    return make_url(url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


async def test_a_database_that_refuses_connections_answers_503(app: RunningApp) -> None:
    headers = await _token(app)
    url = _via(app.settings.database.url, _closed_port())
    async with desk_on(app, url, statement_timeout=5.0) as http:
        # The token lookup is the first thing that meets the database.
        response = await asyncio.wait_for(
            http.get("/api/v1/contact-requests", headers=headers), GUARD_SECONDS
        )
    assert response.status_code == 503
    assert response.json() == {"detail": "the database is unavailable; try again shortly"}
    assert response.headers["retry-after"] == "5"


@pytest.mark.parametrize(
    ("statement_timeout", "detail"),
    [
        # The driver's statement timeout cuts the pooled connection's wait.
        (1.0, "the database is unavailable; try again shortly"),
        # Without it, the API's own bound on the whole call does.
        (300.0, "the desk could not answer within 7 s"),
    ],
)
async def test_a_database_that_stops_answering_answers_503_then_heals(
    app: RunningApp, statement_timeout: float, detail: str
) -> None:
    headers = await _token(app)
    target = make_url(app.settings.database.url)
    proxy = FreezableProxy(target.host or "127.0.0.1", target.port or 5432)
    async with proxy.serving():
        url = _via(app.settings.database.url, proxy.port)
        async with desk_on(app, url, statement_timeout=statement_timeout) as http:
            before = await http.get("/api/v1/contact-requests", headers=headers)
            assert before.status_code == 200  # a pooled connection now exists
            proxy.freeze()
            frozen = await asyncio.wait_for(
                http.get("/api/v1/contact-requests", headers=headers), GUARD_SECONDS
            )
            proxy.thaw()
            after = await asyncio.wait_for(
                http.get("/api/v1/contact-requests", headers=headers), GUARD_SECONDS
            )
    assert frozen.status_code == 503
    assert frozen.json()["detail"].startswith(detail)
    assert after.status_code == 200


async def test_a_new_connection_nobody_answers_times_out_as_503(app: RunningApp) -> None:
    headers = await _token(app)
    target = make_url(app.settings.database.url)
    proxy = FreezableProxy(target.host or "127.0.0.1", target.port or 5432)
    async with proxy.serving():
        proxy.freeze()
        url = _via(app.settings.database.url, proxy.port)
        async with desk_on(app, url, statement_timeout=300.0) as http:
            response = await asyncio.wait_for(
                http.get("/api/v1/contact-requests", headers=headers), GUARD_SECONDS
            )
    assert response.status_code == 503
    assert response.json() == {"detail": "the database is unavailable; try again shortly"}
