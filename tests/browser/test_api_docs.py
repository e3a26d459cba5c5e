"""``/docs`` and ``/redoc`` render in headless Chromium with nothing from outside the app.

Every request for another origin is aborted and recorded (tests/browser/conftest.py); each test
ends by asserting there was none, which shows the pages work on a closed network.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import ClosedPage
from tests.page_assets import desk_app

pytestmark = pytest.mark.browser

QUEUE = "/api/v1/contact-requests"


def operations() -> dict[str, dict[str, dict[str, object]]]:
    """The desk API's OpenAPI paths and operations, as the pages should show them."""
    paths: dict[str, dict[str, dict[str, object]]] = desk_app().openapi()["paths"]
    return paths


def report(view: ClosedPage) -> None:
    # What the page policy refused (ReDoc's vendor logo) never reached the network; shown for
    # whoever reads the log, not asserted, as it depends on the bundle's version.
    for refusal in view.refused:
        print(f"refused by the page policy: {refusal}")


def test_swagger_ui_lists_the_desk_operations_and_expands_one(closed_page: ClosedPage) -> None:
    page = closed_page.page
    page.goto(f"{closed_page.origin}/docs")
    listed = page.locator(".opblock-summary-path")
    listed.first.wait_for()
    assert {path.replace("\u200b", "") for path in listed.all_inner_texts()} == set(operations())

    queue = page.locator(".opblock-get").filter(
        has=page.locator(f'.opblock-summary-path[data-path="{QUEUE}"]')
    )
    queue.locator(".opblock-summary-control").click()
    names = queue.locator(".parameters .parameter__name")
    names.first.wait_for()
    # The query parameters of GET /contact-requests and its documented answers.
    assert [name.split()[0] for name in names.all_inner_texts()] == ["state", "department"]
    responses = queue.locator(".responses-table .response-col_status")
    responses.first.wait_for()
    assert {"200", "422"} <= {status.strip() for status in responses.all_inner_texts()}

    closed_page.screenshot("docs")
    report(closed_page)
    assert closed_page.outside == []


def test_redoc_renders_every_desk_operation(closed_page: ClosedPage) -> None:
    page = closed_page.page
    page.goto(f"{closed_page.origin}/redoc")
    page.locator("h2").first.wait_for()
    summaries = {
        str(operation["summary"])
        for methods in operations().values()
        for operation in methods.values()
    }
    assert summaries <= set(page.locator("h2").all_inner_texts())
    content = page.locator(".api-content").inner_text()
    assert f"{QUEUE}/{{request_id}}/claim" in content

    # ReDoc's page is every operation in full (metres long): the window shows the menu and the
    # first operations.
    closed_page.screenshot("redoc", full_page=False)
    report(closed_page)
    assert closed_page.outside == []
