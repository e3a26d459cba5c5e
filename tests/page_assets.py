"""The closed-network rule for HTML pages: every asset a page loads comes from its own origin.

``html_page_paths`` lists what an app may answer with HTML (every parameterless GET route the
OpenAPI document does not list as JSON only, and each mount's index, so a web desk mounted as
static files is covered too); ``outside_assets``
fetches each of them and reports every load from anywhere else:

- in the HTML: any ``src``, ``href``, ``srcset``, ``poster``, ``data`` or ``action`` attribute,
  ``url(...)`` and ``@import`` in ``<style>`` and ``style=""``, URLs in inline scripts;
- in each same-origin stylesheet or script the page references (which must also answer 200):
  CSS ``url(...)`` and ``@import``; in JavaScript the patterns that load something, an element
  ``src`` or CSS text with an outside URL. A bundle's other URL strings (licence links, JSON
  Schema ids, XML namespaces) load nothing and are not reported. A script's loads are not
  reported either when the page's Content-Security-Policy confines every load to the page's
  origin, because then the browser refuses them before a request leaves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html.parser import HTMLParser
from types import SimpleNamespace
from typing import TYPE_CHECKING, cast
from urllib.parse import urljoin, urlsplit

import httpx
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from workers.app.api import create_app
from workers.platform.settings import Settings

if TYPE_CHECKING:
    from workers.app.runtime import Services

_URL_ATTRIBUTES = {"src", "href", "srcset", "poster", "data", "action", "formaction"}
_LOCAL_SCHEMES = {"", "data", "blob", "mailto", "tel", "javascript", "about"}
# CSS: url("..."), url('...'), url(...) and @import "..." (quoted data: URIs may hold parentheses).
_CSS_URL = re.compile(
    r"""url\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^)'"\s]*))\s*\)"""
    r"""|@import\s+(?:"([^"]*)"|'([^']*)')""",
    re.IGNORECASE,
)
_ANY_URL = re.compile(r"""https?://[^\s"'`)<>\\]+""", re.IGNORECASE)
# JavaScript that loads: an element's src set to an outside URL, or CSS text (CSS-in-JS) that
# imports or points url(...) outside. Escaped quotes (\") appear in CSS kept inside JS strings.
_JS_LOADS = re.compile(
    r"""\bsrc\s*[:=]\s*["'`]((?:https?:)?//[^"'`]+)"""
    r"""|url\(\s*\\?["']?\s*((?:https?:)?//[^)"'\\]+)"""
    r"""|@import\s+(?:url\()?\s*\\?["']?\s*((?:https?:)?//[^)"'\\;]+)""",
    re.IGNORECASE,
)
# CSP sources that keep a load at the page's origin (or in the page itself).
_CONFINED_SOURCES = {"'self'", "'none'", "data:", "blob:", "'unsafe-inline'", "'strict-dynamic'"}


def desk_app() -> FastAPI:
    """The desk API as ``memberflow run api`` builds it, with no servers behind it: its pages
    and ``/openapi.json`` need none (an API call would fail, and none is made)."""
    services = SimpleNamespace(session_factory=None, temporal=None, ops=None, settings=Settings())
    return create_app(cast("Services", services))


def _json_only(app: FastAPI) -> set[str]:
    """GET paths the OpenAPI document says answer no HTML (the JSON API, not worth calling)."""
    document = app.openapi() if app.openapi_url else {}
    json_only = set()
    for path, operations in document.get("paths", {}).items():
        responses = operations.get("get", {}).get("responses", {}).values()
        if not any("text/html" in answer.get("content", {}) for answer in responses):
            json_only.add(path)
    return json_only


def html_page_paths(app: FastAPI) -> list[str]:
    """Paths that may answer HTML: parameterless GET routes (included routers too) that the
    OpenAPI document does not list as JSON only, and each mount's index."""
    json_only = _json_only(app)
    paths: list[str] = []
    for context in iter_route_contexts(app.routes):
        path = context.path
        if path is None or "{" in path or path in json_only:
            continue
        if isinstance(context.original_route, Mount):
            paths.append(path.rstrip("/") + "/")
        elif "GET" in (context.methods or set()):
            paths.append(path)
    return paths


