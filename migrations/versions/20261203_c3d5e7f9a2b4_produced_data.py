"""Cases: the data a bundle produces for its own later steps (not asked of the applicant).

Revision ID: c3d5e7f9a2b4
Revises: b7c4e2f9a1d3
Create Date: 2026-12-03 10:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3d5e7f9a2b4"
down_revision: str | None = "b7c4e2f9a1d3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case_file") as batch:
        batch.add_column(
            sa.Column("produced_pending", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("case_file") as batch:
        batch.drop_column("produced_pending")
