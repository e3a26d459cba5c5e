"""The request body limit: 413 with a readable detail, whether the size is declared or not."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import TYPE_CHECKING, cast

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from workers.app.api import create_app
from workers.platform.settings import Settings
from workers.platform.web.body_limit import BodySizeLimit, too_large_detail

if TYPE_CHECKING:
    from workers.app.runtime import Services

LIMIT = 1024
pytestmark = pytest.mark.unit
async_test = pytest.mark.asyncio


class Echo:
    """An ASGI app that answers with the body it read, and counts the requests it saw."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})


def client(app: Echo) -> httpx.AsyncClient:
    """A client of ``app`` behind the limit."""
    transport = httpx.ASGITransport(app=BodySizeLimit(app, max_bytes=LIMIT))
    return httpx.AsyncClient(transport=transport, base_url="http://desk")


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"detail": too_large_detail(LIMIT)}


@async_test
async def test_a_declared_length_over_the_limit_is_refused_before_the_app_runs() -> None:
    app = Echo()
    async with client(app) as http:
        response = await http.post("/x", content=b"a" * (LIMIT + 1))
    assert_refused(response)
    assert app.calls == 0


@async_test
async def test_a_body_of_exactly_the_limit_reaches_the_app_intact() -> None:
    app = Echo()
    body = bytes(range(256)) * (LIMIT // 256)
    async with client(app) as http:
        response = await http.post("/x", content=body)
    assert response.status_code == 200
    assert response.content == body
    assert app.calls == 1


@async_test
async def test_a_chunked_body_without_length_is_counted_and_refused_unread() -> None:
    app = Echo()
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(1000):
            sent += 1
            yield b"c" * 100

    async with client(app) as http:
        response = await http.post("/x", content=chunks())
    assert response.request.headers.get("content-length") is None
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_refused(response)
    assert app.calls == 0
    # Reading stopped at the chunk that passed the limit, not at the end of the body.
    assert sent == LIMIT // 100 + 1


@async_test
async def test_a_chunked_body_within_the_limit_reaches_the_app_as_sent() -> None:
    app = Echo()

    async def chunks() -> AsyncIterator[bytes]:
        for index in range(10):
            yield bytes([65 + index]) * 100

    async with client(app) as http:
        response = await http.post("/x", content=chunks())
    assert response.status_code == 200
    assert response.content == b"".join(bytes([65 + i]) * 100 for i in range(10))


@async_test
async def test_a_content_length_that_understates_the_body_does_not_get_it_through() -> None:
    app = Echo()
    messages = [
        {"type": "http.request", "body": b"x" * 600, "more_body": True},
        {"type": "http.request", "body": b"x" * 600, "more_body": False},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": "/x",
        "headers": [(b"content-length", b"10")],
    }
    await BodySizeLimit(app, max_bytes=LIMIT)(scope, receive, send)
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"]) == {"detail": too_large_detail(LIMIT)}
    assert app.calls == 0


@async_test
async def test_the_desk_api_refuses_a_large_reply_before_authentication() -> None:
    settings = Settings(api_max_body_bytes=LIMIT)
    services = SimpleNamespace(session_factory=None, temporal=None, ops=None, settings=settings)
    desk = create_app(cast("Services", services))
    transport = httpx.ASGITransport(app=desk)
    async with httpx.AsyncClient(transport=transport, base_url="http://desk") as http:
        response = await http.post(
            "/api/v1/contact-requests/REQ-1/reply", json={"body": "b" * (LIMIT + 1)}
        )
    # No token was sent: the size alone decided, before any store or Temporal was touched.
    assert_refused(response)


def test_the_limit_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMBERFLOW_API_MAX_BODY_BYTES", "65536")
    assert Settings().api_max_body_bytes == 65536
    monkeypatch.delenv("MEMBERFLOW_API_MAX_BODY_BYTES")
    assert Settings().api_max_body_bytes == 256 * 1024
