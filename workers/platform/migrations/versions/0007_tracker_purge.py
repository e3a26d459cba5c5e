"""Tracker purge: the one controlled delete path.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

The guard (``memberflow_append_only()``, revision 0001) refused every UPDATE, DELETE and
TRUNCATE of ``conversations``, ``follow_up_events`` and ``audit_events``. From this revision it
makes exactly one exception, for one role:

* **The role** ``memberflow_tracker_maintenance`` (``MAINTENANCE_ROLE``): NOLOGIN, created here
  when missing (roles belong to the cluster: one role serves every database in it, and the
  downgrade leaves it). Nobody logs in as it; it only *owns* the controlled functions, which
  are ``SECURITY DEFINER``, so inside them ``current_user`` is this role and outside them it
  never is. Creating it needs SUPERUSER or CREATEROLE (the local stack's ``memberflow`` role
  is a superuser, ``deploy/postgres.py``); a plain owner role without CREATEROLE needs a DBA to
  run ``CREATE ROLE memberflow_tracker_maintenance NOLOGIN; GRANT
  memberflow_tracker_maintenance TO <owner>`` first (the migration says so when it stops).
* **The trigger** allows, when ``current_user`` is that role: ``DELETE`` of a row; and
  ``UPDATE`` that changes nothing but the columns named as the trigger's arguments
  (``TG_ARGV``), compared as ``to_jsonb(NEW) - TG_ARGV = to_jsonb(OLD) - TG_ARGV``. A trigger
  created without arguments allows no UPDATE at all. TRUNCATE stays refused for everyone.
  This revision recreates ``conversations_append_only`` with the argument ``'tracker_id'``
  (a later controlled function may move a conversation to another Tracker, never change its
  content); ``follow_up_events`` and ``audit_events`` keep theirs without arguments.
* **Privileges** decide which tables the role may touch at all: here SELECT on what the purge
  function reads and DELETE on ``conversations``, ``follow_ups``, ``follow_up_events`` and
  ``trackers``; nothing on ``audit_events``. A later controlled function grants what it needs
  (e.g. ``GRANT UPDATE (tracker_id) ON conversations``), is created ``SECURITY DEFINER``
  with ``SET search_path``, handed to the role with ``_own_by_maintenance(signature)`` (the
  same steps as here) and its EXECUTE revoked from PUBLIC.

The guard stops every ordinary path (the application's sessions, a stray ``DELETE`` in psql by
a non-owner). It cannot stop a table owner who disables the trigger or a member who
``SET ROLE``\\s to the maintenance role on purpose; docs/security.md says so.

The purge function ``memberflow_purge_conversations(purge_id, conversation_ids)`` deletes, for
one chunk of a verified purge (``tracker_purges`` / ``tracker_purge_items``): the follow-ups of
the follow-up threads those conversations carry (with their events), the conversations, then
the Trackers left empty. It refuses (SQLSTATE ``MFP01``) a conversation whose Tracker type the
verify stage did not record as purgeable, and (``MFP02``) anything the verify stage did not
list, an open follow-up in a thread, or a purge that is not open. The rules that choose the
set live in ``workers/trackers/purge_selection.py``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

MAINTENANCE_ROLE = "memberflow_tracker_maintenance"
PURGE_FUNCTION = "memberflow_purge_conversations(varchar, varchar[])"

GUARD_0001 = """
CREATE OR REPLACE FUNCTION memberflow_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$
"""

GUARD = f"""
CREATE OR REPLACE FUNCTION memberflow_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Only the controlled SECURITY DEFINER functions run as this role (module docstring).
    IF current_user = '{MAINTENANCE_ROLE}' THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        IF TG_OP = 'UPDATE' AND TG_NARGS > 0
                AND (to_jsonb(NEW) - TG_ARGV) = (to_jsonb(OLD) - TG_ARGV) THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$
