"""Employees' departments in the store: set by the operations file and by ``employees add``."""

from __future__ import annotations

import random

import pytest

from contracts.platform.operations import Employee, OpsConfig
from contracts.vocabulary import Role
from workers.platform.credentials import disable_employee
from workers.platform.database import Sessions
from workers.platform.directory import directory_entries
from workers.platform.employees import add_employee, get_employee
from workers.platform.employees import sync_employees_from_config as sync
from workers.platform.errors import InvalidInputError

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def _ids() -> tuple[str, str]:
    tag = f"{random.getrandbits(24):06x}"
    return f"DA{tag}", f"DB{tag}"


async def test_the_operations_file_sets_and_replaces_departments(sessions: Sessions) -> None:
    boss, worker = _ids()
    first = OpsConfig(
        employees=[
            Employee(id=boss, name="Boss", role=Role.SUPERVISOR, departments=["LOANS", "CARDS"]),
            Employee(id=worker, name="Worker", supervisor_id=boss, departments=["LOANS"]),
        ]
    )
    await sync(sessions, first)
    found = await directory_entries(sessions, [boss, worker])
    assert found[boss].departments == ["CARDS", "LOANS"] and found[boss].role is Role.SUPERVISOR
    assert (found[worker].departments, found[worker].supervisor_id) == (["LOANS"], boss)

    second = first.model_copy(
        update={
            "employees": [
                first.employees[0],
                Employee(id=worker, name="Worker", supervisor_id=boss, departments=["GENERAL"]),
            ]
        }
    )
    await sync(sessions, second)
    record = await get_employee(sessions, worker)
    assert record is not None and record.departments == ["GENERAL"]


async def test_employees_add_sets_departments_and_refuses_unknown_ones(sessions: Sessions) -> None:
    employee, _ = _ids()
    await add_employee(sessions, employee, "Dee", "operator", departments=["CARDS"])
    record = await get_employee(sessions, employee)
    assert record is not None and (record.role, record.departments) == (Role.OPERATOR, ["CARDS"])

    with pytest.raises(InvalidInputError, match="unknown department MORTGAGE; configured: "):
        await add_employee(sessions, employee, "Dee", "employee", departments=["MORTGAGE"])
    record = await get_employee(sessions, employee)
    assert record is not None and (record.role, record.departments) == (Role.OPERATOR, ["CARDS"])

    # Added again without departments: none (the command sets what it is given).
    await add_employee(sessions, employee, "Dee", "employee")
    record = await get_employee(sessions, employee)
    assert record is not None and record.departments == []


async def test_a_disabled_employee_is_not_in_the_directory(sessions: Sessions) -> None:
    employee, _ = _ids()
    await add_employee(sessions, employee, "Dee", "supervisor", departments=["LOANS"])
    assert employee in await directory_entries(sessions, [employee])
    await disable_employee(sessions, employee)
    assert await directory_entries(sessions, [employee]) == {}
