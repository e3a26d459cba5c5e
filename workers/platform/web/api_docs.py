"""The API's documentation pages (``/docs``, ``/redoc``), served with their assets by the app.

FastAPI's default pages load Swagger UI and ReDoc from a public CDN and a favicon from FastAPI's
site, so on a closed network (a credit union's, these machines) they render blank. The
``fastapi-offline`` package ships the same bundles (Swagger UI 5, ReDoc 2) and a favicon in its
wheel; they are mounted under ``/docs-assets`` and the pages point there.

Each page also carries a Content-Security-Policy confining every load to the app's own origin:
ReDoc's bundle shows its vendor logo from ``cdn.redoc.ly``, and the policy makes the browser
refuse it before any request leaves (the logo hides itself when it fails to load).
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
"""``swagger-ui-bundle.js``, ``swagger-ui.css``, ``redoc.standalone.js``, ``favicon.png``."""

ASSETS_URL = "/docs-assets"

# Swagger UI's default validatorUrl makes pages on a non-local host load a badge image from
# validator.swagger.io; null turns the badge off.
SWAGGER_PARAMETERS: dict[str, object] = {"validatorUrl": None}

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def content_security_policy(html: str) -> str:
    """A Content-Security-Policy for ``html`` that lets it load from its own origin only.

    The page's inline scripts (Swagger UI's start-up call) are allowed by their SHA-256 hash,
    so no other inline script runs. Inline styles are allowed: both UIs set ``style``
    attributes and ReDoc injects ``<style>`` elements at run time.
    """
    digests = (hashlib.sha256(body.encode()).digest() for body in _INLINE_SCRIPT.findall(html))
    hashes = " ".join(f"'sha256-{base64.b64encode(digest).decode()}'" for digest in digests)
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' {hashes}".rstrip(),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            # ReDoc runs its search index in a worker started from a blob: URL.
            "worker-src 'self' blob:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
        )
    )


def _confined(page: HTMLResponse) -> HTMLResponse:
    body = bytes(page.body).decode()
    page.headers["Content-Security-Policy"] = content_security_policy(body)
    return page


def mount_api_docs(
    app: FastAPI,
    *,
    docs_url: str = "/docs",
    redoc_url: str = "/redoc",
    assets_url: str = ASSETS_URL,
) -> None:
    """Serve Swagger UI at ``docs_url`` and ReDoc at ``redoc_url``, assets from ``assets_url``.

    Create ``app`` with ``docs_url=None, redoc_url=None`` so FastAPI's CDN pages are not
    registered first. Any FastAPI app of the project with an OpenAPI document may call this
    (the codec server serves none).

    Args:
        app: The application; its ``openapi_url`` must be set.
        docs_url: Path of the Swagger UI page.
        redoc_url: Path of the ReDoc page.
        assets_url: Path the bundled JavaScript, CSS and favicon are served under.

    Raises:
        ValueError: FastAPI's own docs pages are still on, or the app has no OpenAPI document.
    """
    if app.docs_url is not None or app.redoc_url is not None:
        raise ValueError("create the app with docs_url=None and redoc_url=None")
    openapi_url = app.openapi_url
    if openapi_url is None:
        raise ValueError("the app has no OpenAPI document to show")
    app.mount(assets_url, StaticFiles(directory=ASSETS_DIR), name="api-docs-assets")

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        # root_path: the pages still find their assets behind a proxy that adds a prefix.
        root = f"{request.scope.get('root_path', '')}"
        return _confined(
            get_swagger_ui_html(
                openapi_url=f"{root}{openapi_url}",
                title=f"{app.title} - Swagger UI",
                swagger_js_url=f"{root}{assets_url}/swagger-ui-bundle.js",
                swagger_css_url=f"{root}{assets_url}/swagger-ui.css",
                swagger_favicon_url=f"{root}{assets_url}/favicon.png",
                # The desk API takes bearer tokens; there is no OAuth2 flow to return to.
                oauth2_redirect_url=None,
                swagger_ui_parameters={**(app.swagger_ui_parameters or {}), **SWAGGER_PARAMETERS},
            )
        )

    @app.get(redoc_url, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = f"{request.scope.get('root_path', '')}"
        return _confined(
            get_redoc_html(
                openapi_url=f"{root}{openapi_url}",
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{root}{assets_url}/redoc.standalone.js",
                redoc_favicon_url=f"{root}{assets_url}/favicon.png",
                with_google_fonts=False,
            )
        )
