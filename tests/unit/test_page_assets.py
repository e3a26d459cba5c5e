"""Every HTML page the project serves loads its assets from its own origin (docs/http-api.md).

The walk covers every app the project serves over HTTP (the desk API and the codec server) and
every parameterless GET route and mount of each, so a page added later is checked without
touching this file.
"""

from __future__ import annotations

import os

import httpx
import pytest
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import HTMLResponse

from tests.page_assets import confines_loads, desk_app, html_page_paths, outside_assets
from workers.app.codec_server import CodecAccess, create_codec_app
from workers.platform.employees import EmployeeRecord
from workers.platform.payload_codec import EncryptionCodec, PayloadKey
from workers.platform.web.api_docs import ASSETS_URL, mount_api_docs

pytestmark = pytest.mark.unit
async_test = pytest.mark.asyncio


async def never(token: str) -> EmployeeRecord | None:
    return None


def codec_app() -> FastAPI:
    """The codec server, whose HTML pages (none today) fall under the same rule."""
    codec = EncryptionCodec([PayloadKey("k1", os.urandom(32))])
    return create_codec_app(codec, CodecAccess(never), ["http://127.0.0.1:8233"])


async def walk(app: FastAPI) -> tuple[list[str], list[str]]:
    """The app's HTML pages and every outside load found on them."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://desk") as http:
        return await outside_assets(http, html_page_paths(app))


@async_test
async def test_every_html_page_of_every_app_loads_only_from_its_own_origin() -> None:
    desk_pages, desk_findings = await walk(desk_app())
    codec_pages, codec_findings = await walk(codec_app())
    # The walk really reached the pages (a walk finding nothing would pass vacuously).
    assert {"/docs", "/redoc"} <= set(desk_pages)
    assert desk_findings + codec_findings == []
    print(f"HTML pages checked: desk {desk_pages}, codec server {codec_pages}")


@async_test
async def test_fastapis_default_cdn_pages_are_caught() -> None:
    # What /docs and /redoc were before: Swagger UI, ReDoc and a favicon from outside.
    _, findings = await walk(FastAPI(title="cdn pages"))
    text = "\n".join(findings)
    assert "/docs: <script src> https://cdn.jsdelivr.net/npm/swagger-ui-dist" in text
    assert "/docs: <link href> https://fastapi.tiangolo.com/img/favicon.png" in text
    assert "/redoc: <script src> https://cdn.jsdelivr.net/npm/redoc" in text
    assert "/redoc: <link href> https://fonts.googleapis.com/" in text


@async_test
async def test_a_bundle_loading_from_outside_is_caught_unless_the_page_policy_confines_it() -> None:
    app = FastAPI(docs_url=None, redoc_url=None)
    mount_api_docs(app)

    @app.get("/plain-redoc", include_in_schema=False)
    async def plain_redoc() -> HTMLResponse:
        # The same bundle, without the page's Content-Security-Policy.
        return get_redoc_html(
            openapi_url="/openapi.json",
            title="plain",
            redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )

    pages, findings = await walk(app)
    assert {"/docs", "/redoc", "/plain-redoc"} <= set(pages)
    # ReDoc shows its vendor logo from its CDN; the policy on /redoc makes the browser refuse it.
    assert findings == [
        "/plain-redoc: http://desk/docs-assets/redoc.standalone.js loads "
        "https://cdn.redoc.ly/redoc/logo-mini.svg"
    ]


@async_test
async def test_an_asset_the_page_names_but_the_app_lacks_is_reported() -> None:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/page", include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse('<html><script src="/gone.js"></script></html>')

    _, findings = await walk(app)
    assert findings == ["/page: http://desk/gone.js answers 404"]


@async_test
async def test_swagger_ui_is_told_not_to_call_the_online_validator() -> None:
    transport = httpx.ASGITransport(app=desk_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://desk") as http:
        docs = await http.get("/docs")
    assert '"validatorUrl": null' in docs.text
    assert confines_loads(docs.headers["content-security-policy"])


@pytest.mark.parametrize(
    ("policy", "confined"),
    [
        ("default-src 'self'; img-src 'self' data:; script-src 'self' 'sha256-abc='", True),
        ("default-src 'self'; img-src *", False),
        ("default-src 'self'; img-src https://cdn.redoc.ly", False),
        ("default-src 'self'; script-src-elem 'self' https:;", False),
        ("img-src 'self'", False),
        (None, False),
    ],
)
def test_a_policy_confines_loads_only_when_no_source_is_outside(
    policy: str | None, confined: bool
) -> None:
    assert confines_loads(policy) is confined


def test_the_docs_cannot_be_mounted_over_fastapis_own_pages() -> None:
    with pytest.raises(ValueError, match="docs_url=None"):
        mount_api_docs(FastAPI())
