"""Catalogue search on PostgreSQL: every document rewritten so that each lexeme knows its column
(decision 0005). The documents stored so far had lexemes without positions, which carry no
weight, so a term restricted to the name also matched the materials and the department, and the
tiers and the ranking could not tell a name from a material. SQLite's FTS5 table is unchanged.

Revision ID: f6a8b0c2d4e7
Revises: e5f7a9b1c3d6
Create Date: 2026-12-06 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "f6a8b0c2d4e7"
down_revision: str | None = "e5f7a9b1c3d6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from sqlalchemy.orm import Session

    from tongban.catalog.search import index

    session = Session(bind=bind)
    index.reindex(session)
    session.flush()


def downgrade() -> None:
    """Nothing to undo: the rewritten documents are read by the earlier code as well."""