def is_outside(url: str, page_url: str) -> bool:
    """Whether ``url``, as written on the page at ``page_url``, loads from another origin."""
    target = urlsplit(urljoin(page_url, url.strip()))
    page = urlsplit(page_url)
    if target.scheme.lower() in _LOCAL_SCHEMES and not target.netloc:
        return False
    return (target.scheme, target.netloc) != (page.scheme, page.netloc)


def confines_loads(policy: str | None) -> bool:
    """Whether a Content-Security-Policy limits every kind of load to the page's own origin."""
    if not policy:
        return False
    directives = {}
    for part in policy.split(";"):
        if words := part.split():
            directives[words[0].lower()] = words[1:]
    if "default-src" not in directives:
        return False
    return all(
        source in _CONFINED_SOURCES or source.startswith(("'sha256-", "'sha384-", "'nonce-"))
        for name, sources in directives.items()
        if "-src" in name  # script-src-elem, style-src-attr too
        for source in sources
    )


def css_urls(text: str) -> list[str]:
    """Every ``url(...)`` and ``@import`` target in a stylesheet."""
    return [next(g for g in match.groups() if g is not None) for match in _CSS_URL.finditer(text)]


def script_loads(text: str) -> list[str]:
    """Outside URLs a script would load: element ``src`` values and CSS text it injects."""
    return [next(g for g in match.groups() if g) for match in _JS_LOADS.finditer(text)]


class _Page(HTMLParser):
    """Collects URL attributes, inline styles and inline scripts of one HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.attributes: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.styles: list[str] = []
        self.scripts: list[str] = []
        self._inside: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name == "style":
                self.styles.append(value)
            elif name == "srcset":
                # "a.png 1x, b.png 2x": each candidate's first word is a URL.
                self.attributes += [
                    (tag, name, c.split()[0]) for c in value.split(",") if c.strip()
                ]
            elif name in _URL_ATTRIBUTES or name.endswith(":href"):
                self.attributes.append((tag, name, value))
        self._inside = tag if tag in ("style", "script") else None

    def handle_endtag(self, tag: str) -> None:
        self._inside = None

    def handle_data(self, data: str) -> None:
        if self._inside == "style":
            self.styles.append(data)
        elif self._inside == "script":
            self.scripts.append(data)


async def _asset_findings(
    http: httpx.AsyncClient, page_url: str, asset_url: str, confined: bool
) -> list[str]:
    answer = await http.get(asset_url)
    if answer.status_code != 200:
        return [f"{page_url}: {asset_url} answers {answer.status_code}"]
    kind = answer.headers.get("content-type", "")
    if "css" in kind:
        found = [u for u in css_urls(answer.text) if is_outside(u, asset_url)]
    elif "javascript" in kind and not confined:
        found = script_loads(answer.text)
    else:
        found = []
    return [f"{page_url}: {asset_url} loads {url}" for url in found]


async def outside_assets(
    http: httpx.AsyncClient, paths: Iterable[str]
) -> tuple[list[str], list[str]]:
    """GET each path; for those answering HTML, every load from outside the app's origin.

    Args:
        http: A client of the app (``base_url`` is the page origin).
        paths: Paths to try (``html_page_paths``).

    Returns:
        The paths that answered HTML, and one readable finding per outside load or missing asset.
    """
    pages: list[str] = []
    findings: list[str] = []
    for path in paths:
        answer = await http.get(path)
        if answer.is_server_error:
            # A page that fails cannot be checked; it must not pass unseen.
            findings.append(f"{path}: answers {answer.status_code}")
            continue
        if not answer.headers.get("content-type", "").startswith("text/html"):
            continue
        pages.append(path)
        page_url = str(answer.url)
        page = _Page()
        page.feed(answer.text)
        page.close()
        confined = confines_loads(answer.headers.get("content-security-policy"))
        for tag, name, value in page.attributes:
            if is_outside(value, page_url):
                findings.append(f"{path}: <{tag} {name}> {value}")
            elif tag in ("script", "link", "img", "source", "iframe", "video", "audio", "embed"):
                asset = urljoin(page_url, value)
                if urlsplit(asset).scheme in ("http", "https"):
                    findings += await _asset_findings(http, path, asset, confined)
        for style in page.styles:
            findings += [f"{path}: style {u}" for u in css_urls(style) if is_outside(u, page_url)]
        for script in page.scripts:
            inline = _ANY_URL.findall(script)
            findings += [f"{path}: inline script {u}" for u in inline if is_outside(u, page_url)]
    return pages, findings
