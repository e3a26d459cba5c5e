"""The Contact Us queue read model and the members' secure message centre.

``ContactRequestWorkflow`` owns the truth about a request; these tables are what the desk lists
and reads. State changes carry the time they happened, so a late retry of an older change can
never overwrite a newer one. Reads answer in the desk API's own shapes
(``workers.contacts.schemas``), validated straight from the rows.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.contacts.messages import ContactSubmitted, MemberMessage
from contracts.vocabulary import RequestState
from workers.contacts.schemas import ContactRequestDetail, SecureMessage
from workers.contacts.tables import ContactRequestRow, SecureMessageRow
from workers.platform.database import Sessions
from workers.platform.errors import ConflictError, InvalidInputError, NotFoundError

STATES = tuple(state.value for state in RequestState)


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def _request(row: ContactRequestRow, now: datetime) -> ContactRequestDetail:
    request = ContactRequestDetail.model_validate(row, from_attributes=True)
    # A lapsed claim puts the request back in everyone's queue even before the workflow's
    # timer has written the release.
    lapsed = request.claimed_until is not None and request.claimed_until <= now
    if request.state == RequestState.CLAIMED and lapsed:
        update = {"state": RequestState.QUEUED.value, "claimed_by": None, "claimed_until": None}
        return request.model_copy(update=update)
    return request


async def upsert_contact_request(
    sessions: Sessions, request: ContactSubmitted, *, now: datetime | None = None
) -> ContactRequestDetail:
    """Put a submitted request in the queue; a second call with the same request_id is a no-op.

    Args:
        sessions: Session factory.
        request: The validated ``cu.contact.submitted.v1`` data.
        now: The time lapsed claims are judged against in the result.

    Returns:
        The request as stored (the first write wins).
    """
    values = {
        "request_id": request.request_id,
        "member_id": request.member_id,
        "channel": request.channel,
        "subject": request.subject,
        "message": request.message,
        "department": request.department,
        "callback_phone": request.callback_phone,
        "callback_method": request.callback_method,
        "in_reply_to": request.in_reply_to,
        "submitted_at": request.submitted_at,
        "state": RequestState.QUEUED.value,
        # Ordering anchor for later state changes (see set_contact_state).
        "updated_at": request.submitted_at,
    }
    async with sessions.begin() as session:
        await session.execute(insert(ContactRequestRow).values(**values).on_conflict_do_nothing())
        row = await session.get(ContactRequestRow, request.request_id)
        assert row is not None  # just inserted or already there
        return _request(row, _now(now))


async def set_contact_state(
    sessions: Sessions,
    request_id: str,
    state: str,
    *,
    at: datetime,
    claimed_by: str | None = None,
    claimed_until: datetime | None = None,
) -> ContactRequestDetail:
    """Record a request's new state in the queue read model.

    Idempotent and order-safe: a change older than the stored one, or any change after the
    request was replied to or deleted, is ignored and the current row is returned.

    Args:
        sessions: Session factory.
        request_id: The request.
        state: ``queued``, ``claimed``, ``replied`` or ``deleted``.
        at: When the change happened (workflow time).
        claimed_by: The claiming employee (``claimed``; kept on replied/deleted if None).
        claimed_until: When the claim lapses (``claimed``).

    Returns:
        The request after the change.

    Raises:
        NotFoundError: No such request.
        InvalidInputError: Unknown state.
    """
    if state not in STATES:
        raise InvalidInputError(f"state must be one of {', '.join(STATES)}, not {state!r}")
    async with sessions.begin() as session:
        row = await session.get(ContactRequestRow, request_id, with_for_update=True)
        if row is None:
            raise NotFoundError(f"contact request {request_id} not found")
        stale = row.updated_at > at or (RequestState(row.state).is_final and state != row.state)
        if not stale:
            _apply(row, state, at, claimed_by, claimed_until)
        return _request(row, at)


def _apply(
    row: ContactRequestRow,
    state: str,
    at: datetime,
    claimed_by: str | None,
    claimed_until: datetime | None,
) -> None:
    row.state = state
    row.updated_at = at
    if state == RequestState.QUEUED:
        row.claimed_by, row.claimed_until = None, None
    elif state == RequestState.CLAIMED:
        row.claimed_by, row.claimed_until = claimed_by, claimed_until
    else:
        row.claimed_by = claimed_by or row.claimed_by
        row.claimed_until = None
        if state == RequestState.REPLIED and row.replied_at is None:
            row.replied_at = at


def _lapsed(moment: datetime) -> ColumnElement[bool]:
    """A claim whose time has run out: such a request reads as ``queued``."""
    return and_(
        ContactRequestRow.state == RequestState.CLAIMED.value,
        ContactRequestRow.claimed_until.is_not(None),
        ContactRequestRow.claimed_until <= moment,
    )


async def count_contact_requests(
    sessions: Sessions, *, queued_before: datetime, now: datetime | None = None
) -> tuple[dict[str, int], int]:
    """Requests per effective state, and how many queued ones were submitted before a time.

    Counted by the database (the operators' view must not load the whole queue).

    Returns:
        ``({state: count}, queued requests submitted before queued_before)``.
    """
    moment = _now(now)
    effective = case((_lapsed(moment), RequestState.QUEUED.value), else_=ContactRequestRow.state)
    stale = func.count().filter(
        effective == RequestState.QUEUED.value, ContactRequestRow.submitted_at < queued_before
    )
    query = select(effective, func.count(), stale).group_by(effective)
    async with sessions() as session:
        rows = (await session.execute(query)).all()
    counts = dict.fromkeys(STATES, 0)
    old = 0
    for state, count, stale_count in rows:
        counts[state] = count
        old += stale_count
    return counts, old


async def list_contact_requests(
    sessions: Sessions,
    *,
    state: str | None = RequestState.QUEUED,
    department: str | None = None,
    member_id: str | None = None,
    now: datetime | None = None,
    limit: int = 500,
) -> list[ContactRequestDetail]:
    """The queue, oldest first.

    Args:
        sessions: Session factory.
        state: Effective state to list (a lapsed claim counts as ``queued``); None for all.
        department: Only requests addressed to this department.
        member_id: Only this member's requests.
        now: The time lapsed claims are judged against (default: now).
        limit: At most this many rows.

    Returns:
        The requests, oldest submission first.
    """
    moment = _now(now)
    query = select(ContactRequestRow)
    lapsed = _lapsed(moment)
    if state == RequestState.QUEUED:
        query = query.where(or_(ContactRequestRow.state == RequestState.QUEUED.value, lapsed))
    elif state == RequestState.CLAIMED:
        query = query.where(ContactRequestRow.state == RequestState.CLAIMED.value, ~lapsed)
    elif state is not None:
        query = query.where(ContactRequestRow.state == state)
    if department is not None:
        query = query.where(ContactRequestRow.department == department)
    if member_id is not None:
        query = query.where(ContactRequestRow.member_id == member_id)
    query = query.order_by(ContactRequestRow.submitted_at, ContactRequestRow.request_id)
    async with sessions() as session:
        rows = await session.scalars(query.limit(limit))
        return [_request(row, moment) for row in rows]


async def get_contact_request(
    sessions: Sessions, request_id: str, *, now: datetime | None = None
) -> ContactRequestDetail | None:
    """One request with its message and callback details, or None."""
    async with sessions() as session:
        row = await session.get(ContactRequestRow, request_id)
        return _request(row, _now(now)) if row is not None else None


def _message(row: SecureMessageRow) -> SecureMessage:
    return SecureMessage.model_validate(row, from_attributes=True)


async def _message_for(session: AsyncSession, request_id: str) -> SecureMessageRow | None:
    return await session.scalar(
        select(SecureMessageRow).where(SecureMessageRow.request_id == request_id)
    )


async def store_secure_message(sessions: Sessions, message: MemberMessage) -> SecureMessage:
    """Put a reply in the member's secure message centre (one per request, idempotent).

    Args:
        sessions: Session factory.
        message: The reply as it is published; its deterministic ``message_id`` makes the same
            message again return the first write.

    Returns:
        The stored message.

    Raises:
        ConflictError: The request was already answered by another message.
    """
    async with sessions.begin() as session:
        await session.execute(
            insert(SecureMessageRow)
            .values({**message.model_dump(), "subject": message.subject[:80]})
            .on_conflict_do_nothing()
        )
        row = await _message_for(session, message.request_id)
        if row is None or row.message_id != message.message_id:
            raise ConflictError(
                f"contact request {message.request_id} was already answered, "
                f"or message id {message.message_id} is taken"
            )
        return _message(row)


async def member_messages(sessions: Sessions, member_id: str) -> list[SecureMessage]:
    """The member's secure messages, newest first."""
    async with sessions() as session:
        rows = await session.scalars(
            select(SecureMessageRow)
            .where(SecureMessageRow.member_id == member_id)
            .order_by(SecureMessageRow.sent_at.desc(), SecureMessageRow.message_id)
        )
        return [_message(row) for row in rows]
