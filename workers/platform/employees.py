"""Employees and their bearer tokens (only a sha256 hash of a token is stored)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    String,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from contracts.platform.operations import EmployeeCode, Label, OpsConfig
from contracts.vocabulary import Role
from workers.platform.database import Base, Sessions, _now
from workers.platform.errors import InvalidInputError, UnknownEmployeeError


def hash_token(token: str) -> str:
    """The stored form of a bearer token: its sha256, hex.

    A plain hash is enough: tokens are 256-bit random values, not guessable passwords.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


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
        id=row.id, name=row.name, role=Role(row.role), supervisor_id=row.supervisor_id
    )


async def require_employee(session: AsyncSession, employee_id: str) -> EmployeeRow:
    """The employee row, or :class:`UnknownEmployeeError` (for use inside a transaction)."""
    row = await session.get(EmployeeRow, employee_id)
    if row is None:
        raise UnknownEmployeeError(employee_id)
    return row


async def add_employee(
    sessions: Sessions,
    employee_id: str,
    name: str,
    role: str,
    supervisor_id: str | None = None,
) -> str:
    """Create an employee (or update an existing one) and issue a new bearer token.

    Any earlier token of that employee stops working.

    Args:
        sessions: Session factory.
        employee_id: Short employee id, e.g. ``"SR"``.
        name: Display name.
        role: ``employee`` or ``supervisor``.
        supervisor_id: The employee's supervisor, who must exist.

    Returns:
        The new token (shown once; only its hash is stored).

    Raises:
        InvalidInputError: An id or name the employees table cannot hold, an unknown role, or
            an employee supervising themself.
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
    token = secrets.token_urlsafe(32)
    async with sessions.begin() as session:
        if supervisor_id is not None:
            await require_employee(session, supervisor_id)
        values = {
            "name": name,
            "role": role,
            "supervisor_id": supervisor_id,
            "token_hash": hash_token(token),
        }
        stmt = insert(EmployeeRow).values(id=employee_id, **values)
        await session.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=values))
    return token


async def employee_for_token(sessions: Sessions, token: str) -> EmployeeRecord | None:
    """The employee a bearer token belongs to, or None."""
    if not token:
        return None
    async with sessions() as session:
        row = await session.scalar(
            select(EmployeeRow).where(EmployeeRow.token_hash == hash_token(token))
        )
        return _record(row) if row is not None else None


async def get_employee(sessions: Sessions, employee_id: str) -> EmployeeRecord | None:
    """The employee with this id, or None."""
    async with sessions() as session:
        row = await session.get(EmployeeRow, employee_id)
        return _record(row) if row is not None else None


async def sync_employees_from_config(sessions: Sessions, config: OpsConfig) -> int:
    """Create or update the employees listed in the configuration (tokens untouched).

    Employees added only through the CLI are left as they are.

    Args:
        sessions: Session factory.
        config: The validated operations configuration.

    Returns:
        How many employees the configuration lists.
    """
    async with sessions.begin() as session:
        # Two passes: rows first, supervisors second, so the order in the file does not matter.
        for emp in config.employees:
            stmt = insert(EmployeeRow).values(id=emp.id, name=emp.name, role=emp.role)
            await session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["id"], set_={"name": emp.name, "role": emp.role}
                )
            )
        for emp in config.employees:
            await session.execute(
                update(EmployeeRow)
                .where(EmployeeRow.id == emp.id)
                .values(supervisor_id=emp.supervisor_id)
            )
    return len(config.employees)


class EmployeeRecord(BaseModel):
    """An employee (never the token or its hash)."""

    id: str
    name: str
    role: Role
    supervisor_id: str | None = None


class EmployeeRow(Base):
    """A staff member; ``token_hash`` is the sha256 of the bearer token (never the token)."""

    __tablename__ = "employees"
    __table_args__ = (
        CheckConstraint(f"role IN ({', '.join(repr(role.value) for role in Role)})", name="role"),
    )

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(16))
    supervisor_id: Mapped[str | None] = mapped_column(ForeignKey("employees.id"))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = _now()
