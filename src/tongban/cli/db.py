"""``tongban db``: the database schema."""

from __future__ import annotations

import typer

from tongban.cli.common import console
from tongban.db import get_engine
from tongban.migrate import upgrade as run_upgrade

app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply the migrations up to REVISION (default: the newest)."""
    engine = get_engine()
    run_upgrade(engine, revision)
    console.print(
        f"database at revision {revision}: {engine.url.render_as_string(hide_password=True)}"
    )
