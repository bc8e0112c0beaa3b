"""Calendar: imported years of the official holiday arrangement (every import kept; the
highest version of a year is in force).

Revision ID: b7c4e2f9a1d3
Revises: a1b2c3d4e5f6
Create Date: 2026-12-03 09:45:25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tongban.db import UtcDateTime

revision: str = "b7c4e2f9a1d3"
down_revision: str | None = "a1b2c3d4e5f6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_year",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("days", sa.JSON(), nullable=False),
        sa.Column("papers", sa.JSON(), nullable=False),
        sa.Column("source_filename", sa.String(length=200), nullable=False),
        sa.Column("source_format", sa.String(length=12), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("imported_at", UtcDateTime(), nullable=False),
        sa.Column("imported_by_id", sa.Integer(), nullable=True),
        sa.Column("calendar_version", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["imported_by_id"],
            ["user_account.id"],
            name=op.f("fk_calendar_year_imported_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_year")),
        sa.UniqueConstraint("year", "version", name=op.f("uq_calendar_year_year")),
    )


def downgrade() -> None:
    op.drop_table("calendar_year")