"""

CREATE_ROLE = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{MAINTENANCE_ROLE}') THEN
        BEGIN
            CREATE ROLE {MAINTENANCE_ROLE} NOLOGIN;
        EXCEPTION
            -- Another database of the cluster migrating at the same moment created it.
            WHEN duplicate_object OR unique_violation THEN NULL;
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'role {MAINTENANCE_ROLE} is missing and % may not create it',
                    current_user
                    USING HINT = 'as a superuser: CREATE ROLE {MAINTENANCE_ROLE} NOLOGIN; '
                        'GRANT {MAINTENANCE_ROLE} TO ' || current_user;
        END;
    END IF;
    -- ALTER ... OWNER TO needs membership unless superuser; CREATEROLE may grant it.
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
            AND NOT pg_has_role(current_user, '{MAINTENANCE_ROLE}', 'MEMBER') THEN
        BEGIN
            EXECUTE format('GRANT {MAINTENANCE_ROLE} TO %I', current_user);
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE EXCEPTION '% must be a member of role {MAINTENANCE_ROLE}', current_user
                USING HINT = 'as a superuser: GRANT {MAINTENANCE_ROLE} TO ' || current_user;
        END;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO {MAINTENANCE_ROLE}', current_schema());
END;
$$
"""

PURGE = """
CREATE FUNCTION memberflow_purge_conversations(
    p_purge_id varchar, p_conversation_ids varchar[]
) RETURNS TABLE (conversations_deleted integer, trackers_deleted integer)
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    v_types varchar[];
    v_found varchar;
    v_trackers varchar[];
    v_tracker varchar;
    v_threads varchar[];
    v_conversations integer := 0;
    v_emptied integer := 0;
BEGIN
    SELECT purge_types INTO v_types FROM tracker_purges
        WHERE id = p_purge_id AND state = 'verified';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'purge % is not verified and open', p_purge_id USING ERRCODE = 'MFP02';
    END IF;
    IF EXISTS (
        SELECT 1 FROM unnest(p_conversation_ids) AS asked(id)
        WHERE NOT EXISTS (
            SELECT 1 FROM tracker_purge_items i
            WHERE i.purge_id = p_purge_id AND i.conversation_id = asked.id)
    ) THEN
        RAISE EXCEPTION 'a conversation was not listed by the verify stage of purge %',
            p_purge_id USING ERRCODE = 'MFP02';
    END IF;
    SELECT t.tracker_type INTO v_found
        FROM conversations c JOIN trackers t ON t.id = c.tracker_id
        WHERE c.id = ANY(p_conversation_ids) AND NOT (t.tracker_type = ANY(v_types))
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'Tracker type % does not allow purging', v_found USING ERRCODE = 'MFP01';
    END IF;
    -- A follow-up thread goes whole or not at all: its follow-ups are deleted with the first
    -- chunk that holds one of its conversations (parent and child in one statement).
    SELECT array_agg(DISTINCT l.thread_id) INTO v_threads FROM (
        SELECT f.thread_id FROM follow_ups f WHERE f.conversation_id = ANY(p_conversation_ids)
        UNION
        SELECT c.thread_id FROM conversations c
            WHERE c.id = ANY(p_conversation_ids) AND c.thread_id IS NOT NULL
    ) AS l;
    IF EXISTS (
        SELECT 1 FROM follow_ups f
        WHERE f.thread_id = ANY(v_threads)
          AND (f.status = 'outstanding' OR NOT EXISTS (
                SELECT 1 FROM tracker_purge_items i
                WHERE i.purge_id = p_purge_id AND i.conversation_id = f.conversation_id))
    ) THEN
        RAISE EXCEPTION 'a follow-up thread of purge % is open or changed since verify',
            p_purge_id USING ERRCODE = 'MFP02';
    END IF;
    DELETE FROM follow_up_events e USING follow_ups f
        WHERE e.follow_up_id = f.id AND f.thread_id = ANY(v_threads);
    DELETE FROM follow_ups WHERE thread_id = ANY(v_threads);
    SELECT array_agg(DISTINCT tracker_id) INTO v_trackers
        FROM conversations WHERE id = ANY(p_conversation_ids);
    DELETE FROM conversations WHERE id = ANY(p_conversation_ids);
    GET DIAGNOSTICS v_conversations = ROW_COUNT;
    FOR v_tracker IN
        SELECT t.id FROM trackers t
        WHERE t.id = ANY(v_trackers)
          AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.tracker_id = t.id)
    LOOP
        BEGIN
            DELETE FROM trackers WHERE id = v_tracker;
            v_emptied := v_emptied + 1;
        EXCEPTION WHEN foreign_key_violation THEN
            NULL;  -- still referenced (a follow-up or a later table's row): the Tracker stays
        END;
    END LOOP;
    RETURN QUERY SELECT v_conversations, v_emptied;
END;
$$
"""


