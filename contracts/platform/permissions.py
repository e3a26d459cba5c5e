"""Who may do what: the one table of the desk's rules.

``RULES`` lists every desk action (one per API route) with the cases (``Relation``) in which it
can be asked, and for each role the cases that role may act in. It is data: the API
(``workers.platform.web.access``) and the workflows (``ContactRequestWorkflow``,
``FollowUpWorkflow``) look it up with relations they compute from the employee directory
(``contracts/platform/relations.py``),
``docs/security.md`` shows it (``markdown_table``), and the authorisation matrix test
(``tests/integration/test_permissions_matrix.py``) checks the live API against every cell.

Pure and deterministic (no I/O): workflows import it. Long because it is one table, one entry
per route: a reader checks who may do what in one place, so it is not split.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from contracts.vocabulary import Role


class Relation(StrEnum):
    """How the record an action is about relates to the caller: the cases of the table.

    Several can hold at once (a request of the caller's department claimed by their report);
    an action is allowed when the caller's role is granted any one of them.
    """

    ANY = "any"
    """The route is not about one record, or every record is alike (a member's data)."""
    OWN = "own"
    """The caller's own: a request they claimed, a follow-up assigned to them, their queue."""
    REPORT = "report"
    """Of an employee whose supervisor is the caller (a claim, a follow-up, a queue)."""
    DEPARTMENT = "department"
    """A request of one of the caller's departments; a colleague sharing one of them."""
    NO_DEPARTMENT = "no department"
    """A request addressed to no department."""
    OTHER = "other"
    """None of the above: another department, someone else's work."""


class Action(StrEnum):
    """Every action the desk API offers, one per route."""

    LIST_REQUESTS = "list-requests"
    READ_REQUEST = "read-request"
    CLAIM_REQUEST = "claim-request"
    RELEASE_REQUEST = "release-request"
    REPLY_REQUEST = "reply-request"
    DELETE_REQUEST = "delete-request"
    LIST_FOLLOW_UPS = "list-follow-ups"
    READ_FOLLOW_UP = "read-follow-up"
    COMPLETE_FOLLOW_UP = "complete-follow-up"
    REASSIGN_FOLLOW_UP = "reassign-follow-up"
    NOTE_FOLLOW_UP = "note-follow-up"
    LIST_SALES_LEADS = "list-sales-leads"
    RECORD_SALES_OUTCOME = "record-sales-outcome"
    READ_MEMBER_TRACKERS = "read-member-trackers"
    WRITE_MEMBER_NOTE = "write-member-note"
    CONSOLIDATE_TRACKERS = "consolidate-trackers"
    COPY_TRACKERS = "copy-trackers"
    READ_MEMBER_MESSAGES = "read-member-messages"
    READ_MEMBER_TIER = "read-member-tier"
    READ_REPORT = "read-report"
    READ_ACTIVITY_REPORT = "read-activity-report"
    READ_CROSS_SALES_REPORT = "read-cross-sales-report"
    START_TIER_RUN = "start-tier-run"
    READ_TIER_RUN = "read-tier-run"
    READ_AUDIT = "read-audit"
    VERIFY_TRACKER_PURGE = "verify-tracker-purge"
    CONFIRM_TRACKER_PURGE = "confirm-tracker-purge"
    START_MASS_TRACKERS = "start-mass-trackers"
    LIST_MASS_TRACKERS = "list-mass-trackers"
    READ_MASS_TRACKERS = "read-mass-trackers"


@dataclass(frozen=True)
class Rule:
    """One action: its route, the cases it is asked in, and who may act in which case."""

    action: Action
    method: str
    path: str
    """The route under ``/api/v1``, as FastAPI names it."""
    what: str
    """The action in words, for refusals: "complete a follow-up"."""
    relations: tuple[Relation, ...]
    """The cases the table lists for this action; a relation not listed grants nothing."""
    grants: Mapping[Role, frozenset[Relation]]
    """Per role, the cases that role may act in (a role not named may do nothing)."""
    relation_meaning: str = ""
    """What the relations mean for this route (the record they compare with the caller)."""

    def allows(self, role: Role, relation: Relation) -> bool:
        """Whether ``role`` may take this action in case ``relation``: one cell of the table."""
        return relation in self.relations and relation in self.grants.get(role, frozenset())


R = Relation
DESK_ROLES = (Role.EMPLOYEE, Role.SUPERVISOR)
"""The roles that work the desk (operators and admins do not read member data)."""
CODEC_ROLES = frozenset({Role.OPERATOR})
"""Who may use the codec server (``memberflow run codec-server``): decoding opens every
payload of every workflow, so only the operators who watch workflows, each use audited."""

_REQUEST = (R.OWN, R.REPORT, R.DEPARTMENT, R.NO_DEPARTMENT, R.OTHER)
_REQUEST_TAKE = (R.OWN, R.DEPARTMENT, R.NO_DEPARTMENT, R.OTHER)
_PERSON = (R.OWN, R.REPORT, R.DEPARTMENT, R.OTHER)
_REQUEST_MEANING = (
    "the request: own = claimed by the caller, report = claimed by the caller's report, "
    "department / no department / other = its department"
)
_PERSON_MEANING = (
    "the assignee: own = the caller, report = an employee the caller supervises, "
    "department = a colleague sharing a department, other = anyone else"
)


def _grants(
    employee: Iterable[Relation] = (),
    supervisor: Iterable[Relation] = (),
    operator: Iterable[Relation] = (),
    admin: Iterable[Relation] = (),
) -> dict[Role, frozenset[Relation]]:
    return {
        Role.EMPLOYEE: frozenset(employee),
        Role.SUPERVISOR: frozenset(supervisor),
        Role.OPERATOR: frozenset(operator),
        Role.ADMIN: frozenset(admin),
    }


_SEES = (R.OWN, R.DEPARTMENT, R.NO_DEPARTMENT)
_OVERSEES = (R.OWN, R.REPORT, R.DEPARTMENT)

RULES: tuple[Rule, ...] = (
    Rule(
        Action.LIST_REQUESTS,
        "GET",
        "/contact-requests",
        "list contact requests",
        (R.ANY, R.DEPARTMENT, R.OTHER),
        _grants(employee=(R.ANY, R.DEPARTMENT), supervisor=(R.ANY, R.DEPARTMENT)),
        "the `department` filter: any = none given; the list holds only requests the caller "
        "may read (`claimed`: claims the caller may release)",
    ),
    Rule(
        Action.READ_REQUEST,
        "GET",
        "/contact-requests/{request_id}",
        "read this contact request",
        _REQUEST,
        _grants(employee=_SEES, supervisor=(*_SEES, R.REPORT)),
        _REQUEST_MEANING,
    ),
    Rule(
        Action.CLAIM_REQUEST,
        "POST",
        "/contact-requests/{request_id}/claim",
        "claim this contact request",
        _REQUEST_TAKE,
        _grants(employee=_SEES, supervisor=_SEES),
        _REQUEST_MEANING,
    ),
    Rule(
        Action.RELEASE_REQUEST,
        "POST",
        "/contact-requests/{request_id}/release",
        "release this contact request",
        _REQUEST,
        _grants(employee=(R.OWN,), supervisor=(*_SEES, R.REPORT)),
        _REQUEST_MEANING,
    ),
    Rule(
        Action.REPLY_REQUEST,
        "POST",
        "/contact-requests/{request_id}/reply",
        "reply to this contact request",
        _REQUEST_TAKE,
        _grants(employee=_SEES, supervisor=_SEES),
        _REQUEST_MEANING,
    ),
    Rule(
        Action.DELETE_REQUEST,
        "POST",
        "/contact-requests/{request_id}/delete",
        "delete this contact request (it needs your claim, or a supervisor)",
        _REQUEST,
        _grants(employee=(R.OWN,), supervisor=(*_SEES, R.REPORT)),
        _REQUEST_MEANING,
    ),
    Rule(
        Action.LIST_FOLLOW_UPS,
        "GET",
        "/follow-ups",
        "list this employee's follow-ups",
        _PERSON,
        _grants(employee=(R.OWN,), supervisor=_OVERSEES),
        "the `assignee` asked for (default: the caller): own = the caller, report = an employee "
        "the caller supervises, department = a colleague sharing a department, other = anyone "
        "else",
    ),
    Rule(
        Action.READ_FOLLOW_UP,
        "GET",
        "/follow-ups/{follow_up_id}",
        "read this follow-up",
        (R.ANY,),
        _grants(employee=(R.ANY,), supervisor=(R.ANY,)),
        "any follow-up (its thread is the member's Tracker, which any desk employee reads)",
    ),
    Rule(
        Action.COMPLETE_FOLLOW_UP,
        "POST",
        "/follow-ups/{follow_up_id}/complete",
        "complete this follow-up",
        _PERSON,
        _grants(employee=(R.OWN,), supervisor=_OVERSEES),
        _PERSON_MEANING,
    ),
    Rule(
        Action.REASSIGN_FOLLOW_UP,
        "POST",
        "/follow-ups/{follow_up_id}/reassign",
        "reassign this follow-up",
        _PERSON,
        _grants(employee=(R.OWN,), supervisor=_OVERSEES),
        _PERSON_MEANING,
    ),
    Rule(
        Action.NOTE_FOLLOW_UP,
        "POST",
        "/follow-ups/{follow_up_id}/notes",
        "add a note to this follow-up",
        _PERSON,
        _grants(employee=(R.OWN,), supervisor=_OVERSEES),
        _PERSON_MEANING,
    ),
    Rule(
        Action.LIST_SALES_LEADS,
        "GET",
        "/sales-leads",
        "list these sales leads",
        (R.ANY, *_PERSON),
        _grants(employee=(R.OWN,), supervisor=(R.ANY, *_PERSON)),
        "the `assignee` asked for (default: the caller; `*`: every employee's leads, the case "
        "any): own = the caller, report = an employee the caller supervises, department = a "
        "colleague sharing a department, other = anyone else",
    ),
    Rule(
        Action.RECORD_SALES_OUTCOME,
        "POST",
        "/sales-leads/{follow_up_id}/outcome",
        "record the outcome of this sales lead",
        _PERSON,
        # As completing the follow-up, which recording the outcome does (and the workflow
        # re-checks under COMPLETE_FOLLOW_UP).
        _grants(employee=(R.OWN,), supervisor=_OVERSEES),
        _PERSON_MEANING,
    ),
    Rule(
        Action.READ_MEMBER_TRACKERS,
        "GET",
        "/members/{member_id}/trackers",
        "read members' Trackers",
        (R.ANY,),
        _grants(employee=(R.ANY,), supervisor=(R.ANY,)),
        "any member",
    ),
    Rule(
        Action.WRITE_MEMBER_NOTE,
        "POST",
        "/members/{member_id}/trackers/conversations",
        "write Tracker notes",
        (R.ANY,),
        _grants(employee=(R.ANY,), supervisor=(R.ANY,)),
        "any member; a follow-up it opens may be for any employee",
    ),
    # Consolidate and copy: supervisors. Both change where a member's history sits (a copy puts
    # one membership's notes on another's Trackers), beyond writing one note of one's own.
    Rule(
        Action.CONSOLIDATE_TRACKERS,
        "POST",
        "/members/{member_id}/trackers/consolidations",
        "consolidate Trackers",
        (R.ANY,),
        _grants(supervisor=(R.ANY,)),
        "any member (the Tracker type must allow moving conversations)",
    ),
    Rule(
        Action.COPY_TRACKERS,
        "POST",
        "/members/{member_id}/trackers/copies",
        "copy Trackers to another membership",
        (R.ANY,),
        _grants(supervisor=(R.ANY,)),
        "any member, to any other (the Tracker type must allow copying)",
    ),
    Rule(
        Action.READ_MEMBER_MESSAGES,
        "GET",
        "/members/{member_id}/messages",
        "read members' secure messages",
        (R.ANY,),
        _grants(employee=(R.ANY,), supervisor=(R.ANY,)),
        "any member",
    ),
    Rule(
        Action.READ_MEMBER_TIER,
        "GET",
        "/members/{member_id}/tier",
        "read members' tier summaries",
        (R.ANY,),
        _grants(employee=(R.ANY,), supervisor=(R.ANY,)),
        "any member",
    ),
    Rule(
        Action.READ_REPORT,
        "GET",
        "/reports/follow-ups",
        "read reports",
        (R.ANY,),
        _grants(supervisor=(R.ANY,)),
        "every employee's figures",
    ),
    Rule(
        Action.READ_ACTIVITY_REPORT,
        "GET",
        "/reports/tracker-activity",
        "read reports",
        (R.ANY,),
        _grants(supervisor=(R.ANY,)),
        "every employee's note counts (no member data)",
    ),
    Rule(
        Action.READ_CROSS_SALES_REPORT,
        "GET",
        "/reports/cross-sales",
        "read reports",
        (R.ANY,),
        _grants(supervisor=(R.ANY,)),
        "every employee's cross-sales counts (no member data)",
    ),
    Rule(
        Action.START_TIER_RUN,
        "POST",
        "/tier-scoring/runs",
        "start tier scoring runs",
        (R.ANY,),
        _grants(operator=(R.ANY,)),
        "any period",
    ),
    Rule(
        Action.READ_TIER_RUN,
        "GET",
        "/tier-scoring/runs/{period}",
        "read tier scoring runs",
        (R.ANY,),
        _grants(supervisor=(R.ANY,), operator=(R.ANY,)),
        "any period (counts per level, no member data)",
    ),
    Rule(
        Action.READ_AUDIT,
        "GET",
        "/audit",
        "read the access trail",
        (R.ANY,),
        _grants(supervisor=(R.ANY,)),
        "every entry (operators read it with `memberflow audit` on the host)",
    ),
    # Purges: admins only. A purge deletes notes for good (the one delete path, docs/security.md);
    # it is configuration-level work, not desk work, and its answers hold counts only.
    Rule(
        Action.VERIFY_TRACKER_PURGE,
        "POST",
        "/tracker-purges",
        "purge Trackers",
        (R.ANY,),
        _grants(admin=(R.ANY,)),
        "any criteria (the answer holds counts, no member data)",
    ),
    Rule(
        Action.CONFIRM_TRACKER_PURGE,
        "POST",
        "/tracker-purges/{purge_id}/confirm",
        "purge Trackers",
        (R.ANY,),
        _grants(admin=(R.ANY,)),
        "any verified purge",
    ),
    # Mass Trackers: supervisors only. A batch writes a note into up to 100,000 members'
    # Trackers under the caller's name (desk work on member data, which operators and admins
    # never do), and a batch's answer lists the members it skipped.
    Rule(
        Action.START_MASS_TRACKERS,
        "POST",
        "/mass-trackers",
        "run mass Tracker batches",
        (R.ANY,),
        _grants(supervisor=(R.ANY,)),
        "any member list (up to the body limit)",
    ),
    Rule(
        Action.LIST_MASS_TRACKERS,
        "GET",
        "/mass-trackers",
        "list mass Tracker batches",
        (R.ANY,),
        _grants(supervisor=(R.ANY,)),
        "every batch (no member data)",
    ),
    Rule(
        Action.READ_MASS_TRACKERS,
        "GET",
        "/mass-trackers/{batch_id}",
        "read mass Tracker batches",
        (R.ANY,),
        _grants(supervisor=(R.ANY,)),
        "any batch (its skipped members are member data)",
    ),
)
"""The table: every route of the desk API, every case, every role."""

RULE_BY_ACTION: dict[Action, Rule] = {rule.action: rule for rule in RULES}


def rule(action: Action) -> Rule:
    """The rule of one action."""
    return RULE_BY_ACTION[action]


def allowed(action: Action, role: Role, relations: Iterable[Relation]) -> bool:
    """Whether ``role`` may take ``action`` on a record with these relations to the caller.

    Args:
        action: What is asked.
        role: The caller's role, from the employee directory (never from the request).
        relations: Every relation the record has to the caller (see ``Relation``).
    """
    found = RULE_BY_ACTION[action]
    return any(found.allows(role, relation) for relation in relations)


def refusal(action: Action, employee_id: str, role: Role) -> str:
    """The readable reason of a 403: who was refused what, and who may."""
    found = RULE_BY_ACTION[action]
    who = [
        f"{r.value} ({', '.join(x.value for x in found.relations if found.allows(r, x))})"
        for r in Role
        if any(found.allows(r, x) for x in found.relations)
    ]
    return (
        f"{employee_id} ({role.value}) may not {found.what}; allowed: "
        + ("; ".join(who) or "no one")
        + " (docs/security.md, 'Who may do what')"
    )


def markdown_table() -> str:
    """The table as ``docs/security.md`` shows it under "Who may do what"."""
    roles = list(Role)
    lines = [
        "| route | case | " + " | ".join(r.value for r in roles) + " |",
        "|---|---|" + "---|" * len(roles),
    ]
    for found in RULES:
        route = f"`{found.method} {found.path}`"
        for relation in found.relations:
            cells = ["yes" if found.allows(r, relation) else "403" for r in roles]
            lines.append(f"| {route} | {relation.value} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Cases, per route:")
    lines.append("")
    for found in RULES:
        lines.append(f"- `{found.method} {found.path}`: {found.relation_meaning}.")
    return "\n".join(lines) + "\n"
