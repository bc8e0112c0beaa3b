"""The case engine's jobs: payments and collections reach the bank once, after commit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from tongban.auth import repository as auth_repository
from tongban.auth.models import Role
from tongban.cases import bank
from tongban.cases.models import Payment
from tongban.db import utcnow
from tongban.jobs import service as jobs
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


@handler("escalation")
def escalate(run: JobRun, session: Session) -> None:
    """An escalation level fired: each active officer of the responsible department who has an
    e-mail address is told, by a notification job of their own (one delivery key each)."""
    from tongban.notify.port import compose

    payload = run.payload
    department = payload.get("department")
    if not isinstance(department, int):
        raise Permanent("the escalation names no responsible department")
    officers = sorted(
        (u.id, u.email, u.locale)
        for u in auth_repository.holders_of(session, Role.OFFICER.value, department)
        if u.is_active and u.email
    )
    if not officers:
        raise Permanent(f"no active officer of department {department} has an e-mail address")
    for user_id, email, locale in officers:
        subject, body = compose(
            "escalation",
            locale,
            level=payload.get("level", ""),
            case_number=payload.get("case", ""),
            step=payload.get("step", ""),
            overdue=f"{payload.get('used_workdays', '?')}/{payload.get('limit', '?')}",
        )
        jobs.defer(
            session,
            kind="notification",
            key=f"{run.key}:user:{user_id}",
            payload={
                "channel": "email",
                "to": email,
                "subject": subject,
                "body": body,
                "locale": locale,
            },
        )


@periodic("escalation-ladder", cron="* * * * *", every=timedelta(minutes=1))
def escalation_ladder(session: Session) -> str:
    from tongban.calendar import service as calendar
    from tongban.cases import service

    calendar.refresh(session)  # working days are counted on the calendar in force
    report = service.tick(session=session)
    return f"{report.checked} open steps checked, {report.fired} escalations fired"


@periodic("file-sweep", cron="17 3 * * *", every=timedelta(days=1))
def file_sweep(session: Session) -> str:
    """Stored files that nothing names, written over a day ago (``tongban files sweep``)."""
    from tongban.cases import archive, storage

    report = storage.sweep(archive.referenced_files(session), older_than_seconds=24 * 3600)
    return f"{report.files} stored files, {len(report.removed)} removed"
