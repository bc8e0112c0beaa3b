"""National implementation codes and honest gaps (issue 11): item codes up to 64 characters in
every table that stores one, time limits and visits that may be not yet recorded (NULL), and the
lists of an item version not yet recorded (``not_recorded``).

Revision ID: e5f7a9b1c3d6
Revises: d4e6f8a0b2c5
Create Date: 2026-12-05 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e5f7a9b1c3d6"
down_revision: str | None = "d4e6f8a0b2c5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("service_item") as batch:
        batch.alter_column("implementation_code", type_=sa.String(64), existing_nullable=False)
    with op.batch_alter_table("bundle_member") as batch:
        batch.alter_column("item_code", type_=sa.String(64), existing_nullable=False)
    with op.batch_alter_table("case_step") as batch:
        batch.alter_column("item_code", type_=sa.String(64), existing_nullable=True)
    with op.batch_alter_table("item_material") as batch:
        batch.alter_column("source_ref", type_=sa.String(120), existing_nullable=False)
    with op.batch_alter_table("item_version") as batch:
        for column in ("legal_limit_days", "promised_limit_days", "visits"):
            batch.alter_column(column, existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("not_recorded", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("item_version") as batch:
        batch.drop_column("not_recorded")
        for column in ("legal_limit_days", "promised_limit_days", "visits"):
            batch.alter_column(column, existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("item_material") as batch:
        batch.alter_column("source_ref", type_=sa.String(100), existing_nullable=False)
    with op.batch_alter_table("case_step") as batch:
        batch.alter_column("item_code", type_=sa.String(40), existing_nullable=True)
    with op.batch_alter_table("bundle_member") as batch:
        batch.alter_column("item_code", type_=sa.String(40), existing_nullable=False)
    with op.batch_alter_table("service_item") as batch:
        batch.alter_column("implementation_code", type_=sa.String(40), existing_nullable=False)
