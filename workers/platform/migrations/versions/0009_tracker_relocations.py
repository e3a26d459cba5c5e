"""Tracker consolidate and copy.

``tracker_consolidations`` and ``conversation_relocations`` record every consolidation and each
conversation it moved; ``conversation_copies`` links a copy to the conversation it was copied
from. The three only grow (a trigger refuses UPDATE, TRUNCATE and a direct DELETE; the cascade
from a purged conversation is let through).

Consolidation moves conversations from one Tracker to another by changing ``tracker_id`` and
nothing else: ``memberflow_relocate_conversations``, SECURITY DEFINER and owned by the role the
append-only trigger of revision 0007 lets change ``tracker_id``, is the one way to do it. A moved
conversation keeps its ``seq`` (its number in the Tracker it was written in), so two
conversations of one Tracker may now share one: ``(tracker_id, seq)`` becomes a plain index, and
a Tracker lists its conversations by their time.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

RECORDS = ("tracker_consolidations", "conversation_relocations", "conversation_copies")

MAINTENANCE_ROLE = "memberflow_tracker_maintenance"
"""The role of revision 0007: inside functions it owns, the append-only guard of
``conversations`` lets an UPDATE change ``tracker_id`` and nothing else."""
RELOCATE_FUNCTION = "memberflow_relocate_conversations(varchar, varchar, varchar, varchar)"

# SQLSTATE MFR01: the Trackers do not qualify (the application checks first and answers in
# words; this is the backstop for any other caller). The lock is the application's own
# (member, type) advisory lock (``tracker_store.lock_name``), re-entrant within a transaction.
RELOCATE = """
CREATE FUNCTION memberflow_relocate_conversations(
    p_consolidation_id varchar, p_from_tracker varchar, p_to_tracker varchar,
    p_employee_id varchar
) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    v_done tracker_consolidations%ROWTYPE;
    v_from trackers%ROWTYPE;
    v_to trackers%ROWTYPE;
    v_count integer;
    v_moved integer;
BEGIN
    SELECT * INTO v_to FROM trackers WHERE id = p_to_tracker;
    IF FOUND THEN
        PERFORM pg_advisory_xact_lock(
            hashtextextended('tracker:' || v_to.member_id || ':' || v_to.tracker_type, 0));
    END IF;
    SELECT * INTO v_done FROM tracker_consolidations WHERE id = p_consolidation_id;
    IF FOUND THEN
        IF v_done.from_tracker_id = p_from_tracker AND v_done.to_tracker_id = p_to_tracker THEN
            RETURN v_done.moved;
        END IF;
        RAISE EXCEPTION 'consolidation % joined other Trackers', p_consolidation_id
            USING ERRCODE = 'MFR01';
    END IF;
    SELECT * INTO v_from FROM trackers WHERE id = p_from_tracker;
    IF v_from.id IS NULL OR v_to.id IS NULL OR v_from.id = v_to.id
            OR v_from.member_id <> v_to.member_id OR v_from.tracker_type <> v_to.tracker_type
            OR v_from.account_suffix <> '000' OR v_to.account_suffix <> '000' THEN
        RAISE EXCEPTION 'Trackers % and % cannot be consolidated', p_from_tracker, p_to_tracker
            USING ERRCODE = 'MFR01';
    END IF;
    SELECT count(*) INTO v_count FROM conversations WHERE tracker_id = p_from_tracker;
    INSERT INTO tracker_consolidations (id, member_id, tracker_type, from_tracker_id,
            to_tracker_id, moved, consolidated_by)
        VALUES (p_consolidation_id, v_to.member_id, v_to.tracker_type, p_from_tracker,
            p_to_tracker, v_count, p_employee_id);
    INSERT INTO conversation_relocations (conversation_id, from_tracker_id, to_tracker_id,
            consolidation_id, relocated_by)
        SELECT id, p_from_tracker, p_to_tracker, p_consolidation_id, p_employee_id
        FROM conversations WHERE tracker_id = p_from_tracker;
    -- tracker_id only: the guard refuses any other change, here too.
    UPDATE conversations SET tracker_id = p_to_tracker WHERE tracker_id = p_from_tracker;
    GET DIAGNOSTICS v_moved = ROW_COUNT;
    IF v_moved <> v_count THEN
        RAISE EXCEPTION 'consolidation % moved % of % conversations', p_consolidation_id,
            v_moved, v_count USING ERRCODE = 'MFR01';
    END IF;
    -- A follow-up names its conversation by id (unchanged) and its Tracker, which moves along.
    UPDATE follow_ups SET tracker_id = p_to_tracker WHERE tracker_id = p_from_tracker;
    DELETE FROM trackers WHERE id = p_from_tracker;
    RETURN v_count;