def _own_by_maintenance(signature: str) -> None:
    """Hand a SECURITY DEFINER function to the maintenance role, pinned to this schema."""
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


def _guard_conversations(arguments: str) -> None:
    op.execute("DROP TRIGGER conversations_append_only ON conversations")
    op.execute(
        "CREATE TRIGGER conversations_append_only BEFORE UPDATE OR DELETE ON conversations "
        f"FOR EACH ROW EXECUTE FUNCTION memberflow_append_only({arguments})"
    )


def upgrade() -> None:
    """The maintenance role, the guard's one exception, the purge tables and function."""
    op.execute(CREATE_ROLE)
    op.execute(GUARD)
    _guard_conversations("'tracker_id'")

    op.create_table(
        "tracker_purges",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("criteria", postgresql.JSONB(), nullable=False),
        sa.Column("purge_types", postgresql.ARRAY(sa.String(2)), nullable=False),
        sa.Column("report", postgresql.JSONB(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("verified_by", sa.String(32), nullable=False),
        sa.Column(
            "verified_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("confirmed_by", sa.String(32), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tracker_purges"),
        sa.CheckConstraint("state IN ('verified', 'confirmed')", name="ck_tracker_purges_state"),
        sa.CheckConstraint("origin IN ('manual', 'retention')", name="ck_tracker_purges_origin"),
    )
    op.create_table(
        "tracker_purge_items",
        sa.Column("purge_id", sa.String(36), nullable=False),
        # No foreign key to conversations: the point of the row is to outlive its conversation.
        sa.Column("conversation_id", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("purge_id", "conversation_id", name="pk_tracker_purge_items"),
        sa.ForeignKeyConstraint(
            ["purge_id"],
            ["tracker_purges.id"],
            name="fk_tracker_purge_items_purge_id_tracker_purges",
            ondelete="CASCADE",
        ),
    )

    for table, rights in (
        ("tracker_purges", "SELECT"),
        ("tracker_purge_items", "SELECT"),
        ("trackers", "SELECT, DELETE"),
        ("conversations", "SELECT, DELETE"),
        ("follow_ups", "SELECT, DELETE"),
        ("follow_up_events", "SELECT, DELETE"),
    ):
        op.execute(f"GRANT {rights} ON {table} TO {MAINTENANCE_ROLE}")
    op.execute(PURGE)
    _own_by_maintenance(PURGE_FUNCTION)


def downgrade() -> None:
    """Back to the guard without exceptions; the (cluster-wide) role stays."""
    op.execute(f"DROP FUNCTION {PURGE_FUNCTION}")
    for table in ("trackers", "conversations", "follow_ups", "follow_up_events"):
        op.execute(f"REVOKE ALL ON {table} FROM {MAINTENANCE_ROLE}")
    op.drop_table("tracker_purge_items")
    op.drop_table("tracker_purges")
    _guard_conversations("")
    op.execute(GUARD_0001)
    op.execute(
        f"DO $$ BEGIN EXECUTE format('REVOKE USAGE ON SCHEMA %I FROM {MAINTENANCE_ROLE}', "
        "current_schema()); END $$"
    )
