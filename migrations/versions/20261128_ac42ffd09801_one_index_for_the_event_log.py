"""One index for the event log: unique (case_id, seq) serves "events of this case" too.

Revision ID: ac42ffd09801
Revises: 5103b6659ee6
Create Date: 2026-11-28 04:50:32.830231
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "ac42ffd09801"
down_revision: str | None = "5103b6659ee6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_event_case_id"))


def downgrade() -> None:
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_event_case_id"), ["case_id"], unique=False)
