"""Authentication and the access trail at the API's edge, with the store faked.

The failure throttle runs on an injected clock (no sleeping); the trail dependency writes
through a fake ``record_event``. The same behaviour on real PostgreSQL:
``tests/integration/test_access.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, cast

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI, HTTPException
from temporalio.client import Client

from contracts.platform.operations import OpsConfig
from contracts.vocabulary import Role
from workers.platform import employees
from workers.platform.audit import AuditAction, Outcome
from workers.platform.database import Sessions
from workers.platform.employees import EmployeeRecord
from workers.platform.settings import Settings
from workers.platform.web import trail as trail_module
from workers.platform.web.auth import INVALID_TOKEN, CurrentEmployee
from workers.platform.web.dependencies import DeskServices, bind
from workers.platform.web.throttle import FailureThrottle
from workers.platform.web.trail import AccessTrail, audited

pytestmark = pytest.mark.unit

GOOD = "good-token"


class FakeClock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- the throttle alone -----------------------------------------------------------------------


def test_a_source_is_blocked_after_the_limit_until_the_oldest_failure_leaves_the_window() -> None:
    clock = FakeClock()
    throttle = FailureThrottle(3, 60, clock=clock)
    for _ in range(3):
        assert throttle.retry_after("10.0.0.1") is None
        throttle.failed("10.0.0.1")
        clock.now += 10  # failures at 1000, 1010, 1020; now 1030
    assert throttle.retry_after("10.0.0.1") == 30  # the first failure leaves the window at 1060
    assert throttle.retry_after("10.0.0.2") is None  # per source
    clock.now = 1059.5
    assert throttle.retry_after("10.0.0.1") == 1  # whole seconds, rounded up
    clock.now = 1060
    assert throttle.retry_after("10.0.0.1") is None
    throttle.failed("10.0.0.1")  # 1010, 1020, 1060: blocked until 1070
    assert throttle.retry_after("10.0.0.1") == 10


def test_the_throttle_forgets_the_longest_quiet_sources_first() -> None:
    clock = FakeClock()
    throttle = FailureThrottle(1, 60, clock=clock, max_sources=2)
    for source in ("a", "b", "c"):
        throttle.failed(source)
    assert throttle.retry_after("a") is None  # forgotten: memory stays bounded
    assert throttle.retry_after("b") == 60 and throttle.retry_after("c") == 60


# --- through the authentication dependency ----------------------------------------------------


@pytest_asyncio.fixture
async def desk(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[dict[str, Any]]:
    """An app with one authenticated route and one audited route, on a fake store."""
    clock = FakeClock()
    rows: list[dict[str, Any]] = []

    async def employee_for_token(sessions: Sessions, token: str) -> EmployeeRecord | None:
        return EmployeeRecord(id="SR", name="Sarah", role=Role.EMPLOYEE) if token == GOOD else None

    async def record_event(sessions: Sessions, **row: Any) -> int:
        rows.append(row)
        return len(rows)

    monkeypatch.setattr(employees, "employee_for_token", employee_for_token)
    monkeypatch.setattr(trail_module, "record_event", record_event)
    app = FastAPI()
    bind(
        app,
        DeskServices(
            sessions=cast(Sessions, None),
            temporal=cast(Client, None),
            ops=OpsConfig(),
            settings=Settings(),
            auth_failures=FailureThrottle(3, 60, clock=clock),
        ),
    )

    @app.get("/who")
    async def who(caller: CurrentEmployee) -> str:
        return caller.employee_id

    @app.get("/members/{member_id}/read")
    async def read(
        member_id: str,
        trail: Annotated[AccessTrail, audited(AuditAction.MEMBER_MESSAGES_READ)],
    ) -> str:
        trail.about(member_id=member_id)
        if member_id == "403":
            raise HTTPException(403, detail="not yours")
        return "secret"

    transport = httpx.ASGITransport(app=app, client=("10.1.1.1", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://desk") as http:
        yield {"http": http, "clock": clock, "rows": rows, "app": app}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.asyncio
async def test_failures_answer_401_then_429_with_retry_after(desk: dict[str, Any]) -> None:
    http: httpx.AsyncClient = desk["http"]
    answers = [await http.get("/who", headers=bearer(f"guess-{n}")) for n in range(3)]
    assert [a.status_code for a in answers] == [401, 401, 401]
    assert {a.json()["detail"] for a in answers} == {INVALID_TOKEN}
    assert all("guess" not in a.text for a in answers)  # the token is never echoed
    blocked = await http.get("/who", headers=bearer("guess-4"))
    assert blocked.status_code == 429 and blocked.headers["Retry-After"] == "60"
    # Blocked means blocked: a valid token from that address waits too (no oracle).
    assert (await http.get("/who", headers=bearer(GOOD))).status_code == 429
    desk["clock"].now += 60
    assert (await http.get("/who", headers=bearer(GOOD))).status_code == 200


@pytest.mark.asyncio
async def test_successes_and_missing_tokens_are_never_counted(desk: dict[str, Any]) -> None:
    http: httpx.AsyncClient = desk["http"]
    for _ in range(20):
        assert (await http.get("/who", headers=bearer(GOOD))).status_code == 200
        missing = await http.get("/who")
        assert missing.status_code == 401 and missing.json()["detail"] == "missing bearer token"
    assert (await http.get("/who", headers=bearer("guess"))).status_code == 401


@pytest.mark.asyncio
async def test_other_addresses_are_not_held_up_by_one_that_failed(
    desk: dict[str, Any],
) -> None:
    http: httpx.AsyncClient = desk["http"]
    for n in range(4):
        await http.get("/who", headers=bearer(f"guess-{n}"))
    other = httpx.ASGITransport(app=desk["app"], client=("10.2.2.2", 4000))
    async with httpx.AsyncClient(transport=other, base_url="http://desk") as elsewhere:
        assert (await elsewhere.get("/who", headers=bearer(GOOD))).status_code == 200


# --- the access trail dependency --------------------------------------------------------------


@pytest.mark.asyncio
async def test_an_answered_read_writes_one_allowed_row(desk: dict[str, Any]) -> None:
    response = await desk["http"].get("/members/123456/read", headers=bearer(GOOD))
    assert response.status_code == 200
    assert desk["rows"] == [
        {
            "employee_id": "SR",
            "action": AuditAction.MEMBER_MESSAGES_READ,
            "status": 200,
            "member_id": "123456",
            "record_id": None,
            "client_address": "10.1.1.1",
        }
    ]


@pytest.mark.asyncio
async def test_a_refused_read_writes_one_row_with_its_status(desk: dict[str, Any]) -> None:
    response = await desk["http"].get("/members/403/read", headers=bearer(GOOD))
    assert response.status_code == 403
    [row] = desk["rows"]
    assert (row["status"], row["member_id"]) == (403, "403")
    assert Outcome.of(row["status"]) is Outcome.DENIED


@pytest.mark.asyncio
async def test_an_unauthenticated_call_writes_no_row(desk: dict[str, Any]) -> None:
    response = await desk["http"].get("/members/1/read", headers=bearer("guess"))
    assert response.status_code == 401
    assert desk["rows"] == []


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.ALLOWED),
        (401, Outcome.DENIED),
        (403, Outcome.DENIED),
        (404, Outcome.FAILED),
        (409, Outcome.FAILED),
        (422, Outcome.FAILED),
        (503, Outcome.FAILED),
    ],
)
def test_outcome_of_a_status(status: int, outcome: Outcome) -> None:
    assert Outcome.of(status) is outcome
