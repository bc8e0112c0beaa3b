"""Jobs: the job table (the outbox's successor, with claims, retries and dead jobs), periodic
runs, and on PostgreSQL Procrastinate's own schema.

Messages of the old outbox are carried over: those sent are done, the others pending (an
escalation or collection "sent" by the old deliverer was never delivered: they run now).

Revision ID: a1b2c3d4e5f6
Revises: ac42ffd09801
Create Date: 2026-12-02 19:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tongban.db import UtcDateTime

revision: str = "a1b2c3d4e5f6"
down_revision: str | None = "ac42ffd09801"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", UtcDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(length=80), nullable=True),
        sa.Column("claimed_until", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job")),
        sa.UniqueConstraint("key", name=op.f("uq_job_key")),
    )
    op.create_index("ix_job_due", "job", ["status", "run_after"], unique=False)
    op.create_table(
        "periodic_run",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name", "period", name=op.f("pk_periodic_run")),
    )
    op.execute(
        "INSERT INTO job (id, kind, key, payload, status, attempts, max_attempts, run_after, "
        "created_at, finished_at) "
        "SELECT id, kind, kind || ':outbox:' || id, payload, "
        "CASE WHEN sent_at IS NOT NULL AND kind = 'payment' THEN 'done' ELSE 'pending' END, "
        "attempts, 8, created_at, created_at, "
        "CASE WHEN sent_at IS NOT NULL AND kind = 'payment' THEN sent_at END "
        "FROM outbox_message"
    )
    op.drop_table("outbox_message")
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        # Procrastinate's schema for the installed version (its own SQL, run as it ships).
        from procrastinate.schema import SchemaManager

        cursor = op.get_bind().connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(SchemaManager.get_schema())
        cursor.close()
        op.execute(
            "SELECT setval(pg_get_serial_sequence('job', 'id'), COALESCE(MAX(id), 0) + 1, false) "
            "FROM job"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DO $$ DECLARE r record; BEGIN "
            "FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "AND tablename LIKE 'procrastinate%' LOOP "
            "EXECUTE 'DROP TABLE IF EXISTS ' || quote_ident(r.tablename) || ' CASCADE'; END LOOP; "
            "FOR r IN SELECT p.oid::regprocedure AS f FROM pg_proc p JOIN pg_namespace n "
            "ON n.oid = p.pronamespace WHERE n.nspname = current_schema() "
            "AND p.proname LIKE 'procrastinate%' LOOP "
            "EXECUTE 'DROP FUNCTION IF EXISTS ' || r.f || ' CASCADE'; END LOOP; "
            "FOR r IN SELECT typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
            "WHERE n.nspname = current_schema() AND typname LIKE 'procrastinate%' "
            "AND t.typtype = 'e' LOOP "
            "EXECUTE 'DROP TYPE IF EXISTS ' || quote_ident(r.typname) || ' CASCADE'; END LOOP; "
            "END $$"
        )
    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
    )
    op.execute(
        "INSERT INTO outbox_message (id, kind, payload, created_at, sent_at, attempts) "
        "SELECT id, kind, payload, created_at, finished_at, attempts FROM job"
    )
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.drop_column("email")
    op.drop_table("periodic_run")
    op.drop_index("ix_job_due", table_name="job")
    op.drop_table("job")
