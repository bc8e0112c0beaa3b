"""Shared by the case pages: labels (English message ids), due dates in working days, helpers."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from tongban.auth import repository as auth_repository
from tongban.auth.models import Role
from tongban.auth.principal import Principal
from tongban.bundles import service as bundle_service
from tongban.cases.models import (
    Case,
)
from tongban.catalog import service as catalog_service
from tongban.db import utcnow
from tongban.errors import (
    NotFound,
)
from tongban.kit import workdays
from tongban.org import repository as org_repository
from tongban.web.format import format_yuan, local_time
from tongban.web.templating import render

TEXT_MAX = 2000
SEARCH_LIMIT = 30
WORKBENCH_LIMIT = 500
STAFF = (Role.FRONT_DESK, Role.OFFICER, Role.TOWNSHIP_WORKER, Role.COMMITTEE_MEMBER)

# ---------------------------------------------------------------- labels (English message ids)

CASE_STATUS_LABELS = {
    "in_progress": "In progress",
    "suspended": "Suspended: waiting for corrections",
    "completed": "Completed",
    "rejected": "Rejected",
    "archived": "Archived",
}
STEP_STATUS_LABELS = {
    "waiting": "Waiting for earlier steps",
    "ready": "Ready to act on",
    "done": "Done",
    "skipped": "Skipped",
}
STEP_LABELS = {
    "acceptance": "Acceptance",
    "review": "Review",
    "automatic_check": "Automatic check",
    "onsite_verification": "On-site verification",
    "collective_decision": "Collective decision",
    "decision": "Decision",
    "e_signature": "Electronic signature",
    "payment": "Payment",
    "delivery": "Delivery",
    "notification": "Notification",
}
CHANNEL_LABELS = {
    "window": "Service window",
    "online": "Online",
    "mobile": "Mobile app",
    "mail": "By post",
    "self_service": "Self-service terminal",
}
EVENT_LABELS = {
    "submitted": "Application submitted",
    "step_done": "Step completed",
    "automatic_check": "Automatic check run",
    "collective_decision": "Collective decision closed",
    "payment": "Payment made",
    "duty_shift": "Duty shift",
    "delegated": "Step delegated",
    "returned": "Returned to the previous step",
    "suspended": "Clock stopped",
    "resumed": "Clock running again",
    "vote": "Vote cast",
    "signed": "Document signed",
    "uploaded": "File uploaded",
    "escalated": "Escalated",
    "completed": "Case completed",
    "rejected": "Case rejected",
    "archived": "Case archived",
}
VOTE_LABELS = {"approve": "Approve", "reject": "Reject", "abstain": "Abstain"}
DECISION_LABELS = {"approve": "Approved", "reject": "Rejected"}
DIRECTION_LABELS = {
    "pay_out": "Paid out to the applicant",
    "collect": "Collected from the applicant",
}
PARTY_LABELS = {"applicant": "The applicant", "department": "The department"}
SUSPENSION_LABELS = {"correction": "Correction requested", "expert_review": "Expert review"}
NECESSITY_LABELS = {"required": "Mandatory", "optional": "Optional", "conditional": "Conditional"}
FACT_LABELS = {
    "time": "Time",
    "place": "Place",
    "notes": "Notes",
    "note": "Note",
    "opinion": "Opinion",
    "decision": "Decision",
    "reason": "Reason",
    "photos": "Photos",
    "document_sha256": "Document SHA-256",
    "parties": "Parties",
    "payment": "Payment reference",
    "direction": "Direction",
    "amount_fen": "Amount",
    "approve": "Votes to approve",
    "reject": "Votes to reject",
    "abstain": "Abstentions",
    "members": "Committee members",
    "quorum": "Quorum",
    "minutes_upload": "Minutes",
    "rule": "Rule",
    "version": "Rule version",
    "passed": "Passed",
    "explanation": "Explanation",
    "inputs": "Inputs seen",
    "channel": "Channel",
    "steps": "Steps",
    "legal_due": "Legal due date",
    "calendar": "Calendar",
    "provisional": "Provisional",
    "subject": "Subject",
    "purpose": "Purpose",
    "sha256": "SHA-256",
    "size": "Size (bytes)",
    "level": "Level",
    "used_workdays": "Working days used",
    "limit": "Time limit (working days)",
    "suspended_workdays": "Working days suspended",
    "choice": "Vote",
    "party": "Party",
    "step": "Step",
}
LABELS: dict[str, dict[str, str]] = {
    "case_status": CASE_STATUS_LABELS,
    "step_status": STEP_STATUS_LABELS,
    "step": STEP_LABELS,
    "channel": CHANNEL_LABELS,
    "event": EVENT_LABELS,
    "vote": VOTE_LABELS,
    "decision": DECISION_LABELS,
    "party": PARTY_LABELS,
    "direction": DIRECTION_LABELS,
    "suspension": SUSPENSION_LABELS,
    "necessity": NECESSITY_LABELS,
}


def _today() -> date:
    return workdays.local_date(utcnow())


# ---------------------------------------------------------------- due dates in working days


@dataclass(frozen=True)
class Due:
    """A due date as people read it: so many working days ahead, today, or overdue."""

    day: date
    provisional: bool
    calendar: str
    state: str  # ahead | today | overdue | closed
    workdays: int


def due_of(
    day: date | None,
    provisional: bool,
    calendar: str,
    today: date,
    *,
    closed: bool = False,
    stopped: bool = False,
) -> Due | None:
    """How a due date reads today: ``overdue`` (with the working days late), ``today``,
    ``ahead``, ``closed`` (the step or case is finished) or ``stopped`` (the case is suspended:
    its clock does not run, so nothing is due today or late)."""
    if day is None:
        return None
    calendar = calendar or workdays.calendar_version()
    if closed:
        return Due(day, provisional, calendar, "closed", 0)
    if stopped:
        return Due(day, provisional, calendar, "stopped", 0)
    if day < today:
        late = workdays.workdays_between(day, today).count
        return Due(day, provisional, calendar, "overdue", late)
    if day == today:
        return Due(day, provisional, calendar, "today", 0)
    return Due(day, provisional, calendar, "ahead", workdays.workdays_between(today, day).count)


def _case_due(day: date | None, today: date, closed: bool) -> Due | None:
    if day is None:
        return None
    return due_of(day, not workdays.covered(day), workdays.calendar_version(), today, closed=closed)


# ---------------------------------------------------------------- shared helpers


def _page(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    return render(
        request,
        template,
        {"labels": LABELS, "yuan": format_yuan, "local_time": local_time, **context},
        status_code=status_code,
    )


def _posted(form: FormData, name: str, limit: int = TEXT_MAX) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def _files(form: FormData, name: str) -> list[UploadFile]:
    return [f for f in form.getlist(name) if isinstance(f, UploadFile) and f.filename]


def _int_or_none(text: str) -> int | None:
    text = text.strip()
    return int(text) if re.fullmatch(r"\d{1,9}", text) else None


@dataclass(frozen=True)
class Name:
    zh: str
    en: str


def _department_names(session: Session) -> tuple[dict[str, Name], dict[int, str]]:
    by_code: dict[str, Name] = {}
    by_id: dict[int, str] = {}
    for d in org_repository.all_departments(session):
        by_code[d.code] = Name(d.name_zh, d.name_en)
        by_id[d.id] = d.code
    return by_code, by_id


def _display_names(session: Session, usernames: Iterable[str | None]) -> dict[str, str]:
    return auth_repository.display_names_by_username(session, usernames)


def _user_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    return auth_repository.display_names_by_id(session, ids)


def _subject_name(session: Session, principal: Principal | None, case: Case) -> Name:
    if case.subject_kind == "item":
        found = catalog_service.published_items(session=session, codes=[case.subject_code])
        item = found.get(case.subject_code)
        return Name(item.name_zh, item.name_en) if item else Name(case.subject_code, "")
    try:
        detail = bundle_service.get_bundle(
            session=session, principal=principal, code=case.subject_code
        )
    except NotFound:
        return Name(case.subject_code, "")
    return Name(detail.bundle.name_zh, detail.bundle.name_en)


# Messages of the engine and the validators, said plainly (and translatably) next to a field.
_PLAIN: tuple[tuple[str, str], ...] = (
    ("is required", "This field is required."),
    ("String should have at least 1 character", "This field is required."),
    ("Field required", "This field is required."),
    ("expected a whole number", "Enter a whole number."),
    ("is not one of", "Choose one of the listed values."),
    ("characters, got", "The text is too long."),
    ("is not a date", "Enter a date as YYYY-MM-DD."),
    ("date must be written as YYYY-MM-DD", "Enter a date as YYYY-MM-DD."),
    ("resident ID number", "This is not a valid resident ID number."),
    ("unified social credit code", "This is not a valid unified social credit code."),
    ("phone", "This is not a valid phone number."),
    ("division code", "Choose a township or village from the list."),
    ("money", "Enter an amount in yuan, e.g. 1,500,000 or 1500.50."),
    ("larger than", "The file is larger than 10 MB."),
    ("is not a", "Only PDF, PNG and JPEG files are accepted."),
    ("only PDF, PNG and JPEG", "Only PDF, PNG and JPEG files are accepted."),
    ("positive integer fen", "Enter an amount greater than zero."),
    ("required for a payment", "The application names no bank account to pay into."),
    ("not a direct predecessor", "Choose the step just before this one."),
    ("not a finished step of this case", "Choose the step just before this one."),
    ("no department", "Unknown department."),
)


def labelled(params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters of an engine's message, its status and step-kind codes as message ids."""
    words = {**CASE_STATUS_LABELS, **STEP_STATUS_LABELS}
    out = dict(params)
    if isinstance(out.get("status"), str):
        out["status"] = words.get(out["status"], out["status"])
    if isinstance(out.get("kind"), str):
        out["kind"] = STEP_LABELS.get(out["kind"], out["kind"])
    return out


def plain(message: str) -> str:
    text = message.removeprefix("Value error, ")
    if text == "required":
        return "This field is required."
    for needle, said in _PLAIN:
        if needle in text:
            return said
    return text
