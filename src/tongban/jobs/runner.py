"""The in-process runner: periodic work and due jobs, for ``serve``'s sweeper, ``tongban
tick`` and ``tongban worker`` on SQLite (on PostgreSQL too, beside Procrastinate's workers: the
claims make any number of runners safe)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from tongban.jobs import service

log = logging.getLogger("tongban.jobs")


@dataclass
class SweepReport:
    periodic: dict[str, str] = field(default_factory=dict)
    jobs: service.RunReport = field(default_factory=service.RunReport)


def sweep_once(*, worker: str | None = None, limit: int = 500) -> SweepReport:
    report = SweepReport()
    report.periodic = service.run_periodic()
    report.jobs = service.run_due(worker=worker, limit=limit)
    return report


class Sweeper:
    """A thread that sweeps every ``interval`` seconds until stopped."""

    def __init__(self, interval_seconds: float) -> None:
        self.interval = interval_seconds
        self.worker = service.worker_name()
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
                report = sweep_once(worker=self.worker)
                if report.periodic or report.jobs.ran:
                    log.info("sweep: %s; jobs %s", report.periodic, report.jobs)
            except Exception:
                log.exception("sweep failed; retrying at the next interval")
