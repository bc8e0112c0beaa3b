"""Data elements that hold the applicant's own details (asked once, issue 12), and the contact
details of departments and service halls (the receipt and the one-time notice name the window).

Revision ID: a7b9c1d3e5f8
Revises: f6a8b0c2d4e7
Create Date: 2026-12-06 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a7b9c1d3e5f8"
down_revision: str | None = "f6a8b0c2d4e7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CONTACT = ("address_zh", "address_en", "hours_zh", "hours_en", "phone")


def upgrade() -> None:
    with op.batch_alter_table("data_element") as batch:
        batch.add_column(sa.Column("applicant_field", sa.String(16), nullable=True))
    with op.batch_alter_table("department") as batch:
        for column in _CONTACT:
            batch.add_column(
                sa.Column(column, sa.String(300), nullable=False, server_default="")
            )
    op.create_table(
        "service_hall",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(32), nullable=False, unique=True),
        sa.Column("name_zh", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(300), nullable=False),
        sa.Column(
            "jurisdiction_id", sa.Integer(), sa.ForeignKey("jurisdiction.id"), nullable=False
        ),
        *(sa.Column(c, sa.String(300), nullable=False, server_default="") for c in _CONTACT),
    )
    op.create_index("ix_service_hall_jurisdiction_id", "service_hall", ["jurisdiction_id"])


def downgrade() -> None:
    op.drop_index("ix_service_hall_jurisdiction_id", table_name="service_hall")
    op.drop_table("service_hall")
    with op.batch_alter_table("department") as batch:
        for column in _CONTACT:
            batch.drop_column(column)
    with op.batch_alter_table("data_element") as batch:
        batch.drop_column("applicant_field")
