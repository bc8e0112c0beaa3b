"""The case engine's jobs: payments and collections reach the bank once, after commit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from tongban.cases import bank
from tongban.cases.models import Payment
from tongban.db import utcnow
from tongban.jobs.registry import JobRun, handler, periodic
from tongban.jobs.service import Permanent

DIRECTIONS = {"payment": "pay_out", "collection": "collect"}


def _order(payload: dict[str, Any]) -> tuple[str, int, str, str]:
    reference, amount = payload.get("reference"), payload.get("amount_fen")
    if not isinstance(reference, str) or not reference:
        raise Permanent("the payload names no payment reference")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise Permanent(f"payment {reference}: the amount is not a positive integer of fen")
    return reference, amount, str(payload.get("account", "")), str(payload.get("applicant", ""))


def _send(run: JobRun, session: Session) -> None:
    reference, amount, account, party = _order(run.payload)
    bank.bank().transfer(
        reference=reference,
        direction=DIRECTIONS[run.kind],
        amount_fen=amount,
        account=account,
        party=party,
    )
    session.execute(
        update(Payment)
        .where(Payment.reference == reference)
        .values(status="sent", sent_at=utcnow())
        .execution_options(synchronize_session=False)
    )


handler("payment")(_send)
handler("collection")(_send)


@periodic("escalation-ladder", cron="* * * * *", every=timedelta(minutes=1))
def escalation_ladder(session: Session) -> str:
    from tongban.cases import service

    report = service.tick(session=session)
    return f"{report.checked} open steps checked, {report.fired} escalations fired"


@periodic("file-sweep", cron="17 3 * * *", every=timedelta(days=1))
def file_sweep(session: Session) -> str:
    """Stored files that nothing names, written over a day ago (``tongban files sweep``)."""
    from tongban.cases import archive, storage

    report = storage.sweep(archive.referenced_files(session), older_than_seconds=24 * 3600)
    return f"{report.files} stored files, {len(report.removed)} removed"
