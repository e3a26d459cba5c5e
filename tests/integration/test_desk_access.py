"""The desk API's access control on real servers: tokens that stopped working, failed
authentications per address, an access-trail row for every audited route, ``GET /audit``."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from deploy.processes import free_port
from tests.integration.conftest import RunningApp, running_app, submitted
from workers.app.api import create_app
from workers.app.demo.desk_client import DeskClient
from workers.platform import credentials
from workers.platform.audit import AuditAction, AuditEvent, list_events, record_event
from workers.platform.database import Sessions
from workers.platform.employees import add_employee
from workers.platform.settings import Settings
from workers.platform.web.auth import INVALID_TOKEN

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

MESSAGE = "Could someone call me about my car loan payoff?"
REPLY = "We will call you tomorrow morning."
NOTE = "Left a voicemail for the member."


def new_id(prefix: str) -> str:
    """An employee id no other test uses."""
    return f"{prefix}{random.getrandbits(28):07x}"


def new_member() -> str:
    """A member no other test writes for."""
    return str(random.randint(10**9, 10**10 - 1))


@dataclass
class Desk:
    """The running API, its employees (boss supervises clerk and other; ops runs tier scoring)
    and their tokens."""

    app: RunningApp
    base: str
    tokens: dict[str, str]
    ids: dict[str, str]
    clerk: DeskClient

    @property
    def sessions(self) -> Sessions:
        """The store."""
        return self.app.services.session_factory

    async def call(
        self,
        who: str,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        """``method /api/v1{path}`` as ``who`` (``boss``, ``clerk`` or ``other``)."""
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        async with httpx.AsyncClient(base_url=f"{self.base}/api/v1", timeout=30) as http:
            return await http.request(method, path, json=body, params=params, headers=headers)


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def desk(base_settings: Settings, postgres_url: str) -> AsyncIterator[Desk]:
    """Worker, bridge and API, with three employees of this module's own."""
    port = free_port()
    async with running_app(
        base_settings, postgres_url=postgres_url, parts=("worker", "bridge", "api"), api_port=port
    ) as app:
        sessions = app.services.session_factory
        ids = {"boss": new_id("B"), "clerk": new_id("C"), "other": new_id("O")}
        tokens = {"boss": await add_employee(sessions, ids["boss"], "Boss", "supervisor")}
        for who in ("clerk", "other"):
            tokens[who] = await add_employee(sessions, ids[who], who, "employee", ids["boss"])
        ids["ops"] = new_id("P")
        tokens["ops"] = await add_employee(sessions, ids["ops"], "Ops", "operator")
        base = f"http://127.0.0.1:{port}"
        clerk = DeskClient(base, tokens["clerk"])
        yield Desk(app, base, tokens, ids, clerk)
        await clerk.close()


# --- tokens that no longer work ---------------------------------------------------------------


