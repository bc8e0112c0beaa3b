"""Alembic environment: the models' metadata, the URL from TONGBAN_DATABASE_URL."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from tongban.config import get_settings
from tongban.db import Base, make_engine
from tongban.models import load_all_models

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name)

load_all_models()
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=get_settings().database_url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.attributes.get("url") or get_settings().database_url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _ours(name: str | None, type_: str, parent_names: object) -> bool:
    """Procrastinate's tables live beside ours on PostgreSQL; its own SQL keeps them. The
    search index (``item_search``: FTS5 and its shadow tables on SQLite, a tsvector table on
    PostgreSQL) is made by its migration and is not in the models (decision 0005)."""
    if type_ != "table":
        return True
    return not (name or "").startswith(("procrastinate", "item_search"))


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        include_name=_ours,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
