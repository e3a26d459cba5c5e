"""The authorisation matrix: every route, every role, every case of the table, on the real stack.

The expectations come from the table as data (``RULES``: route, role, case → allowed or not,
read cell by cell with ``Rule.allows``); what is checked is the live API, given records built
here so that each case holds (a request of the caller's department, one claimed by their report,
a follow-up of a colleague...). The API never sees a case name: it works the relations out from
the employee directory itself, so a wrong relation, a missing check or a check on the wrong role
answers another status here. Spot checks below spell the most important rules out by hand.

Runs a worker and the bridge (requests arrive on Kafka like any other), and the API in process.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from contracts.contacts.workflow import EmployeeAction
from contracts.ids import contact_request_workflow_id, follow_up_workflow_id
from contracts.platform.permissions import RULES
from contracts.vocabulary import Role
from tests.hostile.checks import workflow_exists
from tests.integration.conftest import running_app
from tests.integration.permission_world import (
    MINE,
    THEIRS,
    Cast,
    Desk,
    World,
    bounded,
    cases,
    plan,
    set_roles,
    tier_records,
)
from workers.app.api import API_PREFIX, create_app
from workers.platform.employees import add_employee
from workers.platform.settings import Settings
from workflows.contacts.contact_request import ContactRequestWorkflow

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def desk(base_settings: Settings, postgres_url: str) -> AsyncIterator[Desk]:
    """Worker and bridge on real servers, the API in process, the cast with tokens."""
    async with running_app(base_settings, postgres_url=postgres_url) as app:
        sessions = app.services.session_factory
        tag = f"{random.getrandbits(20):05x}"
        caller = {role: f"C{role.value[0].upper()}{tag}" for role in Role}
        report = {role: f"R{role.value[0].upper()}{tag}" for role in Role}
        peer, outsider = f"P{tag}", f"X{tag}"
        tokens = {}
        for role in Role:
            tokens[caller[role]] = await add_employee(
                sessions, caller[role], f"Caller {role}", role.value, departments=[MINE]
            )
            tokens[report[role]] = await add_employee(
                sessions, report[role], "Report", "employee", caller[role], departments=[THEIRS]
            )
        tokens[peer] = await add_employee(sessions, peer, "Peer", "employee", departments=[MINE])
        tokens[outsider] = await add_employee(
            sessions, outsider, "Outsider", "employee", departments=[THEIRS]
        )
        member = str(random.randint(10**10, 10**11 - 1))
        cast = Cast(caller, report, peer, outsider, tokens, member)
        await tier_records(app, member)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(app.services)),
            base_url=f"http://desk{API_PREFIX}",
        ) as http:
            yield Desk(app, http, cast, app.services.ops)


# --- the matrix ----------------------------------------------------------------------------------


async def test_the_table_covers_every_route_of_the_app(desk: Desk) -> None:
    """Every route the app serves has a rule, and every rule a route: the matrix is complete.

    Read from the app's OpenAPI document (every route it serves under ``/api/v1``).
    """
    document = create_app(desk.app.services).openapi()
    served = {
        (method.upper(), path.removeprefix(API_PREFIX))
        for path, operations in document["paths"].items()
        if path.startswith(API_PREFIX)
        for method in operations
    }
    assert served == {(rule.method, rule.path) for rule in RULES}


async def test_every_route_every_role_every_case(desk: Desk) -> None:
    matrix = cases()
    world = World(desk.app, desk.http, desk.cast, desk.ops)
    for case in matrix:
        await plan(world, case)
    # Operators and admins never hold a claim: to build "their own claim", they work as
    # employees while the claims are made (the directory is read at each call), then not.
    unprivileged = [desk.cast.caller[Role.OPERATOR], desk.cast.caller[Role.ADMIN]]
    await set_roles(desk.app, dict.fromkeys(unprivileged, Role.EMPLOYEE))
    try:
        await world.publish()
    finally:
        await set_roles(desk.app, {unprivileged[0]: Role.OPERATOR, unprivileged[1]: Role.ADMIN})

    answers = await bounded([desk.call(c, desk.cast.caller[c.role]) for c in matrix])
    unexpected = [
        f"{c.name}: {a.status_code} (expected {c.expected}) {a.text[:160]}"
        for c, a in zip(matrix, answers, strict=True)
        if a.status_code != c.expected
    ]
    routes = len(RULES)
    per_route = sum(len(rule.relations) for rule in RULES)
    print(
        f"\nauthorisation matrix: {routes} routes x {len(Role)} roles, {per_route} route-cases "
        f"-> {len(matrix)} calls ({sum(c.expected == 200 for c in matrix)} allowed, "
        f"{sum(c.expected == 403 for c in matrix)} refused); unexpected: {len(unexpected)}"
    )
    assert len(matrix) == per_route * len(Role)
    assert not unexpected, "\n".join(unexpected)
    refused = [a for c, a in zip(matrix, answers, strict=True) if c.expected == 403]
    assert all("may not" in a.json()["detail"] for a in refused)


# --- spot checks, by hand --------------------------------------------------------------------


def _as(desk: Desk, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {desk.cast.tokens[desk.cast.caller[role]]}"}


async def test_an_employee_cannot_take_a_colleagues_follow_up_by_reassigning_it(desk: Desk) -> None:
    world = World(desk.app, desk.http, desk.cast, desk.ops)
    follow_up_id = await world.follow_up(desk.cast.peer)
    me = desk.cast.caller[Role.EMPLOYEE]
    headers = _as(desk, Role.EMPLOYEE)
    path = f"/follow-ups/{follow_up_id}"
    taken = await desk.http.post(
        f"{path}/reassign", json={"assignee_employee_id": me}, headers=headers
    )
    assert taken.status_code == 403, taken.text
    done = await desk.http.post(f"{path}/complete", json={}, headers=headers)
    assert done.status_code == 403, done.text
    # Straight to Temporal, claiming to be a supervisor: the workflow asks the directory.
    handle = desk.app.services.temporal.get_workflow_handle(follow_up_workflow_id(follow_up_id))
    with pytest.raises(WorkflowUpdateFailedError) as forged:
        await handle.execute_update(
            "complete", {"employee_id": me, "role": "supervisor", "note": None}
        )
    assert isinstance(forged.value.cause, ApplicationError)
    assert forged.value.cause.type == "Forbidden"
    after = (await desk.http.get(path, headers=headers)).json()
    assert (after["assignee_employee_id"], after["status"]) == (desk.cast.peer, "outstanding")


async def test_an_employee_cannot_start_a_tier_run(desk: Desk) -> None:
    period = "2087-09"
    for role in (Role.EMPLOYEE, Role.SUPERVISOR, Role.ADMIN):
        refused = await desk.http.post(
            "/tier-scoring/runs", json={"period": period}, headers=_as(desk, role)
        )
        assert refused.status_code == 403, refused.text
        assert "may not start tier scoring runs; allowed: operator" in refused.json()["detail"]
    workflow_id = f"tier-scoring-{period}"
    assert not await workflow_exists(desk.app.services.temporal, workflow_id)


async def test_an_employee_cannot_see_another_departments_request(desk: Desk) -> None:
    world = World(desk.app, desk.http, desk.cast, desk.ops)
    theirs, none = world.request(THEIRS), world.request(None)
    await world.publish()
    headers = _as(desk, Role.EMPLOYEE)
    assert (await desk.http.get(f"/contact-requests/{theirs}", headers=headers)).status_code == 403
    claim = await desk.http.post(f"/contact-requests/{theirs}/claim", headers=headers)
    assert claim.status_code == 403
    listed = await desk.http.get("/contact-requests", headers=headers)
    ids = {r["request_id"] for r in listed.json()["items"]}
    assert none in ids and theirs not in ids
    # The outsider works CARDS: the request is in their queue.
    outsider = {"Authorization": f"Bearer {desk.cast.tokens[desk.cast.outsider]}"}
    theirs_listed = await desk.http.get("/contact-requests", headers=outsider)
    assert theirs in {r["request_id"] for r in theirs_listed.json()["items"]}


async def test_a_forged_role_in_an_update_is_refused_by_the_workflow(desk: Desk) -> None:
    world = World(desk.app, desk.http, desk.cast, desk.ops)
    request_id = world.request(MINE, claimed_by=desk.cast.peer)
    await world.publish()
    handle = desk.app.services.temporal.get_workflow_handle(contact_request_workflow_id(request_id))
    me = desk.cast.caller[Role.EMPLOYEE]
    with pytest.raises(WorkflowUpdateFailedError) as forged:
        await handle.execute_update(
            ContactRequestWorkflow.release, EmployeeAction(employee_id=me, role=Role.SUPERVISOR)
        )
    assert isinstance(forged.value.cause, ApplicationError)
    assert forged.value.cause.type == "Forbidden"
    assert f"{me} (employee) may not release" in forged.value.cause.message
    view = await handle.query(ContactRequestWorkflow.view)
    assert view.claimed_by == desk.cast.peer
