"""Authorisation in the desk API: every route asks ``contracts.platform.permissions.RULES``.

A route calls :func:`authorize` first thing in its body (after its access-trail dependency, so a
refusal is recorded too): with ``Relation.ANY`` when it is about no record in particular, or
with the relations of the request, follow-up or colleague it is about, computed with the
helpers here. A refusal answers 403 (``Refusal.FORBIDDEN`` through ``STATUS_BY_REFUSAL``) with
a detail naming who may.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import HTTPException

from contracts.platform.permissions import (
    Action,
    Relation,
    allowed,
    refusal,
)
from contracts.platform.relations import person_relations, request_relations
from contracts.vocabulary import Refusal
from workers.platform.database import Sessions
from workers.platform.directory import directory_entries
from workers.platform.web.auth import Caller
from workers.platform.web.errors import STATUS_BY_REFUSAL


def forbidden(action: Action, caller: Caller) -> HTTPException:
    """The 403 for ``caller`` asking for ``action``."""
    detail = refusal(action, caller.employee_id, caller.role)
    return HTTPException(STATUS_BY_REFUSAL[Refusal.FORBIDDEN], detail=detail)


def authorize(caller: Caller, action: Action, relations: Iterable[Relation]) -> None:
    """403 unless the caller's role may take ``action`` in one of these relations."""
    if not allowed(action, caller.role, relations):
        raise forbidden(action, caller)


async def request_relations_of(
    sessions: Sessions, caller: Caller, department: str | None, claimed_by: str | None
) -> frozenset[Relation]:
    """How a contact request relates to the caller (its claimant read from the directory)."""
    claimant = None
    if claimed_by is not None and claimed_by != caller.employee_id:
        claimant = (await directory_entries(sessions, [claimed_by])).get(claimed_by)
    return request_relations(caller.entry, department, claimed_by, claimant)


async def person_relations_of(
    sessions: Sessions, caller: Caller, employee_id: str
) -> frozenset[Relation]:
    """How another employee (an assignee, a queue's owner) relates to the caller."""
    if employee_id == caller.employee_id:
        return frozenset({Relation.OWN})
    other = (await directory_entries(sessions, [employee_id])).get(employee_id)
    return person_relations(caller.entry, other)
