"""Employees' departments and the operator and admin roles.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ROLES = ("employee", "supervisor", "operator", "admin")
"""``contracts.vocabulary.Role`` as of this revision (a migration never imports live code)."""


# 0001 named its constraint "ck_employees_role" without op.f(), so the naming convention
# prefixed it once more; the models name it "ck_employees_role". Names are given with op.f()
# here so each is used exactly as written.
_NAME_0001 = "ck_employees_ck_employees_role"
_NAME = "ck_employees_role"


def _role_check(roles: tuple[str, ...], *, drop: str, create: str) -> None:
    op.drop_constraint(op.f(drop), "employees", type_="check")
    listed = ", ".join(f"'{role}'" for role in roles)
    op.create_check_constraint(op.f(create), "employees", f"role IN ({listed})")


def upgrade() -> None:
    """Allow the new roles; one row per employee and department (department codes are the
    operations file's, checked by the application when they are set)."""
    _role_check(ROLES, drop=_NAME_0001, create=_NAME)
    op.create_table(
        "employee_departments",
        sa.Column("employee_id", sa.String(16), nullable=False),
        sa.Column("department", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("employee_id", "department", name="pk_employee_departments"),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["employees.id"],
            name="fk_employee_departments_employee_id_employees",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    """Drop the departments; operators and admins become employees (least privilege)."""
    op.drop_table("employee_departments")
    op.execute("UPDATE employees SET role = 'employee' WHERE role IN ('operator', 'admin')")
    _role_check(ROLES[:2], drop=_NAME, create=_NAME_0001)
