"""A bound on every desk call: an answer in bounded time even when a server stops answering.

Updates have their own, shorter deadline (``workers.platform.web.updates``) and answer 504; this
one covers everything else a call waits on (reads before an Update, the token lookup, a pooled
database connection whose server was stopped without closing its sockets).
"""

from __future__ import annotations

import asyncio

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEADLINE_STATUS = 503
"""What a call cut short by the deadline answers: a server is not answering, try again."""


class RequestDeadline:
    """Pure ASGI middleware answering 503 when a request has not answered within ``seconds``."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request under the deadline; answer 503 if it passes before a response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        deadline = asyncio.timeout(self.seconds)
        try:
            async with deadline:
                await self.app(scope, receive, tracking_send)
        except TimeoutError:
            # Only our own expiry is answered here; a TimeoutError from inside (a database
            # connect that timed out) was already answered by the app's handlers or is a bug.
            if started or not deadline.expired():
                raise
            response = JSONResponse(
                {
                    "detail": (
                        f"the desk could not answer within {self.seconds:g} s: the database or "
                        "Temporal is not answering; try again shortly"
                    )
                },
                status_code=DEADLINE_STATUS,
                headers={"Retry-After": "5"},
            )
            await response(scope, receive, send)
