"""Serving the API inside a process that already handles its own signals."""

from __future__ import annotations

import math
from collections.abc import Generator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves SIGINT/SIGTERM to the hosting process.

    ``memberflow run all`` stops bridge, worker and API together from one signal handler.
    """

    @contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """Install no handlers: the host sets ``should_exit`` when it stops."""
        yield


def server_config(app: FastAPI, host: str, port: int, grace: float = 15.0) -> uvicorn.Config:
    """Uvicorn settings for the desk API; ``grace`` bounds how long a stop waits for requests.

    Without ``timeout_graceful_shutdown`` uvicorn waits for open requests for ever, and one
    request stuck on a database lock would keep a stopping process alive.
    """
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        # Uvicorn takes whole seconds; round up so the grace is never shortened.
        timeout_graceful_shutdown=math.ceil(grace),
    )
