"""Refuse request bodies over a configured size with 413, before the app reads any of them.

A pure ASGI middleware: it reads the body itself, counting bytes as they arrive, and hands the
app a replay of it only when it stayed within the limit. A ``Content-Length`` over the limit is
refused before a byte is read; a body without one (chunked) or with one that understates it is
refused as soon as the count passes the limit, so neither a missing nor a lying header gets a
large body into memory or into the app.

(FastAPI's own ``max_body_size`` was not used: on a route that never reads its body it answers
413 in plain text, not the desk's ``{"detail": ...}``, and it lets the app run first.)
"""

from __future__ import annotations

import json

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def too_large_detail(max_bytes: int) -> str:
    """The ``detail`` of a 413 answer."""
    return f"request body is larger than {max_bytes} bytes; nothing was done"


class BodySizeLimit:
    """ASGI middleware: HTTP request bodies longer than ``max_bytes`` are answered 413.

    ``max_bytes`` is the ``api_max_body_bytes`` setting (``MEMBERFLOW_API_MAX_BODY_BYTES``).
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass HTTP requests whose body fits to the app; answer the others 413."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: nothing to answer
                return
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": too_large_detail(self.max_bytes)}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    # The unread rest of the body makes the connection unusable for another
                    # request.
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the buffered body once, then waits on the real one (for the
    client's disconnect)."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
