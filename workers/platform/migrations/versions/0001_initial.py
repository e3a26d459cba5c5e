"""Initial Tracker store: employees, Trackers, append-only conversations, follow-ups,
the Contact Us queue read model and secure messages.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

KEY = 200

# Trackers are permanent records (docs/operations.md): notes cannot be edited or deleted once saved.
# The application never updates them; this trigger makes the database refuse it too.
APPEND_ONLY_FUNCTION = """
CREATE FUNCTION memberflow_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$
"""


def _now() -> sa.Column[datetime]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def _append_only(table: str) -> None:
    op.execute(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION memberflow_append_only()"
    )
    op.execute(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION memberflow_append_only()"
    )


def upgrade() -> None:
    """Create the tables, indexes and the append-only triggers."""
    op.create_table(
        "employees",
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("supervisor_id", sa.String(16), nullable=True),
        sa.Column("token_hash", sa.String(64), nullable=True),
        _now(),
        sa.PrimaryKeyConstraint("id", name="pk_employees"),
        sa.ForeignKeyConstraint(
            ["supervisor_id"], ["employees.id"], name="fk_employees_supervisor_id_employees"
        ),
        sa.UniqueConstraint("token_hash", name="uq_employees_token_hash"),
        sa.CheckConstraint("role IN ('employee', 'supervisor')", name="ck_employees_role"),
    )
    op.create_table(
        "trackers",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("member_id", sa.String(12), nullable=False),
        sa.Column("account_suffix", sa.String(3), nullable=False),
        sa.Column("tracker_type", sa.String(2), nullable=False),
        sa.Column("single_type", sa.String(2), nullable=True),
        sa.Column("description", sa.String(120), nullable=False),
        _now(),
        sa.PrimaryKeyConstraint("id", name="pk_trackers"),
        sa.UniqueConstraint("member_id", "single_type", name="uq_trackers_member_single_type"),
    )
    op.create_index("ix_trackers_member_type", "trackers", ["member_id", "tracker_type"])
    op.create_table(
        "conversations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tracker_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        _now(),
        sa.Column("employee_id", sa.String(32), nullable=False),
        sa.Column("memo_type", sa.String(2), nullable=False),
        sa.Column("need_group", sa.String(16), nullable=True),
        sa.Column("task", sa.String(16), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("thread_id", sa.String(64), nullable=True),
        sa.Column("idempotency_key", sa.String(KEY), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_conversations"),
        sa.ForeignKeyConstraint(
            ["tracker_id"], ["trackers.id"], name="fk_conversations_tracker_id_trackers"
        ),
        sa.UniqueConstraint("tracker_id", "seq", name="uq_conversations_tracker_seq"),
        sa.UniqueConstraint("idempotency_key", name="uq_conversations_idempotency_key"),
    )
    op.create_index("ix_conversations_thread_id", "conversations", ["thread_id"])
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("conversation_id", sa.String(36), nullable=False),
        sa.Column("member_id", sa.String(12), nullable=False),
        sa.Column("tracker_id", sa.String(36), nullable=False),
        sa.Column("assignee_employee_id", sa.String(16), nullable=False),
        sa.Column("assigned_by", sa.String(32), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), server_default="outstanding", nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_by", sa.String(32), nullable=True),
        sa.Column("completion_key", sa.String(KEY), nullable=True),
        _now(),
        sa.Column("idempotency_key", sa.String(KEY), nullable=False),
        sa.Column("parent_follow_up_id", sa.String(64), nullable=True),
        sa.Column("thread_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_follow_ups"),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_follow_ups_conversation_id_conversations",
        ),
        sa.ForeignKeyConstraint(
            ["tracker_id"], ["trackers.id"], name="fk_follow_ups_tracker_id_trackers"
        ),
        sa.ForeignKeyConstraint(
            ["assignee_employee_id"],
            ["employees.id"],
            name="fk_follow_ups_assignee_employee_id_employees",
        ),
        sa.ForeignKeyConstraint(
            ["parent_follow_up_id"],
            ["follow_ups.id"],
            name="fk_follow_ups_parent_follow_up_id_follow_ups",
        ),
        sa.UniqueConstraint("idempotency_key", name="uq_follow_ups_idempotency_key"),
        sa.CheckConstraint("status IN ('outstanding', 'completed')", name="ck_follow_ups_status"),
    )
    op.create_index("ix_follow_ups_conversation_id", "follow_ups", ["conversation_id"])
    op.create_index("ix_follow_ups_member_id", "follow_ups", ["member_id"])
    op.create_index("ix_follow_ups_thread_id", "follow_ups", ["thread_id"])
    op.create_index(
        "ix_follow_ups_assignee_status_due",
        "follow_ups",
        ["assignee_employee_id", "status", "due_on"],
    )
    op.create_table(
        "follow_up_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("follow_up_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("from_employee_id", sa.String(32), nullable=True),
        sa.Column("to_employee_id", sa.String(32), nullable=True),
        sa.Column("by_employee_id", sa.String(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(KEY), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_follow_up_events"),
        sa.ForeignKeyConstraint(
            ["follow_up_id"],
            ["follow_ups.id"],
            name="fk_follow_up_events_follow_up_id_follow_ups",
        ),
        sa.UniqueConstraint("idempotency_key", name="uq_follow_up_events_idempotency_key"),
    )
    op.create_index("ix_follow_up_events_follow_up_id", "follow_up_events", ["follow_up_id"])
    op.create_table(
        "contact_requests",
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("member_id", sa.String(12), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(60), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("department", sa.String(16), nullable=True),
        sa.Column("callback_phone", sa.String(16), nullable=True),
        sa.Column("callback_method", sa.String(8), nullable=True),
        sa.Column("in_reply_to", sa.String(64), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(16), server_default="queued", nullable=False),
        sa.Column("claimed_by", sa.String(16), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("request_id", name="pk_contact_requests"),
        sa.CheckConstraint(
            "state IN ('queued', 'claimed', 'replied', 'deleted')", name="ck_contact_requests_state"
        ),
    )
    op.create_index("ix_contact_requests_member_id", "contact_requests", ["member_id"])
    op.create_index(
        "ix_contact_requests_state_submitted", "contact_requests", ["state", "submitted_at"]
    )
    op.create_table(
        "secure_messages",
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("member_id", sa.String(12), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sent_by_employee_id", sa.String(32), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name="pk_secure_messages"),
        sa.UniqueConstraint("request_id", name="uq_secure_messages_request_id"),
    )
    op.create_index("ix_secure_messages_member_id", "secure_messages", ["member_id"])

    op.execute(APPEND_ONLY_FUNCTION)
    _append_only("conversations")
    _append_only("follow_up_events")


def downgrade() -> None:
    """Drop everything (the triggers go with their tables)."""
    for table in (
        "secure_messages",
        "contact_requests",
        "follow_up_events",
        "follow_ups",
        "conversations",
        "trackers",
        "employees",
    ):
        op.drop_table(table)
    op.execute("DROP FUNCTION memberflow_append_only()")
