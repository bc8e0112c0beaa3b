"""The background sweep that ``tongban serve`` runs: the escalation ladder and the outbox.

Nothing lives only in memory: each sweep reads the state from the database and writes what it
did in one transaction, so a crash between sweeps loses nothing, and several app nodes may run
it at once (an escalation fires once: its row's primary key refuses a second).
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import IntegrityError

from tongban.cases import outbox, service
from tongban.db import session_scope

log = logging.getLogger("tongban.worker")


def sweep_once() -> tuple[int, int]:
    fired = sent = 0
    try:
        for session in session_scope():
            fired = service.tick(session=session).fired
    except IntegrityError:
        log.info("another node fired the same escalation; it will be seen next time")
    for session in session_scope():
        sent = outbox.deliver(session=session)
    return fired, sent


class Sweeper:
    def __init__(self, interval_seconds: float) -> None:
        self.interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tongban-sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                fired, sent = sweep_once()
                if fired or sent:
                    log.info("sweep: %d escalations, %d messages sent", fired, sent)
            except Exception:
                log.exception("sweep failed; retrying at the next interval")
