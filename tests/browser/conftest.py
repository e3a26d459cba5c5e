"""Headless Chromium from Debian's ``chromium`` package (deploy/prereqs.sh), driven by Playwright.

Playwright is told where the browser is, so it never downloads one. Every page a test opens is
closed to the outside: each request for another origin is aborted and recorded, so a test can
show that a page needed nothing from the internet. Screenshots go to a folder under pytest's
temporary directory and, when ``MEMBERFLOW_SCREENSHOTS_DIR`` is set, there too.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, Route, sync_playwright

from deploy.processes import free_port
from tests.page_assets import desk_app

CHROMIUM = Path(os.environ.get("MEMBERFLOW_CHROMIUM", "/usr/bin/chromium"))
# A loaded two-core machine can take a while to parse the 1.5 MB Swagger UI bundle.
PAGE_TIMEOUT_MS = 60_000


@dataclass
class ClosedPage:
    """A browser page that may load from ``origin`` only."""

    page: Page
    origin: str
    shot_dirs: list[Path]
    outside: list[str] = field(default_factory=list)
    """Requests for another origin the page tried to send (all aborted)."""
    refused: list[str] = field(default_factory=list)
    """Console reports of loads the page's Content-Security-Policy refused before sending."""

    def screenshot(self, name: str, *, full_page: bool = True) -> list[Path]:
        """Save a screenshot as ``<name>.png`` in each screenshot folder.

        Args:
            name: The file name, without ``.png``.
            full_page: The whole scrollable page, not just the window.
        """
        saved = []
        for folder in self.shot_dirs:
            path = folder / f"{name}.png"
            self.page.screenshot(path=path, full_page=full_page)
            print(f"screenshot: {path}")
            saved.append(path)
        return saved


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free local port in a thread; yields its origin."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    # Not the main thread: uvicorn installs no signal handlers there.
    thread = threading.Thread(target=server.run, name="browser-test-api", daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                pytest.fail(f"the API did not start on 127.0.0.1:{port}")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run ./deploy/prereqs.sh (installs `chromium`)")
    # Chromium's sandbox refuses to start as root (CI containers, these machines).
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def desk_origin() -> Iterator[str]:
    """The desk API on a real local port (its docs pages need no servers behind it)."""
    with serving(desk_app()) as origin:
        yield origin


@pytest.fixture(scope="module")
def shot_dirs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Where screenshots go: pytest's temporary folder, and ``MEMBERFLOW_SCREENSHOTS_DIR``."""
    folders = [tmp_path_factory.mktemp("screenshots")]
    if chosen := os.environ.get("MEMBERFLOW_SCREENSHOTS_DIR"):
        folders.append(Path(chosen))
        folders[-1].mkdir(parents=True, exist_ok=True)
    return folders


@pytest.fixture
def closed_page(chromium: Browser, desk_origin: str, shot_dirs: list[Path]) -> Iterator[ClosedPage]:
    """A fresh page of the desk API's origin with every other origin cut off."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    view = ClosedPage(page, desk_origin, shot_dirs)

    def only_own_origin(route: Route) -> None:
        url = route.request.url
        if url == view.origin or url.startswith(f"{view.origin}/"):
            route.continue_()
        else:
            view.outside.append(url)
            route.abort("blockedbyclient")

    page.route("**/*", only_own_origin)
    page.on(
        "console",
        lambda message: (
            view.refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield view
    context.close()
