"""Hostile requests on every desk route, on real servers: each answers a 4xx with a readable
``detail`` and changes nothing (the request, the follow-up, both members' Trackers and messages
read the same before and after, and no workflow is started).

Covered elsewhere (not repeated here):

| case | test |
|---|---|
| missing / unknown bearer token (GET) | tests/integration/test_desk_api.py::test_missing_or_invalid_token_is_401 |
| unknown request on claim | tests/integration/test_desk_api.py::test_unknown_request_is_404 |
| reply: missing/empty body, extra field, NUL, due 9999 | tests/integration/test_desk_api.py::test_invalid_reply_bodies_are_422_with_a_readable_detail |
| unknown assignee on reply / reassign | tests/integration/test_desk_api.py (unknown_assignee, reassign) |
| queue: unknown state or department | tests/integration/test_desk_api.py::test_bad_queue_filters_are_422 |
| NUL in follow-up notes, NUL in path ids | tests/integration/test_desk_failures.py |
"""  # noqa: E501

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from contracts.ids import tier_scoring_workflow_id
from tests.hostile.checks import new_member, workflow_exists
from tests.hostile.http_cases import CASES, Case
from tests.integration.conftest import RunningApp, running_app
from tests.integration.test_bridge import wait_for
from tests.kafka_helpers import contact_event, encoded, produce
from workers.app.api import create_app
from workers.platform.employees import add_employee
from workers.platform.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

LOANS = ["LOANS"]

BIDI = "We unblocked \u202egnp.exe\u202c your card\x07\x1b[0m\ttab"
"""A right-to-left override and other control characters: allowed, so kept as sent."""


@dataclass
class Desk:
    """An in-process API on real servers, with a queued request and an open follow-up."""

    app: RunningApp
    http: httpx.AsyncClient
    """Authenticated as the module's employee."""
    bare: httpx.AsyncClient
    """No default headers: each hostile case sends its own."""
    token: str
    request_id: str
    follow_up_id: str
    members: tuple[str, str]
    role_tokens: dict[str, str]
    """A token per role (``Case.caller``): reports are a supervisor's, tier runs an operator's."""


async def _submit(app: RunningApp, http: httpx.AsyncClient, member_id: str) -> str:
    event = contact_event(member_id=member_id)
    request_id: str = event["data"]["request_id"]
    await produce(app.bootstrap, app.topics.contact_requests, [(b"m", encoded(event))])

    async def listed() -> bool:
        return (await http.get(f"/contact-requests/{request_id}")).status_code == 200

    await wait_for(listed, what=f"request {request_id}")
    return request_id


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def desk(base_settings: Settings, postgres_url: str) -> AsyncIterator[Desk]:
    """Worker and bridge on real servers, the API in process, two employees of its own."""
    async with running_app(base_settings, postgres_url=postgres_url) as app:
        suffix = f"{random.getrandbits(24):06x}"
        sessions = app.services.session_factory
        # LOANS: the department of the requests submitted here (contact_event's default).
        token = await add_employee(sessions, f"HA{suffix}", "Ann", "employee", departments=LOANS)
        await add_employee(sessions, f"HB{suffix}", "Bob", "employee", departments=LOANS)
        role_tokens = {
            "employee": token,
            "supervisor": await add_employee(sessions, f"HS{suffix}", "Sue", "supervisor"),
            "operator": await add_employee(sessions, f"HO{suffix}", "Otto", "operator"),
        }
        async with (
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=create_app(app.services)),
                base_url="http://desk/api/v1",
                headers={"Authorization": f"Bearer {token}"},
            ) as http,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=create_app(app.services)),
                base_url="http://desk/api/v1",
            ) as bare,
        ):
            members = new_member(), new_member()
            answered = await _submit(app, http, members[0])
            due = (date.today() + timedelta(days=3)).isoformat()
            # Ann's own follow-up: the hostile cases act on it as its assignee.
            follow_up = {"assignee_employee_id": f"HA{suffix}", "due_on": due}
            reply = await http.post(
                f"/contact-requests/{answered}/reply", json={"body": "Hi", "follow_up": follow_up}
            )
            assert reply.status_code == 200, reply.text
            queued = await _submit(app, http, members[1])
            follow_up_id = reply.json()["follow_up_id"]
            yield Desk(app, http, bare, token, queued, follow_up_id, members, role_tokens)


async def _world(desk: Desk) -> list[Any]:
    """Everything a hostile request could have changed, as the desk reads it."""
    reads = [f"/contact-requests/{desk.request_id}", f"/follow-ups/{desk.follow_up_id}"]
    for member in desk.members:
        reads += [f"/members/{member}/trackers", f"/members/{member}/messages"]
    answers = await asyncio.gather(*(desk.http.get(path) for path in reads))
    assert all(a.status_code == 200 for a in answers)
    return [a.json() for a in answers]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_hostile_request_is_refused_and_changes_nothing(desk: Desk, case: Case) -> None:
    before = await _world(desk)
    path = case.path.replace("{R}", desk.request_id).replace("{F}", desk.follow_up_id)
    token = desk.role_tokens[case.caller]
    headers = {} if case.anonymous else {"Authorization": f"Bearer {token}"}
    headers.update(case.headers)
    response = await desk.bare.request(
        case.method, path, json=case.json, content=case.content, headers=headers
    )
    assert response.status_code == case.status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and case.detail in detail
    assert len(detail) < 1_000  # readable: names the field, never echoes a huge value
    assert await _world(desk) == before
    if case.no_workflow:
        temporal = desk.app.services.temporal
        assert not await workflow_exists(temporal, tier_scoring_workflow_id(case.no_workflow))


async def test_a_reply_with_bidi_and_control_characters_is_kept_intact(desk: Desk) -> None:
    member = new_member()
    request_id = await _submit(desk.app, desk.http, member)
    answer = await desk.http.post(f"/contact-requests/{request_id}/reply", json={"body": BIDI})
    assert answer.status_code == 200, answer.text
    messages = (await desk.http.get(f"/members/{member}/messages")).json()["items"]
    assert [m["body"] for m in messages] == [BIDI]


async def test_a_second_reply_with_other_content_is_refused_and_not_stored(desk: Desk) -> None:
    """Two replies to one request: the first is stored, the second answers 409 and stores
    nothing (no second message, no second Tracker conversation)."""
    member = new_member()
    request_id = await _submit(desk.app, desk.http, member)
    first = await desk.http.post(f"/contact-requests/{request_id}/reply", json={"body": "One"})
    assert first.status_code == 200, first.text
    trackers = (await desk.http.get(f"/members/{member}/trackers")).json()
    second = await desk.http.post(f"/contact-requests/{request_id}/reply", json={"body": "Two"})
    assert second.status_code == 409
    assert "already replied" in second.json()["detail"]
    messages = (await desk.http.get(f"/members/{member}/messages")).json()["items"]
    assert [m["body"] for m in messages] == ["One"]
    assert (await desk.http.get(f"/members/{member}/trackers")).json() == trackers
