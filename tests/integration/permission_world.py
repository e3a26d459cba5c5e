"""The cast, the records and the cells of the authorisation matrix
(``test_permissions_matrix.py``): who calls, what each case is about, and how it is built.

The expectations are the table's cells (``Rule.allows``); this module only builds, for each
cell, a record that stands in that relation to the caller (a request of their department, one
claimed by their report, a colleague's follow-up...). The API is never told the case.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from contracts.ids import follow_up_workflow_id
from contracts.platform.operations import OpsConfig
from contracts.platform.permissions import RULES, Action, Relation, Rule
from contracts.trackers.follow_ups import FollowUpInput
from contracts.trackers.mass import MassTrackerSpec
from contracts.trackers.purge import PurgeCriteria
from contracts.vocabulary import Role
from tests.integration.conftest import RunningApp, new_follow_up
from tests.kafka_helpers import contact_event, encoded, produce
from workers.contacts import contact_store as contacts
from workers.trackers import tracker_store as trackers
from workers.trackers.mass_batches import submit_batch
from workers.trackers.purge_store import verify_purge
from workflows.trackers.follow_up import FollowUpWorkflow

MINE, THEIRS = "LOANS", "CARDS"
"""The callers' department, and one that is not theirs."""
TIER_PERIOD = "2087-07"
"""A period with a stored run (GET) and the one an operator starts (POST): no test uses them."""
STARTED_PERIOD = "2087-08"


@dataclass
class Cast:
    """Employees of this module (ids of their own in the shared database) and their tokens.

    Per role one caller (department LOANS) and one report of theirs (CARDS only, so the report
    shares no department with them); a colleague in LOANS who reports to no one; an outsider in
    CARDS who reports to no one.
    """

    caller: dict[Role, str]
    report: dict[Role, str]
    peer: str
    outsider: str
    tokens: dict[str, str]
    member: str


@dataclass
class Case:
    """One cell of the table: a route, a caller's role, a case; the status the API must give."""

    rule: Rule
    role: Role
    relation: Relation
    expected: int
    path: str = ""
    body: dict[str, Any] | None = None
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """``POST /follow-ups/{follow_up_id}/complete as employee, case report``."""
        return f"{self.rule.method} {self.rule.path} as {self.role}, case {self.relation}"


def cases() -> list[Case]:
    """Every cell of the table, expected 200 where it says yes and 403 where it says no."""
    return [
        Case(rule, role, relation, 200 if rule.allows(role, relation) else 403)
        for rule in RULES
        for role in Role
        for relation in rule.relations
    ]


# --- building what each case is about ----------------------------------------------------------


class World:
    """Builds requests, claims and follow-ups on the running app."""

    def __init__(self, app: RunningApp, http: httpx.AsyncClient, cast: Cast, ops: OpsConfig):
        """Bind to the app, the in-process API client and the cast."""
        self.app, self.http, self.cast, self.ops = app, http, cast, ops
        self.sessions = app.services.session_factory
        self._pending: list[tuple[str, str | None]] = []
        self._claims: list[tuple[str, str]] = []

    def request(self, department: str | None, claimed_by: str | None = None) -> str:
        """A request (published later, in one batch), claimed by someone if asked."""
        request_id = f"pm-{uuid.uuid4().hex[:12]}"
        self._pending.append((request_id, department))
        if claimed_by is not None:
            self._claims.append((request_id, claimed_by))
        return request_id

    async def publish(self) -> None:
        """Publish every request at once, wait until each is stored, then make the claims."""
        records: list[tuple[bytes | None, bytes]] = [
            (b"m", encoded(contact_event(request_id=rid, member_id=self.cast.member, department=d)))
            for rid, d in self._pending
        ]
        await produce(self.app.bootstrap, self.app.topics.contact_requests, records)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        waiting = {rid for rid, _ in self._pending}
        while waiting:
            assert loop.time() < deadline, f"{len(waiting)} requests never reached the queue"
            stored = await asyncio.gather(
                *(contacts.get_contact_request(self.sessions, rid) for rid in waiting)
            )
            waiting = {r for r, s in zip(waiting, stored, strict=True) if s is None}
            await asyncio.sleep(0.2)
        await bounded([self._claim(rid, who) for rid, who in self._claims])

    async def _claim(self, request_id: str, employee_id: str) -> None:
        headers = {"Authorization": f"Bearer {self.cast.tokens[employee_id]}"}
        response = await self.http.post(f"/contact-requests/{request_id}/claim", headers=headers)
        assert response.status_code == 200, response.text

    async def follow_up(self, assignee: str, *, sales: bool = False) -> str:
        """An outstanding follow-up assigned to ``assignee``, with its workflow running; with
        ``sales``, a sales lead (on a Sales Tracker note)."""
        today = date.today()
        record = await new_follow_up(
            self.sessions,
            self.ops,
            assignee=assignee,
            due_on=today + timedelta(days=5),
            today=today,
            sales=sales,
        )
        await self.app.services.temporal.start_workflow(
            FollowUpWorkflow.run,
            FollowUpInput(
                follow_up_id=record.id,
                member_id=record.member_id,
                tracker_id=record.tracker_id,
                conversation_id=record.conversation_id,
                assignee_employee_id=assignee,
                assigned_by="MATRIX",
                due_on=record.due_on,
                summary="Permission matrix follow-up",
            ),
            id=follow_up_workflow_id(record.id),
            task_queue=self.app.settings.temporal.task_queue,
        )
        return record.id


