"""Bearer tokens with a lifetime and the append-only access trail.

Tokens move from ``employees.token_hash`` into ``employee_tokens`` (hash, issued, expires,
revoked); employees get ``enabled``/``disabled_at`` and ``listed_in_config``; ``audit_events``
records every read of a member's data and every change, and refuses updates and deletes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The lifetime tokens issued before this revision get, counted from the upgrade: they keep
# working for one lifetime instead of stopping at once. Read here rather than from Settings so
# this revision means the same whatever later code does with its settings.
_LIFETIME_HOURS = "MEMBERFLOW_TOKEN_LIFETIME_HOURS"


def _lifetime_seconds() -> float:
    hours = float(os.environ.get(_LIFETIME_HOURS, "12"))
    if not 0 < hours <= 24 * 366:
        raise ValueError(f"{_LIFETIME_HOURS} must be more than 0 and at most 8784 hours")
    return hours * 3600


def _append_only(table: str) -> None:
    # memberflow_append_only() comes with revision 0001 (conversations, follow-up events).
    op.execute(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION memberflow_append_only()"
    )
    op.execute(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION memberflow_append_only()"
    )


def upgrade() -> None:
    """Create ``employee_tokens`` (moving existing hashes), the employee flags and
    ``audit_events`` with its append-only triggers."""
    op.create_table(
        "employee_tokens",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("employee_id", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column(
            "issued_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_employee_tokens"),
        sa.ForeignKeyConstraint(
            ["employee_id"], ["employees.id"], name="fk_employee_tokens_employee_id_employees"
        ),
        sa.UniqueConstraint("token_hash", name="uq_employee_tokens_token_hash"),
    )
    op.create_index("ix_employee_tokens_employee_id", "employee_tokens", ["employee_id"])
    op.execute(
        sa.text(
            "INSERT INTO employee_tokens (employee_id, token_hash, issued_at, expires_at) "
            "SELECT id, token_hash, now(), now() + make_interval(secs => :seconds) "
            "FROM employees WHERE token_hash IS NOT NULL"
        ).bindparams(seconds=_lifetime_seconds())
    )
    op.drop_constraint("uq_employees_token_hash", "employees", type_="unique")
    op.drop_column("employees", "token_hash")
    op.add_column(
        "employees",
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.add_column("employees", sa.Column("disabled_at", sa.DateTime(timezone=True)))
    op.add_column(
        "employees",
        sa.Column("listed_in_config", sa.Boolean(), server_default=sa.false(), nullable=False),
    )

    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("employee_id", sa.String(16), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("member_id", sa.String(12), nullable=True),
        sa.Column("record_id", sa.String(64), nullable=True),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("client_address", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
        sa.CheckConstraint(
            "outcome IN ('allowed', 'denied', 'failed')", name="ck_audit_events_outcome"
        ),
    )
    op.create_index("ix_audit_events_member_id", "audit_events", ["member_id", "id"])
    op.create_index("ix_audit_events_employee_id", "audit_events", ["employee_id", "id"])
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    _append_only("audit_events")


def downgrade() -> None:
    """Back to one token hash per employee (the newest live one); the access trail is dropped."""
    op.drop_table("audit_events")
    op.drop_column("employees", "listed_in_config")
    op.drop_column("employees", "disabled_at")
    op.drop_column("employees", "enabled")
    op.add_column("employees", sa.Column("token_hash", sa.String(64), nullable=True))
    op.create_unique_constraint("uq_employees_token_hash", "employees", ["token_hash"])
    op.execute(
        "UPDATE employees e SET token_hash = t.token_hash FROM ("
        " SELECT DISTINCT ON (employee_id) employee_id, token_hash FROM employee_tokens"
        " WHERE revoked_at IS NULL AND expires_at > now()"
        " ORDER BY employee_id, issued_at DESC) t WHERE t.employee_id = e.id"
    )
    op.drop_table("employee_tokens")
