"""The hostile request table of ``test_http_input.py``: one row per case, each its own test."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEEP = b"[" * 100_000 + b"]" * 100_000
"""JSON nested far deeper than any parser recurses."""
JSON = {"content-type": "application/json"}


@dataclass(frozen=True)
class Case:
    """One hostile request and the answer it must get."""

    name: str
    method: str
    path: str
    """Under ``/api/v1``; ``{R}`` is the queued request, ``{F}`` the open follow-up."""
    status: int
    detail: str
    """A fragment of the answer's ``detail``."""
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    anonymous: bool = False
    no_workflow: str | None = None
    """A tier scoring period whose run must not have been started."""
    caller: str = "employee"
    """The role of the caller: the route's own (docs/security.md), so the input is what is
    refused, not the caller."""


BAD_PERIOD = "2026-13"
CASES = [
    Case(
        "post-without-token",
        "POST",
        "/contact-requests/{R}/claim",
        401,
        "missing bearer token",
        anonymous=True,
    ),
    Case(
        "basic-not-bearer",
        "POST",
        "/contact-requests/{R}/delete",
        401,
        "missing bearer token",
        headers={"Authorization": "Basic SFg6eA=="},
    ),
    Case(
        "tier-run-without-token",
        "POST",
        "/tier-scoring/runs",
        401,
        "missing bearer token",
        json={"period": "2031-01"},
        anonymous=True,
        no_workflow="2031-01",
    ),
    Case(
        "queue-department-bidi",
        "GET",
        "/contact-requests?department=LOANS%E2%80%AE",
        422,
        "department must be one of",
    ),
    Case("request-id-10k", "GET", "/contact-requests/" + "R" * 10_000, 422, "request_id"),
    Case("request-id-bidi", "POST", "/contact-requests/R%E2%80%AE1/claim", 422, "request_id"),
    Case("release-unknown", "POST", "/contact-requests/no-such-request/release", 404, "not found"),
    Case("delete-unknown", "POST", "/contact-requests/no-such-request/delete", 404, "not found"),
    Case(
        "reply-not-json",
        "POST",
        "/contact-requests/{R}/reply",
        422,
        "JSON decode error",
        content=b'{"body": "x",',
        headers=JSON,
    ),
    Case(
        "reply-text-plain",
        "POST",
        "/contact-requests/{R}/reply",
        422,
        "body: Input should be a valid dictionary",
        content=b'{"body": "x"}',
        headers={"content-type": "text/plain"},
    ),
    Case(
        "reply-empty-body",
        "POST",
        "/contact-requests/{R}/reply",
        422,
        "body: Field required",
        content=b"",
        headers=JSON,
    ),
    Case(
        "reply-json-array",
        "POST",
        "/contact-requests/{R}/reply",
        422,
        "body: Input should be a valid dictionary",
        json=[{"body": "x"}],
    ),
    Case(
        "reply-deep-nesting",
        "POST",
        "/contact-requests/{R}/reply",
        400,
        "error parsing the body",
        content=b'{"body": ' + DEEP + b"}",
        headers=JSON,
    ),
    Case(
        "reply-huge-number",
        "POST",
        "/contact-requests/{R}/reply",
        400,
        "error parsing the body",
        content=b'{"body": ' + b"9" * 5_000 + b"}",
        headers=JSON,
    ),
    Case(
        "reply-not-utf8",
        "POST",
        "/contact-requests/{R}/reply",
        400,
        "error parsing the body",
        content=b'{"body": "\xff"}',
        headers=JSON,
    ),
    Case(
        "reply-body-10k",
        "POST",
        "/contact-requests/{R}/reply",
        422,
        "body: String should have at most 4000",
        json={"body": "b" * 10_000},
    ),
    Case(
        # Over the API's body limit (256 KiB by default): refused unread, before validation.
        "reply-body-1mb",
        "POST",
        "/contact-requests/{R}/reply",
        413,
        "request body is larger than",
        json={"body": "b" * 1_000_000},
    ),
    Case(
        "reply-due-2100",
        "POST",
        "/contact-requests/{R}/reply",
        422,
        "follow_up.due_on: Value error, must be between",
        json={"body": "x", "follow_up": {"assignee_employee_id": "JD", "due_on": "2100-01-01"}},
    ),
    Case(
        "reply-due-not-a-date",
        "POST",
        "/contact-requests/{R}/reply",
        422,
        "follow_up.due_on",
        json={"body": "x", "follow_up": {"assignee_employee_id": "JD", "due_on": "31/12/2026"}},
    ),
    Case(
        "follow-ups-status-unknown", "GET", "/follow-ups?status=lost", 422, "status must be one of"
    ),
    Case("follow-ups-assignee-17", "GET", "/follow-ups?assignee=" + "A" * 17, 422, "assignee"),
    Case("follow-up-id-65", "GET", "/follow-ups/" + "f" * 65, 422, "follow_up_id"),
    Case(
        "complete-unknown",
        "POST",
        "/follow-ups/no-such-follow-up/complete",
        404,
        "not found",
        json={},
    ),
    Case(
        "complete-note-10k",
        "POST",
        "/follow-ups/{F}/complete",
        422,
        "note: String should have at most 4000",
        json={"note": "n" * 10_000},
    ),
    Case(
        "reassign-no-assignee",
        "POST",
        "/follow-ups/{F}/reassign",
        422,
        "assignee_employee_id: Field required",
        json={"note": "x"},
    ),
    Case(
        "notes-unknown-memo-type",
        "POST",
        "/follow-ups/{F}/notes",
        422,
        "memo type ZZ",
        json={"note": "x", "memo_type": "ZZ"},
    ),
    Case(
        "notes-memo-type-bidi",
        "POST",
        "/follow-ups/{F}/notes",
        422,
        "memo_type",
        json={"note": "x", "memo_type": "F\u202e"},
    ),
    Case(
        "notes-next-due-1999",
        "POST",
        "/follow-ups/{F}/notes",
        422,
        "next_follow_up.due_on: Value error, must be between",
        json={
            "note": "x",
            "next_follow_up": {"assignee_employee_id": "JD", "due_on": "1999-12-31"},
        },
    ),
    Case(
        "trackers-member-letters",
        "GET",
        "/members/abc/trackers",
        422,
        "member_id must be 1-12 digits",
    ),
    Case(
        "note-without-idempotency-key",
        "POST",
        "/members/123/trackers/conversations",
        422,
        "Idempotency-Key",
        json={"tracker_type": "MS", "memo_type": "MS", "text": "x"},
    ),
    Case(
        "note-idempotency-key-tab",
        "POST",
        "/members/123/trackers/conversations",
        422,
        "Idempotency-Key must be",
        json={"tracker_type": "MS", "memo_type": "MS", "text": "x"},
        headers={"Idempotency-Key": "a\tb"},
    ),
    Case(
        "note-account-suffix-letters",
        "POST",
        "/members/123/trackers/conversations",
        422,
        "account_suffix",
        json={"tracker_type": "MS", "memo_type": "MS", "text": "x", "account_suffix": "ABC"},
        headers={"Idempotency-Key": "hostile-suffix"},
    ),
    Case(
        "note-text-nul",
        "POST",
        "/members/123/trackers/conversations",
        422,
        "must not contain NUL",
        json={"tracker_type": "MS", "memo_type": "MS", "text": "a\x00b"},
        headers={"Idempotency-Key": "hostile-nul"},
    ),
    Case(
        "note-follow-up-due-1999",
        "POST",
        "/members/123/trackers/conversations",
        422,
        "follow_up.due_on: Value error, must be between",
        json={
            "tracker_type": "MS",
            "memo_type": "MS",
            "text": "x",
            "follow_up": {"assignee_employee_id": "JD", "due_on": "1999-12-31"},
        },
        headers={"Idempotency-Key": "hostile-due"},
    ),
    Case(
        "messages-member-huge",
        "GET",
        "/members/" + "9" * 5_000 + "/messages",
        422,
        "member_id must be 1-12 digits",
    ),
    Case(
        "tier-period-month-13",
        "GET",
        f"/members/123/tier?period={BAD_PERIOD}",
        422,
        "period must be YYYY-MM",
    ),
    Case("tier-unknown-member", "GET", "/members/999999999999/tier", 404, "has no tier result"),
    Case(
        "report-to-before-from",
        "GET",
        "/reports/follow-ups?from=2026-02-01&to=2026-01-01",
        422,
        "'to' must not be before 'from'",
        caller="supervisor",
    ),
    Case(
        "report-year-zero",
        "GET",
        "/reports/follow-ups?from=0000-01-01&to=2026-01-01",
        422,
        "from:",
        caller="supervisor",
    ),
    Case(
        "report-missing-to",
        "GET",
        "/reports/follow-ups?from=2026-01-01",
        422,
        "to: Field required",
        caller="supervisor",
    ),
    Case(
        "activity-report-to-before-from",
        "GET",
        "/reports/tracker-activity?from=2026-02-01&to=2026-01-01",
        422,
        "'to' must not be before 'from'",
        caller="supervisor",
    ),
    Case(
        "activity-report-year-1999",
        "GET",
        "/reports/tracker-activity?from=1999-12-31&to=2026-01-01",
        422,
        "must be between 2000-01-01 and 2099-12-31",
        caller="supervisor",
    ),
    Case(
        "cross-sales-report-year-2100",
        "GET",
        "/reports/cross-sales?from=2026-01-01&to=2100-01-01",
        422,
        "must be between 2000-01-01 and 2099-12-31",
        caller="supervisor",
    ),
    Case(
        "cross-sales-report-not-a-date",
        "GET",
        "/reports/cross-sales?from=yesterday&to=2026-01-01",
        422,
        "from:",
        caller="supervisor",
    ),
    Case(
        "tier-run-not-json",
        "POST",
        "/tier-scoring/runs",
        422,
        'body must be {"period": "YYYY-MM"}',
        content=b"period=2026-01",
        headers=JSON,
        caller="operator",
    ),
    Case(
        "tier-run-month-13",
        "POST",
        "/tier-scoring/runs",
        422,
        'body must be {"period"',
        json={"period": BAD_PERIOD},
        no_workflow=BAD_PERIOD,
        caller="operator",
    ),
    Case(
        "tier-run-empty-body",
        "POST",
        "/tier-scoring/runs",
        422,
        'body must be {"period"',
        content=b"",
        caller="operator",
    ),
    Case(
        "tier-run-deep-nesting",
        "POST",
        "/tier-scoring/runs",
        422,
        'body must be {"period"',
        content=DEEP,
        headers=JSON,
        caller="operator",
    ),
    Case(
        "tier-run-huge-number",
        "POST",
        "/tier-scoring/runs",
        422,
        'body must be {"period"',
        json={"period": 10**40},
        caller="operator",
    ),
    Case(
        "tier-run-get-month-00",
        "GET",
        "/tier-scoring/runs/2026-00",
        422,
        "period must be YYYY-MM",
        caller="operator",
    ),
    Case(
        "tier-run-never-ran",
        "GET",
        "/tier-scoring/runs/2001-01",
        404,
        "no tier scoring run for 2001-01",
        caller="operator",
    ),
    Case("unknown-route", "GET", "/no-such-route", 404, "Not Found"),
    Case("wrong-method", "DELETE", "/contact-requests/{R}", 405, "Method Not Allowed"),
]
