"""Catalogue search: the synonym list and the search index (FTS5 on SQLite, a tsvector with a
GIN index on PostgreSQL), filled from the versions already stored (decision 0005).

Revision ID: d4e6f8a0b2c5
Revises: c3d5e7f9a2b4
Create Date: 2026-12-04 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from tongban.db import UtcDateTime

revision: str = "d4e6f8a0b2c5"
down_revision: str | None = "c3d5e7f9a2b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEED = [
    ["营业执照", "企业设立登记"],
    ["身份证", "居民身份证"],
    ["社保", "社会保险"],
    ["户口", "户籍"],
]


def upgrade() -> None:
    table = op.create_table(
        "search_synonym",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["user_account.id"],
            name=op.f("fk_search_synonym_updated_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_synonym")),
    )
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    op.bulk_insert(table, [{"terms": terms, "updated_at": now} for terms in SEED])

    from tongban.catalog.search import index

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for ddl in index.PG_DDL:
            op.execute(ddl)
    else:
        op.execute(index.FTS5_DDL)
    from sqlalchemy.orm import Session

    session = Session(bind=bind)
    index.reindex(session)
    session.flush()


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS item_search")
    op.drop_table("search_synonym")