async def test_expired_revoked_and_disabled_tokens_are_401_alike(desk: Desk) -> None:
    sessions, past = desk.sessions, datetime.now(UTC) - timedelta(days=2)
    expired = await add_employee(sessions, new_id("X"), "Expired", "employee", now=past)
    revoked_id, disabled_id = new_id("R"), new_id("D")
    revoked = await add_employee(sessions, revoked_id, "Revoked", "employee")
    await credentials.revoke_employee_tokens(sessions, revoked_id)
    disabled = await add_employee(sessions, disabled_id, "Disabled", "employee")
    await credentials.disable_employee(sessions, disabled_id)
    async with httpx.AsyncClient(base_url=f"{desk.base}/api/v1") as http:
        for token in (expired, revoked, disabled, "never-issued"):
            answer = await http.get("/follow-ups", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 401
            assert answer.json() == {"detail": INVALID_TOKEN}
            assert answer.headers["WWW-Authenticate"] == "Bearer"
            assert token not in answer.text


async def test_failed_authentications_from_one_address_are_429(desk: Desk) -> None:
    settings = desk.app.settings.model_copy(update={"auth_failure_limit": 3})
    api = create_app(replace(desk.app.services, settings=settings))

    def client(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=api, client=(address, 5000))
        return httpx.AsyncClient(transport=transport, base_url="http://desk/api/v1")

    good = {"Authorization": f"Bearer {desk.tokens['clerk']}"}
    async with client("192.0.2.7") as guesser, client("192.0.2.8") as colleague:
        for _ in range(5):  # successes never count
            assert (await guesser.get("/follow-ups", headers=good)).status_code == 200
        for n in range(3):
            bad = {"Authorization": f"Bearer guess-{n}"}
            assert (await guesser.get("/follow-ups", headers=bad)).status_code == 401
        blocked = await guesser.get("/follow-ups", headers={"Authorization": "Bearer guess-3"})
        assert blocked.status_code == 429
        assert 1 <= int(blocked.headers["Retry-After"]) <= 60
        assert "too many failed authentications" in blocked.json()["detail"]
        assert (await guesser.get("/follow-ups", headers=good)).status_code == 429
        assert (await colleague.get("/follow-ups", headers=good)).status_code == 200


# --- one access-trail row per audited call ----------------------------------------------------


@dataclass
class Call:
    """One audited call: who makes it, what, and the row it must leave."""

    who: str
    method: str
    path: str
    body: dict[str, Any] | None
    status: int
    member_id: str | None
    record_id: str | None


async def queued(desk: Desk) -> tuple[str, str]:
    """A new request without a department (every employee's to work); request and member id."""
    member = new_member()
    request_id = await submitted(desk.app, desk.clerk, member_id=member, department=None)
    return request_id, member


async def follow_up(desk: Desk) -> tuple[str, str]:
    """A follow-up of the clerk's on a new member; its id and the member id."""
    request_id, member = await queued(desk)
    due = (date.today() + timedelta(days=3)).isoformat()
    answer = await desk.clerk.reply(
        request_id,
        {"body": REPLY, "follow_up": {"assignee_employee_id": desk.ids["clerk"], "due_on": due}},
    )
    follow_up_id: str = answer["follow_up_id"]
    return follow_up_id, member


async def read_request(desk: Desk) -> Call:
    rid, member = await queued(desk)
    return Call("clerk", "GET", f"/contact-requests/{rid}", None, 200, member, rid)


async def claim(desk: Desk) -> Call:
    rid, member = await queued(desk)
    return Call("clerk", "POST", f"/contact-requests/{rid}/claim", None, 200, member, rid)


async def release(desk: Desk) -> Call:
    rid, member = await queued(desk)
    await desk.clerk.claim(rid)
    return Call("clerk", "POST", f"/contact-requests/{rid}/release", None, 200, member, rid)


async def release_denied(desk: Desk) -> Call:
    rid, member = await queued(desk)
    await desk.clerk.claim(rid)
    return Call("other", "POST", f"/contact-requests/{rid}/release", None, 403, member, rid)


async def reply(desk: Desk) -> Call:
    rid, member = await queued(desk)
    body = {"body": REPLY}
    return Call("clerk", "POST", f"/contact-requests/{rid}/reply", body, 200, member, rid)


async def delete(desk: Desk) -> Call:
    rid, member = await queued(desk)
    await desk.clerk.claim(rid)  # deleting needs a claim (or a supervisor)
    return Call("clerk", "POST", f"/contact-requests/{rid}/delete", None, 200, member, rid)


async def read_follow_up(desk: Desk) -> Call:
    fid, member = await follow_up(desk)
    return Call("clerk", "GET", f"/follow-ups/{fid}", None, 200, member, fid)


async def complete(desk: Desk) -> Call:
    fid, member = await follow_up(desk)
    body = {"note": NOTE}
    return Call("clerk", "POST", f"/follow-ups/{fid}/complete", body, 200, member, fid)


async def reassign(desk: Desk) -> Call:
    fid, member = await follow_up(desk)
    body = {"assignee_employee_id": desk.ids["other"], "note": NOTE}
    return Call("clerk", "POST", f"/follow-ups/{fid}/reassign", body, 200, member, fid)


async def note(desk: Desk) -> Call:
    fid, member = await follow_up(desk)
    return Call("clerk", "POST", f"/follow-ups/{fid}/notes", {"note": NOTE}, 200, member, fid)


async def trackers(desk: Desk) -> Call:
    _, member = await follow_up(desk)
    return Call("clerk", "GET", f"/members/{member}/trackers", None, 200, member, None)


async def messages(desk: Desk) -> Call:
    _, member = await follow_up(desk)
    return Call("clerk", "GET", f"/members/{member}/messages", None, 200, member, None)


async def tier(desk: Desk) -> Call:
    member = new_member()  # never scored: the read is still recorded, as a 404
    return Call("clerk", "GET", f"/members/{member}/tier", None, 404, member, None)


async def tier_run(desk: Desk) -> Call:
    # A body the route refuses: recorded without starting a run (one would publish events).
    return Call("ops", "POST", "/tier-scoring/runs", {"period": "2031-13"}, 422, None, None)


CASES: dict[AuditAction, Callable[[Desk], Awaitable[Call]]] = {
    AuditAction.CONTACT_REQUEST_READ: read_request,
    AuditAction.CONTACT_REQUEST_CLAIM: claim,
    AuditAction.CONTACT_REQUEST_RELEASE: release,
    AuditAction.CONTACT_REQUEST_REPLY: reply,
    AuditAction.CONTACT_REQUEST_DELETE: delete,
    AuditAction.FOLLOW_UP_READ: read_follow_up,
    AuditAction.FOLLOW_UP_COMPLETE: complete,
    AuditAction.FOLLOW_UP_REASSIGN: reassign,
    AuditAction.FOLLOW_UP_NOTE: note,
    AuditAction.MEMBER_TRACKERS_READ: trackers,
    AuditAction.MEMBER_MESSAGES_READ: messages,
    AuditAction.MEMBER_TIER_READ: tier,
    AuditAction.TIER_RUN_START: tier_run,
}


@pytest.mark.parametrize(
    ("action", "prepare"),
    [*CASES.items(), (AuditAction.CONTACT_REQUEST_RELEASE, release_denied)],
    ids=[*(a.value for a in CASES), "contact-request.release-denied"],
)
async def test_every_audited_call_writes_one_row_of_ids(
    desk: Desk, action: AuditAction, prepare: Callable[[Desk], Awaitable[Call]]
) -> None:
    call = await prepare(desk)
    employee = desk.ids[call.who]
    newest = await list_events(desk.sessions, limit=1)
    after = newest[0].id if newest else 0
    answer = await desk.call(call.who, call.method, call.path, call.body)
    assert answer.status_code == call.status, answer.text
    rows = [
        e
        for e in await list_events(desk.sessions, employee_id=employee, limit=50)
        if e.id > after and e.action == action
    ]
    assert [(r.member_id, r.record_id, r.status, r.client_address) for r in rows] == [
        (call.member_id, call.record_id, call.status, "127.0.0.1")
    ]
    expected = {200: "allowed", 403: "denied"}.get(call.status, "failed")
    assert rows[0].outcome == expected
    stored = rows[0].model_dump_json()
    assert all(text not in stored for text in (MESSAGE, REPLY, NOTE))


# --- GET /audit -------------------------------------------------------------------------------


T0 = datetime(2031, 4, 5, 9, 0, tzinfo=UTC)


async def trail(desk: Desk) -> tuple[str, list[int]]:
    """Four rows for a new member, an hour apart from T0, by the clerk and the other."""
    member, ids = new_member(), []
    for hour, who in enumerate(("clerk", "other", "clerk", "other")):
        ids.append(
            await record_event(
                desk.sessions,
                employee_id=desk.ids[who],
                action=AuditAction.MEMBER_MESSAGES_READ,
                status=200,
                member_id=member,
                at=T0 + timedelta(hours=hour),
            )
        )
    return member, ids


async def audit(desk: Desk, who: str = "boss", **params: str) -> httpx.Response:
    return await desk.call(who, "GET", "/audit", params=params)


def item_ids(answer: httpx.Response) -> list[int]:
    assert answer.status_code == 200, answer.text
    return [AuditEvent.model_validate(i).id for i in answer.json()["items"]]


async def test_audit_filters_and_pages_newest_first_for_supervisors(desk: Desk) -> None:
    member, ids = await trail(desk)
    assert item_ids(await audit(desk, member_id=member)) == ids[::-1]
    clerk = await audit(desk, member_id=member, employee_id=desk.ids["clerk"])
    assert item_ids(clerk) == [ids[2], ids[0]]
    window = {"from": (T0 + timedelta(hours=1)).isoformat(), "to": "2031-04-05T11:00:00"}
    assert item_ids(await audit(desk, member_id=member, **window)) == [ids[2], ids[1]]
    first = await audit(desk, member_id=member, limit="3")
    cursor = first.json()["next_cursor"]
    assert item_ids(first) == [ids[3], ids[2], ids[1]] and cursor == str(ids[1])
    rest = await audit(desk, member_id=member, limit="3", cursor=cursor)
    assert item_ids(rest) == [ids[0]] and rest.json()["next_cursor"] is None
    # The supervisor's reading is on the trail too (without a member: it read no member data).
    mine = await list_events(desk.sessions, employee_id=desk.ids["boss"])
    assert {(e.action, e.status, e.member_id) for e in mine} >= {("audit.read", 200, None)}


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"from": "2031-04-05T10:00:00Z", "to": "2031-04-05T09:00:00Z"}, "'to' must not be"),
        ({"member_id": "12ab"}, "member_id"),
        ({"cursor": "next"}, "cursor"),
        ({"limit": "0"}, "limit"),
        ({"from": "yesterday"}, "from"),
        ({"from": "0001-01-01T00:00:00+14:00"}, "must be between 2000-01-01 and 2099-12-31"),
    ],
    ids=[
        "to-before-from",
        "member-id-pattern",
        "cursor-not-a-number",
        "limit-0",
        "from-not-a-time",
        "from-year-1",
    ],
)
async def test_audit_query_is_validated(desk: Desk, params: dict[str, str], fragment: str) -> None:
    answer = await audit(desk, **params)
    assert answer.status_code == 422 and fragment in answer.json()["detail"]


async def test_audit_is_403_for_an_employee_and_the_attempt_is_recorded(desk: Desk) -> None:
    member, _ = await trail(desk)
    newest = await list_events(desk.sessions, limit=1)
    answer = await audit(desk, "clerk", member_id=member)
    assert answer.status_code == 403
    assert "access trail" in answer.json()["detail"]
    attempts = await list_events(desk.sessions, employee_id=desk.ids["clerk"], limit=20)
    assert [(e.action, e.status, e.outcome) for e in attempts if e.id > newest[0].id] == [
        ("audit.read", 403, "denied")
    ]