def person(cast: Cast, role: Role, relation: Relation) -> str:
    """The employee standing in ``relation`` to the caller of ``role``."""
    return {
        Relation.OWN: cast.caller[role],
        Relation.REPORT: cast.report[role],
        Relation.DEPARTMENT: cast.peer,
        Relation.OTHER: cast.outsider,
    }[relation]


def plan_request(world: World, case: Case) -> str:
    """The request a request route's case is about (claimed so that only that case holds)."""
    cast, me = world.cast, world.cast.caller[case.role]
    relation, action = case.relation, case.rule.action
    if relation is Relation.OWN:
        return world.request(MINE, claimed_by=me)
    if relation is Relation.REPORT:
        return world.request(THEIRS, claimed_by=cast.report[case.role])
    department = {Relation.DEPARTMENT: MINE, Relation.NO_DEPARTMENT: None}.get(relation, THEIRS)
    if action is Action.RELEASE_REQUEST:
        # Someone else's claim: the colleague's in the caller's department, else the outsider's.
        holder = cast.outsider if relation is Relation.OTHER else cast.peer
        return world.request(department, claimed_by=holder)
    return world.request(department)


async def plan(world: World, case: Case) -> None:
    """Fill in the case's path, body and query from records built for it."""
    cast, action, relation = world.cast, case.rule.action, case.relation
    if "{request_id}" in case.rule.path:
        case.path = case.rule.path.replace("{request_id}", plan_request(world, case))
        if action is Action.REPLY_REQUEST:
            case.body = {"body": "Permission matrix reply.", "copy_to_tracker": False}
        return
    if action is Action.RECORD_SALES_OUTCOME:
        lead = await world.follow_up(person(cast, case.role, relation), sales=True)
        case.path = case.rule.path.replace("{follow_up_id}", lead)
        case.body = {"outcome": "contacted"}
        return
    if action in (
        Action.COMPLETE_FOLLOW_UP,
        Action.REASSIGN_FOLLOW_UP,
        Action.NOTE_FOLLOW_UP,
    ):
        assignee = person(cast, case.role, relation)
        follow_up_id = await world.follow_up(assignee)
        case.path = case.rule.path.replace("{follow_up_id}", follow_up_id)
        case.body = {
            Action.COMPLETE_FOLLOW_UP: {},
            Action.REASSIGN_FOLLOW_UP: {
                "assignee_employee_id": cast.peer if assignee == cast.outsider else cast.outsider
            },
            Action.NOTE_FOLLOW_UP: {"note": "Permission matrix note."},
        }[action]
        return
    if action in (Action.VERIFY_TRACKER_PURGE, Action.CONFIRM_TRACKER_PURGE):
        case.path, case.body = await plan_purge(world, action)
        return
    if action in (Action.START_MASS_TRACKERS, Action.READ_MASS_TRACKERS):
        case.path, case.body = await plan_mass(world, action)
        return
    if action in (Action.CONSOLIDATE_TRACKERS, Action.COPY_TRACKERS):
        case.path = case.rule.path.replace("{member_id}", cast.member)
        case.body = await plan_relocation(world, action)
        case.headers = {"Idempotency-Key": uuid.uuid4().hex}
        return
    case.path = (
        case.rule.path.replace("{follow_up_id}", await world.follow_up(cast.peer))
        .replace("{member_id}", cast.member)
        .replace("{period}", TIER_PERIOD)
    )
    if action is Action.LIST_REQUESTS and relation is not Relation.ANY:
        case.params = {"department": MINE if relation is Relation.DEPARTMENT else THEIRS}
    elif action is Action.LIST_FOLLOW_UPS:
        case.params = {"assignee": person(cast, case.role, relation), "status": "all"}
    elif action is Action.LIST_SALES_LEADS:
        everyone = relation is Relation.ANY
        case.params = {"assignee": "*" if everyone else person(cast, case.role, relation)}
    elif action in (
        Action.READ_REPORT,
        Action.READ_ACTIVITY_REPORT,
        Action.READ_CROSS_SALES_REPORT,
    ):
        case.params = {"from": "2026-01-01", "to": "2026-01-31"}
    elif action is Action.START_TIER_RUN:
        case.body = {"period": STARTED_PERIOD}
    elif action is Action.WRITE_MEMBER_NOTE:
        case.body = {"tracker_type": "MS", "memo_type": "MS", "text": "Permission matrix note."}
        case.headers = {"Idempotency-Key": uuid.uuid4().hex}


