"""Employees and their bearer tokens (only a sha256 hash of a token is stored).

Tokens themselves (the ``employee_tokens`` table, issue and revoke) are in
:mod:`workers.platform.tokens`, the CLI's token commands in
:mod:`workers.platform.credentials`; this module decides whose token is valid: live (not
expired, not revoked) and held by an enabled employee.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    String,
    delete,
    false,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship

from contracts.platform.operations import EmployeeCode, Label, OpsConfig
from contracts.vocabulary import Role
from workers.platform.clock import system_clock
from workers.platform.database import Base, Sessions, _now
from workers.platform.errors import InvalidInputError, UnknownEmployeeError
from workers.platform.tokens import TokenRow, issue_token, revoke_tokens, same_hash
from workers.platform.tokens import hash_token as hash_token  # re-exported: callers know it here

DEFAULT_TOKEN_LIFETIME = timedelta(hours=12)
"""A working day; processes and the CLI pass ``Settings.token_lifetime_hours`` instead."""


_EMPLOYEE_IDS: TypeAdapter[str] = TypeAdapter(EmployeeCode)
_NAMES: TypeAdapter[str] = TypeAdapter(Label)


def _valid(adapter: TypeAdapter[str], value: str, rule: str) -> str:
    """``value`` as the columns hold it, or :class:`InvalidInputError` naming the rule."""
    try:
        return adapter.validate_python(value)
    except ValidationError:
        raise InvalidInputError(rule) from None


def _record(row: EmployeeRow) -> EmployeeRecord:
    return EmployeeRecord(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        supervisor_id=row.supervisor_id,
        enabled=row.enabled,
        departments=sorted(d.department for d in row.departments),
    )


async def require_employee(
    session: AsyncSession, employee_id: str, *, for_update: bool = False
) -> EmployeeRow:
    """The employee row, or :class:`UnknownEmployeeError` (for use inside a transaction).

    ``for_update`` locks the row until commit, so token changes of one employee run in turn.
    """
    row = await session.get(EmployeeRow, employee_id, with_for_update=for_update)
    if row is None:
        raise UnknownEmployeeError(employee_id)
    return row


async def add_employee(
    sessions: Sessions,
    employee_id: str,
    name: str,
    role: str,
    supervisor_id: str | None = None,
    *,
    departments: Sequence[str] = (),
    known_departments: Collection[str] | None = None,
    lifetime: timedelta = DEFAULT_TOKEN_LIFETIME,
    now: datetime | None = None,
) -> str:
    """Create an employee (or update an existing one), enable them and issue a new bearer token.

    Any earlier token of that employee is revoked; a disabled employee is enabled again.

    Args:
        sessions: Session factory.
        employee_id: Short employee id, e.g. ``"SR"``.
        name: Display name.
        role: ``employee``, ``supervisor``, ``operator`` or ``admin``.
        supervisor_id: The employee's supervisor, who must exist.
        departments: The employee's departments (replacing any they had; none by default).
        known_departments: The configured department codes (default: the shipped ones).
        lifetime: How long the new token works.
        now: The moment of issue (default: the system clock).

    Returns:
        The new token (shown once; only its hash is stored).

    Raises:
        InvalidInputError: An id or name the employees table cannot hold, an unknown role or
            department, or an employee supervising themself.
        UnknownEmployeeError: The supervisor does not exist.
    """
    # The operations file's rules, which match the employees table's columns: a value the
    # table refuses is answered here with a readable reason, not a database error.
    id_rule = "employee ids are 1-16 characters of A-Z a-z 0-9 . _ -"
    employee_id = _valid(_EMPLOYEE_IDS, employee_id, id_rule)
    name = _valid(_NAMES, name, "names are 1-80 characters (no NUL)")
    if supervisor_id is not None:
        supervisor_id = _valid(_EMPLOYEE_IDS, supervisor_id, f"supervisor: {id_rule}")
    roles = [r.value for r in Role]
    if role not in roles:
        raise InvalidInputError(f"role must be one of {', '.join(roles)}, not {role!r}")
    if supervisor_id == employee_id:
        raise InvalidInputError(f"employee {employee_id} cannot supervise themself")
    codes = _known_departments(departments, known_departments)
    now = now or system_clock()
    async with sessions.begin() as session:
        if supervisor_id is not None:
            await require_employee(session, supervisor_id)
        values = {
            "name": name,
            "role": role,
            "supervisor_id": supervisor_id,
            "enabled": True,
            "disabled_at": None,
        }
        stmt = insert(EmployeeRow).values(id=employee_id, **values)
        await session.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=values))
        await set_departments(session, employee_id, codes)
        await revoke_tokens(session, employee_id, now=now)
        return await issue_token(session, employee_id, now=now, lifetime=lifetime)


async def employee_for_token(
    sessions: Sessions, token: str, *, now: datetime | None = None
) -> EmployeeRecord | None:
    """The employee a bearer token belongs to, or None.

    None for an unknown, expired or revoked token and for a disabled employee's token: callers
    answer all of them alike, so an answer never tells which.

    Args:
        sessions: Session factory.
        token: The bearer token as presented.
        now: The moment to judge expiry at (default: the system clock).
    """
    if not token:
        return None
    presented = hash_token(token)
    async with sessions() as session:
        found = (
            await session.execute(
                select(TokenRow, EmployeeRow)
                .join(EmployeeRow, EmployeeRow.id == TokenRow.employee_id)
                .where(TokenRow.token_hash == presented)
            )
        ).first()
        if found is None:
            return None
        token_row, employee = found
        valid = same_hash(token_row.token_hash, presented)
        if not (valid and token_row.live_at(now or system_clock()) and employee.enabled):
            return None
        return _record(employee)


async def disable_row(session: AsyncSession, employee: EmployeeRow, now: datetime) -> int:
    """Disable the employee and revoke their tokens (inside the caller's transaction).

    Returns:
        How many tokens were revoked.
    """
    # The flag alone already refuses every token; revoking them too keeps the tokens table
    # telling the truth, and re-enabling (``employees add``) cannot bring an old token back.
    if employee.enabled:
        employee.enabled = False
        employee.disabled_at = now
    return await revoke_tokens(session, employee.id, now=now)


async def get_employee(sessions: Sessions, employee_id: str) -> EmployeeRecord | None:
    """The employee with this id, or None."""
    async with sessions() as session:
        row = await session.get(EmployeeRow, employee_id)
        return _record(row) if row is not None else None


async def sync_employees_from_config(
    sessions: Sessions, config: OpsConfig, *, now: datetime | None = None
) -> int:
    """Create or update the employees listed in the configuration (their tokens untouched).

    An employee the configuration listed before and no longer lists is disabled and their
    tokens revoked at once. Employees added only through the CLI are left as they are.

    Args:
        sessions: Session factory.
        config: The validated operations configuration.
        now: When a removed employee's tokens are revoked (default: the system clock).

    Returns:
        How many employees the configuration lists.
    """
    listed = {emp.id for emp in config.employees}
    async with sessions.begin() as session:
        # Two passes: rows first, supervisors second, so the order in the file does not matter.
        for emp in config.employees:
            stmt = insert(EmployeeRow).values(
                id=emp.id, name=emp.name, role=emp.role, listed_in_config=True
            )
            await session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["id"],
                    set_={"name": emp.name, "role": emp.role, "listed_in_config": True},
                )
            )
        for emp in config.employees:
            await session.execute(
                update(EmployeeRow)
                .where(EmployeeRow.id == emp.id)
                .values(supervisor_id=emp.supervisor_id)
            )
            # The file's list is the whole truth for its employees (checked against its
            # departments when it was loaded).
            await set_departments(session, emp.id, emp.departments)
        removed = await session.scalars(
            select(EmployeeRow)
            .where(EmployeeRow.listed_in_config.is_(true()), EmployeeRow.id.not_in(listed))
            .with_for_update()
        )
        for employee in removed:
            # No longer in the file: no longer one of the file's employees either, so a later
            # ``employees add`` makes them a CLI-managed employee again.
            employee.listed_in_config = False
            await disable_row(session, employee, now or system_clock())
    return len(config.employees)


class EmployeeRecord(BaseModel):
    """An employee (never the token or its hash)."""

    id: str
    name: str
    role: Role
    supervisor_id: str | None = None
    enabled: bool = True
    departments: list[str] = Field(default_factory=list)
    """Department codes whose requests the employee sees and claims."""


def _known_departments(codes: Sequence[str], known: Collection[str] | None) -> list[str]:
    """``codes`` without repeats, or :class:`InvalidInputError` naming an unknown one."""
    if known is None:
        known = {d.code for d in OpsConfig().departments}
    unknown = sorted({code for code in codes if code not in known})
    if unknown:
        raise InvalidInputError(
            f"unknown department {', '.join(unknown)}; configured: {', '.join(sorted(known))}"
        )
    return list(dict.fromkeys(codes))


async def set_departments(session: AsyncSession, employee_id: str, codes: Sequence[str]) -> None:
    """Make ``codes`` the employee's departments (inside the caller's transaction)."""
    await session.execute(
        delete(EmployeeDepartmentRow).where(EmployeeDepartmentRow.employee_id == employee_id)
    )
    if codes:
        await session.execute(
            insert(EmployeeDepartmentRow).values(
                [{"employee_id": employee_id, "department": code} for code in codes]
            )
        )


class EmployeeRow(Base):
    """A staff member; their tokens are in ``employee_tokens`` (:mod:`workers.platform.tokens`).

    ``enabled`` false refuses every token of theirs; ``listed_in_config`` marks employees the
    operations file manages (removing one from the file disables them).
    """

    __tablename__ = "employees"
    __table_args__ = (
        CheckConstraint(f"role IN ({', '.join(repr(role.value) for role in Role)})", name="role"),
    )

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(16))
    supervisor_id: Mapped[str | None] = mapped_column(ForeignKey("employees.id"))
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=true())
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    listed_in_config: Mapped[bool] = mapped_column(Boolean, server_default=false())
    created_at: Mapped[datetime] = _now()
    # Loaded with every employee read (one extra SELECT ... IN), so a record always carries
    # the departments the permission rules read.
    departments: Mapped[list[EmployeeDepartmentRow]] = relationship(
        lazy="selectin", order_by="EmployeeDepartmentRow.department", passive_deletes=True
    )


class EmployeeDepartmentRow(Base):
    """One department of an employee (codes from the operations file's ``departments``)."""

    __tablename__ = "employee_departments"

    employee_id: Mapped[str] = mapped_column(
        ForeignKey("employees.id", ondelete="CASCADE"), primary_key=True
    )
    department: Mapped[str] = mapped_column(String(16), primary_key=True)
