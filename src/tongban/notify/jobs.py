"""The job kind ``notification``: one message to one recipient, sent through the port."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tongban.jobs.registry import JobRun, handler
from tongban.jobs.service import Permanent
from tongban.notify.port import DeliveryFailed
from tongban.notify.service import deliver


@handler("notification")
def send_notification(run: JobRun, session: Session) -> None:
    """The message's key is the job's delivery key, so a resend is recognised downstream."""
    try:
        deliver({**run.payload, "key": run.key})
    except DeliveryFailed as exc:
        if not exc.retryable:
            raise Permanent(str(exc)) from exc
        raise