PURGE_NOTHING = {"tracker_types": ["MS"], "created_to": "1971-01-01"}
"""Purge criteria no note matches: the allowed cells verify and confirm, deleting nothing."""


async def plan_purge(world: World, action: Action) -> tuple[str, dict[str, Any] | None]:
    """A purge route's path and body; confirm gets a purge verified for it."""
    if action is Action.VERIFY_TRACKER_PURGE:
        return "/tracker-purges", PURGE_NOTHING
    criteria = PurgeCriteria.model_validate(PURGE_NOTHING)
    verified = await verify_purge(world.sessions, world.ops, criteria, by="matrix")
    return f"/tracker-purges/{verified.purge_id}/confirm", None


async def plan_mass(world: World, action: Action) -> tuple[str, dict[str, Any] | None]:
    """A mass Tracker route's path and body: a notes batch for the cast's member (skipped: it
    is not in the register); the read gets a batch stored for it."""
    body: dict[str, Any] = {
        "batch_id": f"pm-{uuid.uuid4().hex[:12]}",
        "mode": "notes",
        "tracker_type": "AT",
        "memo_type": "EI",
        "text": "Permission matrix mass note.",
        "members": [world.cast.member],
    }
    if action is Action.START_MASS_TRACKERS:
        return "/mass-trackers", body
    spec = MassTrackerSpec.model_validate({k: v for k, v in body.items() if k != "members"})
    await submit_batch(
        world.sessions, world.ops, spec, body["members"], requested_by="matrix", as_of=date.today()
    )
    return f"/mass-trackers/{spec.batch_id}", None


async def plan_relocation(world: World, action: Action) -> dict[str, Any]:
    """Two new MS Trackers of the cast's member to consolidate, or one to copy to another."""

    async def new_tracker() -> str:
        written = await trackers.append_conversation(
            world.sessions,
            world.ops,
            member_id=world.cast.member,
            tracker_type="MS",
            memo_type="MS",
            employee_id="MATRIX",
            text="Permission matrix note.",
            idempotency_key=f"pm-{uuid.uuid4()}",
            new_tracker=True,
        )
        return written.tracker_id

    if action is Action.CONSOLIDATE_TRACKERS:
        return {"tracker_ids": [await new_tracker(), await new_tracker()]}
    return {"tracker_id": await new_tracker(), "to_member_id": str(int(world.cast.member) + 1)}


async def bounded(calls: list[Awaitable[Any]], limit: int = 12) -> list[Any]:
    """Await every call, at most ``limit`` at a time (two cores are shared)."""
    gate = asyncio.Semaphore(limit)

    async def one(call: Awaitable[Any]) -> Any:
        async with gate:
            return await call

    return await asyncio.gather(*(one(c) for c in calls))


@dataclass
class Desk:
    """The running app, the in-process API and the cast."""

    app: RunningApp
    http: httpx.AsyncClient
    cast: Cast
    ops: OpsConfig

    async def call(self, case: Case, employee_id: str) -> httpx.Response:
        """The case's request, as ``employee_id``."""
        headers = {"Authorization": f"Bearer {self.cast.tokens[employee_id]}", **case.headers}
        return await self.http.request(
            case.rule.method, case.path, params=case.params, json=case.body, headers=headers
        )


async def set_roles(app: RunningApp, roles: dict[str, Role]) -> None:
    """Give employees these roles (straight in the store, as a directory change)."""
    async with app.services.session_factory.begin() as session:
        for employee_id, role in roles.items():
            await session.execute(
                text("UPDATE employees SET role = :role WHERE id = :id"),
                {"role": role.value, "id": employee_id},
            )


async def tier_records(app: RunningApp, member: str) -> None:
    """A stored run for ``TIER_PERIOD`` and a result for the member (what the GETs read)."""
    async with app.services.session_factory.begin() as session:
        await session.execute(
            text(
                "INSERT INTO tier_runs (period, state, workflow_id, started_at, finished_at) "
                "VALUES (:p, 'completed', :w, now(), now()) ON CONFLICT DO NOTHING"
            ),
            {"p": TIER_PERIOD, "w": f"tier-scoring-{TIER_PERIOD}"},
        )
        await session.execute(
            text(
                "INSERT INTO tier_results (period, member_id, total, level_code, level_name, "
                "points_by_goal, points_by_item, possible_by_goal, result_hash) "
                "VALUES (:p, :m, 0, 'BRZ', 'Bronze', '{}', '{}', '{}', 0) ON CONFLICT DO NOTHING"
            ),
            {"p": TIER_PERIOD, "m": member},
        )
