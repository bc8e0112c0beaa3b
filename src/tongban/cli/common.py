"""What every command shares: a session per command (the command owns the transaction), error
printing, and a progress bar for long work."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.orm import Session

from tongban.db import session_scope
from tongban.errors import AppError

console = Console()
err_console = Console(stderr=True)


@contextmanager
def command_session() -> Iterator[Session]:
    """Commit when the command succeeds, roll back and exit 1 with the errors when it fails."""
    try:
        yield from _scope()
    except AppError as exc:
        print_app_error(exc)
        raise typer.Exit(1) from None


def _scope() -> Iterator[Session]:
    yield from session_scope()


def print_app_error(exc: AppError) -> None:
    err_console.print(f"[bold red]error:[/] {exc.message} [dim]({exc.code})[/]", highlight=False)
    for error in exc.errors:
        err_console.print(f"  {error.loc}: {error.message}", highlight=False, soft_wrap=True)


@contextmanager
def progress_bar(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr; yields a function that advances it by n."""
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    ) as progress:
        task = progress.add_task(description, total=total)

        def advance(n: int = 1) -> None:
            progress.advance(task, n)

        yield advance
