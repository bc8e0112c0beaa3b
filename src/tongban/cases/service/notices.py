"""What the applicant is told: at acceptance, at a request for corrections, at the decision.

Each notice is a ``notification`` job deferred in the transaction that decided it (it leaves
only after commit), keyed by the case and the event so that the same notice is sent once
however often the deciding code runs. An applicant who gave no mobile number (or one that is
not a mainland mobile number) is not texted: the case page shows the number they gave."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tongban.cases.models import Case
from tongban.jobs import service as jobs
from tongban.notify.port import compose, normalize_phone

#: the events an applicant hears of (their texts are in ``notify.port``)
APPLICANT_EVENTS = ("accepted", "corrections", "approved", "rejected")


def can_text(phone: str | None) -> bool:
    """Whether the applicant gave a mainland mobile number (checked before any work is done)."""
    try:
        normalize_phone(phone or "")
    except ValueError:
        return False
    return True


def tell_applicant(
    session: Session, case: Case, event: str, *, detail: str = "", seq: int = 0
) -> bool:
    """Defer the SMS of ``event`` to the applicant of ``case``; False when they cannot be
    texted. ``seq`` tells apart repeated events of one kind (the n-th request for corrections)."""
    assert event in APPLICANT_EVENTS, event
    try:
        phone = normalize_phone(case.applicant_phone or "")
    except ValueError:
        return False
    due = case.promised_due.isoformat() if case.promised_due else ""
    subject, body = compose(
        event, "zh_CN", case_number=case.number, due_date=due, what=detail, reason=detail
    )
    jobs.defer(
        session,
        kind="notification",
        key=f"applicant:{case.number}:{event}:{seq}",
        payload={
            "channel": "sms",
            "to": phone,
            "subject": subject,
            "body": body,
            "locale": "zh_CN",
        },
    )
    return True
