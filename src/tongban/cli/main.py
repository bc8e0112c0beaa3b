"""The ``tongban`` command: demo, serve, db, catalog, org, bundle, jobs, calendar…"""

from __future__ import annotations

import typer
from rich.table import Table

from tongban.cli import bundle, calendar, cases, catalog, db, jobs, org
from tongban.cli.common import command_session, console, print_app_error, progress_bar
from tongban.config import get_settings
from tongban.errors import AppError

app = typer.Typer(
    help="tongban 通办: one window, one form, every department.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(catalog.app, name="catalog")
app.add_typer(org.app, name="org")
app.add_typer(bundle.app, name="bundle")
app.add_typer(cases.audit_app, name="audit")
app.add_typer(cases.files_app, name="files")
app.command("tick")(cases.tick)
app.add_typer(jobs.app, name="jobs")
app.add_typer(calendar.app, name="calendar")
app.command("worker")(jobs.worker)


@app.command()
def serve(
    host: str = typer.Option(None, help="Interface to listen on (TONGBAN_HOST)."),
    port: int = typer.Option(None, help="Port (TONGBAN_PORT, default 8000)."),
) -> None:
    """Serve the platform (API and pages)."""
    import uvicorn

    settings = get_settings()
    if settings.default_key_refused(host or settings.host):
        print_app_error(
            AppError(
                "TONGBAN_SECRET_KEY is the default one, fit only for a demo on this machine; "
                "set a long random key (e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'`)",
                code="secret_key_default",
            )
        )
        raise typer.Exit(1)
    uvicorn.run(
        "tongban.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


@app.command()
def demo(
    no_serve: bool = typer.Option(False, "--no-serve", help="Set up the demo county and stop."),
    port: int = typer.Option(None, help="Port (TONGBAN_PORT, default 8000)."),
) -> None:
    """Create the database, load the demo county and serve it."""
    from tongban.db import get_engine
    from tongban.demo.loader import DEMO_PASSWORD, catalog_size, load_demo
    from tongban.migrate import upgrade

    engine = get_engine()
    upgrade(engine)
    with (
        command_session() as session,
        progress_bar("loading the demo county", catalog_size()) as advance,
    ):
        logins = load_demo(session=session, on_item=advance)
    table = Table(title=f"demo logins (password: {DEMO_PASSWORD})")
    table.add_column("username")
    table.add_column("name")
    table.add_column("roles")
    for login in logins:
        table.add_row(login.username, login.display_name, login.roles)
    console.print(table)
    settings = get_settings()
    console.print(f"database: {engine.url.render_as_string(hide_password=True)}")
    if no_serve:
        return
    console.print(f"serving at http://{settings.host}:{port or settings.port}/  (Ctrl-C stops)")
    serve(host=settings.host, port=port or settings.port)


if __name__ == "__main__":
    app()
