"""Property-based fuzz of every desk route from the API's own OpenAPI document (schemathesis):
whatever the generator sends, with a real employee's token, the API answers without a 5xx and
within a bounded time.

The API is the ASGI app of ``workers.app.api.create_app`` on the session's real servers, called
in process through httpx. It gets an event loop of its own (database pool and Temporal client
are bound to the loop they were made on), driven from this synchronous test, because
schemathesis' tests are Hypothesis tests. No worker runs: every route answers without one
(an Update on an unknown request answers 404 before asking a workflow), and no workflow of
another test can be touched because only made-up ids reach the routes.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from contracts.platform.permissions import RULES
from contracts.vocabulary import Role
from tests.conftest import unique_topics
from workers.app.api import API_PREFIX, API_ROUTES, create_app
from workers.app.runtime import services
from workers.platform.employees import add_employee
from workers.platform.migrate import upgrade
from workers.platform.settings import Settings

pytestmark = pytest.mark.integration

CALL_TIMEOUT = 15.0
"""A call that takes longer counts as a hang (no test measures time otherwise)."""


@dataclass
class Target:
    """The in-process API, its own event loop, and tokens to call it with."""

    loop: asyncio.AbstractEventLoop
    http: httpx.AsyncClient
    tokens: dict[Role, str]
    """A supervisor of every department, an operator and an admin: each route is called as
    the first of them the permission table lets act on it (docs/security.md)."""

    def send(self, case: schemathesis.Case[Any]) -> httpx.Response:
        """Send one generated request, authenticated, bounded by :data:`CALL_TIMEOUT`."""
        kwargs: dict[str, Any] = case.as_transport_kwargs(base_url="http://desk")
        headers = {k: v for k, v in (kwargs.get("headers") or {}).items() if v is not None}
        headers["Authorization"] = f"Bearer {self.tokens[_role_for(case)]}"
        body: dict[str, Any] = {}
        if "json" in kwargs:
            body["json"] = kwargs["json"]
        elif kwargs.get("data") is not None:
            data = kwargs["data"]
            body["content"] = data if isinstance(data, bytes | str) else str(data)
        request = self.http.request(
            kwargs["method"], kwargs["url"], params=kwargs.get("params"), headers=headers, **body
        )
        return self.loop.run_until_complete(asyncio.wait_for(request, CALL_TIMEOUT))


@pytest.fixture(scope="module")
def target(base_settings: Settings, postgres_url: str) -> Iterator[Target]:
    """The API on the real servers (fresh topics), in a loop of its own."""
    settings = base_settings.model_copy(
        update={
            "topics": unique_topics("fuzz"),
            "database": base_settings.database.model_copy(update={"url": postgres_url}),
        }
    )
    loop = asyncio.new_event_loop()
    stack = AsyncExitStack()
    try:
        loop.run_until_complete(upgrade(postgres_url))
        svc = loop.run_until_complete(stack.enter_async_context(services(settings)))
        employee = f"FZ{random.getrandbits(24):06x}"
        departments = [d.code for d in svc.ops.departments]
        token = loop.run_until_complete(
            add_employee(
                svc.session_factory, employee, "Fuzz", "supervisor", departments=departments
            )
        )
        tokens = {Role.SUPERVISOR: token}
        for role in (Role.OPERATOR, Role.ADMIN):
            role_id = f"{employee}{role.value[0].upper()}"
            tokens[role] = loop.run_until_complete(
                add_employee(svc.session_factory, role_id, "Fuzz", role)
            )
        transport = httpx.ASGITransport(app=create_app(svc))
        http = httpx.AsyncClient(transport=transport, base_url="http://desk")
        stack.push_async_callback(http.aclose)
        yield Target(loop, http, tokens)
    finally:
        loop.run_until_complete(stack.aclose())
        loop.close()


@pytest.fixture(scope="module")
def api_schema(target: Target) -> schemathesis.BaseSchema:
    """The OpenAPI document the API serves, as schemathesis reads it."""
    response = target.loop.run_until_complete(target.http.get("/openapi.json"))
    assert response.status_code == 200
    return schemathesis.openapi.from_dict(response.json())


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every desk route, read from the routers (no servers needed)."""
    found = []
    for module in API_ROUTES:
        for route in module.router.routes:
            assert isinstance(route, APIRoute)
            found += [
                (method, f"{API_PREFIX}{route.path}") for method in sorted(route.methods or ())
            ]
    return found


OPERATIONS = _operations()


def _role_for(case: schemathesis.Case[Any]) -> Role:
    """The role a route is fuzzed as: the first of supervisor, operator, admin it allows."""
    path = case.operation.path.removeprefix(API_PREFIX)
    rule = next(r for r in RULES if r.method == case.method.upper() and r.path == path)
    return next(
        role for role in (Role.SUPERVISOR, Role.OPERATOR, Role.ADMIN) if rule.grants.get(role)
    )


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_no_route_answers_5xx_or_hangs(
    api_schema: schemathesis.BaseSchema, target: Target, method: str, path: str, data: st.DataObject
) -> None:
    """Valid and invalid requests alike (schemathesis' positive and negative modes)."""
    operation = api_schema[path][method]
    modes = [
        operation.as_strategy(mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    ]
    case = data.draw(st.one_of(modes))
    response = target.send(case)
    assert response.status_code != 401, "the real employee's token was refused"
    assert response.status_code < 500, (
        f"{response.status_code} {response.text[:300]}\n"
        f"reproduce: {case.as_curl_command(base_url='http://127.0.0.1:8000')}"
    )
