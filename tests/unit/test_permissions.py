"""The permission table's cells that matter most, spelled out by hand, and the relations it is
read with. The live API is checked against every cell in
``tests/integration/test_permissions_matrix.py``; docs/security.md must show the table as it is.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.platform.directory import DirectoryEntry
from contracts.platform.permissions import (
    RULES,
    Action,
    Relation,
    allowed,
    markdown_table,
    refusal,
)
from contracts.platform.relations import person_relations, request_relations
from contracts.vocabulary import Role

DOCS = Path(__file__).resolve().parents[2] / "docs" / "security.md"

EMP, SUP, OPR, ADM = Role.EMPLOYEE, Role.SUPERVISOR, Role.OPERATOR, Role.ADMIN
OWN, REPORT, DEPT, NODEPT, OTHER, ANY = (
    Relation.OWN,
    Relation.REPORT,
    Relation.DEPARTMENT,
    Relation.NO_DEPARTMENT,
    Relation.OTHER,
    Relation.ANY,
)


@pytest.mark.parametrize(
    ("action", "role", "relation", "expected"),
    [
        # Follow-ups: only the assignee, or a supervisor of theirs or of their department.
        (Action.COMPLETE_FOLLOW_UP, EMP, OWN, True),
        (Action.COMPLETE_FOLLOW_UP, EMP, DEPT, False),
        (Action.COMPLETE_FOLLOW_UP, EMP, OTHER, False),
        (Action.REASSIGN_FOLLOW_UP, EMP, DEPT, False),
        (Action.NOTE_FOLLOW_UP, EMP, DEPT, False),
        (Action.COMPLETE_FOLLOW_UP, SUP, REPORT, True),
        (Action.COMPLETE_FOLLOW_UP, SUP, DEPT, True),
        (Action.COMPLETE_FOLLOW_UP, SUP, OTHER, False),
        # Requests: an employee's departments and requests without one.
        (Action.READ_REQUEST, EMP, DEPT, True),
        (Action.READ_REQUEST, EMP, NODEPT, True),
        (Action.READ_REQUEST, EMP, OTHER, False),
        (Action.CLAIM_REQUEST, EMP, OTHER, False),
        (Action.CLAIM_REQUEST, SUP, OTHER, False),
        # Deleting needs the caller's claim, or a supervisor.
        (Action.DELETE_REQUEST, EMP, OWN, True),
        (Action.DELETE_REQUEST, EMP, DEPT, False),
        (Action.DELETE_REQUEST, SUP, DEPT, True),
        # Member data: every desk employee; not operators or admins.
        (Action.READ_MEMBER_TRACKERS, EMP, ANY, True),
        (Action.READ_MEMBER_MESSAGES, EMP, ANY, True),
        (Action.READ_MEMBER_TIER, EMP, ANY, True),
        (Action.READ_MEMBER_MESSAGES, OPR, ANY, False),
        (Action.READ_MEMBER_MESSAGES, ADM, ANY, False),
        # Reports and other people's queues: supervisors.
        (Action.READ_REPORT, EMP, ANY, False),
        (Action.READ_REPORT, SUP, ANY, True),
        (Action.LIST_FOLLOW_UPS, EMP, OWN, True),
        (Action.LIST_FOLLOW_UPS, EMP, DEPT, False),
        (Action.LIST_FOLLOW_UPS, SUP, REPORT, True),
        # Tier runs: operators.
        (Action.START_TIER_RUN, EMP, ANY, False),
        (Action.START_TIER_RUN, SUP, ANY, False),
        (Action.START_TIER_RUN, ADM, ANY, False),
        (Action.START_TIER_RUN, OPR, ANY, True),
    ],
)
def test_the_rules_that_matter_most(
    action: Action, role: Role, relation: Relation, expected: bool
) -> None:
    assert allowed(action, role, [relation]) is expected


def test_admins_have_no_desk_rights_in_the_api() -> None:
    """Admins manage employees on the host (``memberflow employees``); in the API they only
    purge Trackers (counts in, counts out: no member data), and no one else may."""
    granted = {r.action for r in RULES for x in r.relations if r.allows(ADM, x)}
    assert granted == {Action.VERIFY_TRACKER_PURGE, Action.CONFIRM_TRACKER_PURGE}
    purging = {
        role
        for r in RULES
        if r.action in granted
        for role in r.grants
        for x in r.relations
        if r.allows(role, x)
    }
    assert purging == {ADM}


def test_every_action_has_one_rule_and_no_relation_outside_its_cases() -> None:
    assert sorted(r.action for r in RULES) == sorted(Action)
    for found in RULES:
        for role, granted in found.grants.items():
            assert granted <= set(found.relations), (found.action, role)


def test_a_relation_the_rule_does_not_list_grants_nothing() -> None:
    # Claims are no one's to take over: "report" is not a case of claiming.
    assert not allowed(Action.CLAIM_REQUEST, SUP, [REPORT])
    assert allowed(Action.CLAIM_REQUEST, SUP, [REPORT, DEPT])


def entry(
    employee_id: str, role: Role = EMP, *departments: str, sup: str | None = None
) -> DirectoryEntry:
    return DirectoryEntry(
        employee_id=employee_id, role=role, departments=list(departments), supervisor_id=sup
    )


def test_person_relations() -> None:
    me = entry("MG", SUP, "LOANS")
    assert person_relations(me, entry("MG", SUP, "LOANS")) == {OWN}
    assert person_relations(me, entry("SR", EMP, "CARDS", sup="MG")) == {REPORT}
    assert person_relations(me, entry("JD", EMP, "LOANS", "CARDS")) == {DEPT}
    assert person_relations(me, entry("KT", EMP, "LOANS", sup="MG")) == {REPORT, DEPT}
    assert person_relations(me, entry("XX", EMP, "CARDS")) == {OTHER}
    assert person_relations(me, None) == {OTHER}


def test_request_relations() -> None:
    me = entry("SR", EMP, "LOANS")
    assert request_relations(me, "LOANS", None, None) == {DEPT}
    assert request_relations(me, None, None, None) == {NODEPT}
    assert request_relations(me, "CARDS", None, None) == {OTHER}
    assert request_relations(me, "CARDS", "SR", me) == {OWN}
    boss = entry("MG", SUP, "GENERAL")
    report = entry("SR", EMP, "LOANS", sup="MG")
    assert request_relations(boss, "LOANS", "SR", report) == {REPORT}
    assert request_relations(boss, "GENERAL", "SR", report) == {REPORT, DEPT}


def test_a_refusal_names_who_was_refused_and_who_may() -> None:
    text = refusal(Action.START_TIER_RUN, "SR", EMP)
    assert text.startswith("SR (employee) may not start tier scoring runs; allowed: operator")


def test_docs_show_the_table_as_it_is() -> None:
    """docs/security.md, "Who may do what", holds ``markdown_table()`` verbatim."""
    assert markdown_table() in DOCS.read_text(encoding="utf-8"), (
        "docs/security.md is out of date: paste contracts.platform.permissions.markdown_table()"
    )