END;
$$
"""

GRANTS = (
    ("tracker_consolidations", "SELECT, INSERT"),
    ("conversation_relocations", "SELECT, INSERT"),
    ("conversations", "UPDATE (tracker_id)"),
    ("follow_ups", "UPDATE (tracker_id)"),
)
"""What the function needs beyond revision 0007's grants (SELECT on the Tracker tables,
DELETE on ``trackers``)."""

# Records of what happened only grow. pg_trigger_depth() is 1 for a statement aimed at the table
# and more inside the cascade of a foreign key (RI actions run as triggers): a conversation the
# controlled purge removes takes its relocation and copy records with it, nothing else deletes.
RECORDS_ONLY_GROW = """
CREATE FUNCTION memberflow_records_only_grow() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND pg_trigger_depth() > 1 THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% only grows: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$
"""


def _now(name: str) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def _only_grows(table: str) -> None:
    op.execute(
        f"CREATE TRIGGER {table}_only_grows BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION memberflow_records_only_grow()"
    )
    op.execute(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION memberflow_records_only_grow()"
    )


def _record_tables() -> None:
    op.create_table(
        "tracker_consolidations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("member_id", sa.String(12), nullable=False),
        sa.Column("tracker_type", sa.String(2), nullable=False),
        sa.Column("from_tracker_id", sa.String(36), nullable=False),
        sa.Column("to_tracker_id", sa.String(36), nullable=False),
        sa.Column("moved", sa.Integer(), nullable=False),
        sa.Column("consolidated_by", sa.String(32), nullable=False),
        _now("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_tracker_consolidations"),
    )
    op.create_index("ix_tracker_consolidations_member_id", "tracker_consolidations", ["member_id"])
    op.create_table(
        "conversation_relocations",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("conversation_id", sa.String(36), nullable=False),
        sa.Column("from_tracker_id", sa.String(36), nullable=False),
        sa.Column("to_tracker_id", sa.String(36), nullable=False),
        sa.Column("consolidation_id", sa.String(36), nullable=False),
        sa.Column("relocated_by", sa.String(32), nullable=False),
        _now("relocated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_conversation_relocations"),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_conversation_relocations_conversation_id_conversations",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["consolidation_id"],
            ["tracker_consolidations.id"],
            # The conventional name would pass PostgreSQL's 63 characters.
            name="fk_conversation_relocations_consolidation_id",
        ),
        sa.UniqueConstraint(
            "consolidation_id",
            "conversation_id",
            name="uq_conversation_relocations_consolidation_id",
        ),
    )
    op.create_index(
        "ix_conversation_relocations_conversation_id",
        "conversation_relocations",
        ["conversation_id"],
    )
    op.create_table(
        "conversation_copies",
        sa.Column("conversation_id", sa.String(36), nullable=False),
        sa.Column("source_conversation_id", sa.String(36), nullable=False),
        sa.Column("copy_id", sa.String(36), nullable=False),
        sa.Column("copied_by", sa.String(32), nullable=False),
        _now("copied_at"),
        sa.PrimaryKeyConstraint("conversation_id", name="pk_conversation_copies"),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_conversation_copies_conversation_id_conversations",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_conversation_id"],
            ["conversations.id"],
            name="fk_conversation_copies_source_conversation_id_conversations",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_conversation_copies_source_conversation_id",
        "conversation_copies",
        ["source_conversation_id"],
    )
    op.create_index("ix_conversation_copies_copy_id", "conversation_copies", ["copy_id"])
    op.execute(RECORDS_ONLY_GROW)
    for table in RECORDS:
        _only_grows(table)


def _own_by_maintenance(signature: str) -> None:
    """Hand a SECURITY DEFINER function to the maintenance role, pinned to this schema.

    The steps of revision 0007's helper of the same name (a revision does not import another).
    """
    # A new owner needs CREATE on the schema (unless we are superuser): lent for the change only.
    op.execute(
        "DO $$ BEGIN "
        f"EXECUTE format('GRANT CREATE ON SCHEMA %I TO {MAINTENANCE_ROLE}', current_schema()); "
        f"ALTER FUNCTION {signature} OWNER TO {MAINTENANCE_ROLE}; "
        f"EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM {MAINTENANCE_ROLE}', current_schema()); "
        "END $$"
    )
    op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    op.execute(
        "DO $$ BEGIN EXECUTE format("
        f"'ALTER FUNCTION {signature} SET search_path = %I, pg_temp', current_schema()); "
        f"EXECUTE format('GRANT EXECUTE ON FUNCTION {signature} TO %I', session_user); "
        f"EXECUTE format('GRANT EXECUTE ON FUNCTION {signature} TO %I', current_user); "
        "END $$"
    )


def upgrade() -> None:
    """Create the record tables and the relocation function; relax ``(tracker_id, seq)``."""
    _record_tables()
    op.drop_constraint("uq_conversations_tracker_seq", "conversations", type_="unique")
    op.create_index("ix_conversations_tracker_seq", "conversations", ["tracker_id", "seq"])
    for table, rights in GRANTS:
        op.execute(f"GRANT {rights} ON {table} TO {MAINTENANCE_ROLE}")
    op.execute(RELOCATE)
    _own_by_maintenance(RELOCATE_FUNCTION)


def downgrade() -> None:
    """Drop what ``upgrade`` created (fails once a consolidation left two equal ``seq``)."""
    op.execute(f"DROP FUNCTION {RELOCATE_FUNCTION}")
    for table, rights in GRANTS:
        op.execute(f"REVOKE {rights} ON {table} FROM {MAINTENANCE_ROLE}")
    op.drop_index("ix_conversations_tracker_seq", "conversations")
    op.create_unique_constraint(
        "uq_conversations_tracker_seq", "conversations", ["tracker_id", "seq"]
    )
    for table in reversed(RECORDS):
        op.drop_table(table)
    op.execute("DROP FUNCTION memberflow_records_only_grow()")
