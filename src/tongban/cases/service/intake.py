"""Intake: one application becomes one case whose steps follow the item's or the bundle's
graph, each with its responsible unit, its due date stamped with the calendar in force."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tongban.auth.principal import Principal
from tongban.bundles import compose
from tongban.bundles import service as bundle_service
from tongban.cases import events, repository
from tongban.cases.models import (
    Case,
    CaseStatus,
    CaseStep,
    StepLink,
    StepStatus,
)
from tongban.cases.schemas import ApplicantIn, ApplicationIn
from tongban.cases.service.engine import make_ready
from tongban.cases.service.uploads import Attachment, attach, check_attachment
from tongban.catalog import service as catalog_service
from tongban.catalog import types as item_types
from tongban.catalog.completeness import item_gaps, recorded, time_limit
from tongban.catalog.schemas import ItemIn
from tongban.catalog.values import check_value
from tongban.db import utcnow
from tongban.errors import Conflict, FieldError, NotFound, ValidationFailed
from tongban.kit import workdays
from tongban.org import repository as org_repository
from tongban.org import units
from tongban.org.models import Department, Jurisdiction


@dataclass(frozen=True)
class PlannedStep:
    key: str
    item_code: str | None
    code: str
    kind: str
    name_zh: str
    name_en: str
    responsible: str
    limit_days: int
    owner: str  # the item's department: its lane, and the unit of an applicant or county step


def refuse_unfit_item(item_code: str, item: ItemIn) -> None:
    """An item takes applications only if someone applies for it and it is complete."""
    if not item_types.applied_for(item.type.value):
        raise ValidationFailed(
            "item '%(item)s' is of a type nobody applies for (%(type)s)",
            params={"item": item_code, "type": item.type.value},
            code="item_not_applied_for",
        )
    gaps = item_gaps(item)
    if gaps:
        raise ValidationFailed(
            "item '%(item)s' cannot take applications yet: not yet recorded: %(parts)s",
            params={"item": item_code, "parts": ", ".join(gaps)},
            code="item_incomplete",
        )


def plan_item(
    item_code: str, session: Session
) -> tuple[list[PlannedStep], list[tuple[str, str]], dict[str, int], list[str]]:
    items = catalog_service.published_items(session=session, codes=[item_code])
    if item_code not in items:
        raise NotFound(
            "no published item '%(item)s'", params={"item": item_code}, code="item_not_found"
        )
    item = items[item_code]
    refuse_unfit_item(item_code, item)
    steps = [
        PlannedStep(
            f"{item_code}#{s.code}",
            item_code,
            s.code,
            s.kind.value,
            s.name_zh,
            s.name_en,
            s.responsible,
            s.limit_days,
            item.department,
        )
        for s in recorded(item, "steps")
    ]
    links = [(a.key, b.key) for a, b in itertools.pairwise(steps)]
    limit = time_limit(item)
    limits = {"legal": limit.legal, "promised": limit.promised}
    required = [f.element for f in item.form if f.required]
    return steps, links, limits, required


def plan_bundle(
    code: str, answers: dict[str, str] | None, session: Session, principal: Principal | None
) -> tuple[list[PlannedStep], list[tuple[str, str]], dict[str, int], list[str]]:
    """The steps, links, limits and required fields of a bundle case for these answers."""
    steps, links, limits, required, _produced = plan_bundle_with_data(
        code, answers, session, principal
    )
    return steps, links, limits, required


def plan_bundle_with_data(
    code: str, answers: dict[str, str] | None, session: Session, principal: Principal | None
) -> tuple[list[PlannedStep], list[tuple[str, str]], dict[str, int], list[str], dict[str, str]]:
    """:func:`plan_bundle`, and the data the bundle produces for its own later steps."""
    detail = bundle_service.get_bundle(session=session, principal=principal, code=code)
    if detail.status != "published":
        raise Conflict(
            "bundle '%(bundle)s' is not published",
            params={"bundle": code},
            code="bundle_not_published",
        )
    ledger = bundle_service.compose_definition(
        session=session, bundle=detail.bundle, answers=answers or {}
    )
    members = bundle_service.applicable(detail.bundle, answers or {})
    if not ledger.members:
        # A case of no service at all would stay open forever with nothing to do.
        raise ValidationFailed(
            "none of the bundle's services applies to these answers; nothing was submitted",
            errors=[FieldError("answers", "no member of the bundle applies")],
            code="nothing_applies",
        )
    depends = {m.item: list(m.depends_on) for m in members}
    steps = [
        PlannedStep(
            s.code,
            s.item,
            s.code.split("#", 1)[1],
            s.kind,
            s.name_zh,
            s.name_en,
            s.lane if s.responsible == "single_window" else s.responsible,
            s.limit_days,
            s.lane,
        )
        for s in ledger.steps
    ]
    links = compose.step_links(ledger, depends)
    required = [f.element for f in ledger.fields if f.required]
    return steps, links, dict(ledger.after.days), required, dict(ledger.produced)


def applicant_elements(session: Session) -> dict[str, str]:
    """The data elements that hold the applicant's own details: element code → the detail
    (``name``, ``id_no``, ``phone``)."""
    return {
        e.code: e.applicant_field
        for e in catalog_service.list_elements(session=session)
        if e.applicant_field
    }


def with_applicant(
    session: Session, form: dict[str, Any], applicant: ApplicantIn, asked: Iterable[str]
) -> dict[str, Any]:
    """The form with each asked element that holds an applicant's detail filled from the
    applicant's section (asked once); a value the form gives is kept."""
    filled = dict(form)
    holds = applicant_elements(session)
    for code in asked:
        detail = holds.get(code)
        if detail and filled.get(code) in (None, ""):
            value = getattr(applicant, detail, "")
            if value:
                filled[code] = value
    return filled


def validate_form(session: Session, form: dict[str, Any], required: list[str]) -> None:
    elements = {e.code: e for e in catalog_service.list_elements(session=session)}
    errors: list[FieldError] = []
    for code in required:
        if form.get(code) in (None, ""):
            name = elements[code].name_zh if code in elements else code
            errors.append(FieldError(f"form.{code}", f"{name} is required"))
    for code, value in form.items():
        element = elements.get(code)
        if element is None:
            errors.append(FieldError(f"form.{code}", f"unknown data element '{code}'"))
            continue
        if value in (None, ""):
            continue
        try:
            check_value(element, value)
        except ValueError as exc:
            errors.append(FieldError(f"form.{code}", str(exc)))
    if errors:
        raise ValidationFailed(
            "the application form is incomplete or invalid; nothing was submitted",
            errors=errors,
            code="form_invalid",
        )


def resolve_unit(
    session: Session,
    planned: PlannedStep,
    applicant: Jurisdiction,
    departments: dict[str, Department],
) -> units.Unit:
    """The department and jurisdiction of a planned step for this applicant (``org.units``)."""
    try:
        return units.resolve(
            session,
            planned.responsible,
            owner=planned.owner,
            applicant=applicant,
            departments=departments,
        )
    except units.UnknownUnit as exc:
        raise ValidationFailed(
            "no responsible unit '%(unit)s'", params={"unit": str(exc)}, code="unknown_unit"
        ) from None


def case_number(case_id: int, jurisdiction_code: str, day: date) -> str:
    return f"{jurisdiction_code[:6]}-{day:%Y%m%d}-{case_id:06d}"


def submit_application(
    *,
    session: Session,
    principal: Principal | None,
    application: ApplicationIn,
    attachments: Sequence[Attachment] = (),
) -> Case:
    """Create one case with the applicant's files (each checked before anything is written);
    a retried submission with the same idempotency key returns the first case, whose files
    were stored with it."""
    for i, attachment in enumerate(attachments):
        check_attachment(attachment, f"attachments.{i}")
    existing = repository.case_by_key(session, application.idempotency_key)
    if existing is not None:
        same = (
            existing.subject_code == (application.item or application.bundle)
            and existing.applicant_id_no == application.applicant.id_no
        )
        if not same:
            raise Conflict(
                "this idempotency key was already used for another application",
                code="idempotency_key_reused",
            )
        return existing
    if bool(application.item) == bool(application.bundle):
        raise ValidationFailed(
            "name exactly one of item or bundle",
            errors=[FieldError("item", "name an item or a bundle, not both")],
            code="one_subject",
        )
    applicant_place = org_repository.jurisdiction_by_code(
        session, application.applicant.jurisdiction
    )
    if applicant_place is None:
        raise ValidationFailed(
            "unknown jurisdiction",
            errors=[
                FieldError(
                    "applicant.jurisdiction",
                    f"no jurisdiction '{application.applicant.jurisdiction}'",
                )
            ],
            code="unknown_jurisdiction",
        )
    produced: dict[str, str] = {}
    if application.item:
        planned, links, limits, required = plan_item(application.item, session)
    else:
        assert application.bundle is not None
        planned, links, limits, required, produced = plan_bundle_with_data(
            application.bundle, application.answers, session, principal
        )
    form = with_applicant(session, application.form, application.applicant, required)
    validate_form(session, form, required)
    departments = org_repository.departments_by_codes(
        session, {p.responsible for p in planned} | {p.owner for p in planned}
    )
    now = utcnow()
    today = workdays.local_date(now)
    legal = workdays.add_workdays(today, limits["legal"])
    promised = workdays.add_workdays(today, limits["promised"])
    case = Case(
        number=f"pending-{uuid.uuid4().hex[:24]}",
        subject_kind="item" if application.item else "bundle",
        subject_code=application.item or application.bundle or "",
        status=CaseStatus.IN_PROGRESS.value,
        applicant_name=application.applicant.name,
        applicant_id_no=application.applicant.id_no,
        applicant_phone=application.applicant.phone,
        applicant_jurisdiction_id=applicant_place.id,
        form_data=form,
        answers=dict(application.answers or {}),
        # what the applicant gave already waits for nobody
        produced_pending={e: src for e, src in produced.items() if e not in form},
        channel=application.channel,
        idempotency_key=application.idempotency_key,
        submitted_by_id=principal.user_id if principal else None,
        submitted_at=now,
        legal_due=legal.date,
        promised_due=promised.date,
    )
    session.add(case)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(
            "this application was just submitted; retry to get its number",
            code="submission_in_flight",
        ) from None
    case.number = case_number(case.id, applicant_place.code, today)
    incoming: dict[str, int] = {p.key: 0 for p in planned}
    for _, b in links:
        incoming[b] += 1
    values: list[dict[str, Any]] = []
    for position, p in enumerate(planned):
        unit = resolve_unit(session, p, applicant_place, departments)
        values.append(
            {
                "case_id": case.id,
                "position": position,
                "item_code": p.item_code,
                "code": p.key,
                "kind": p.kind,
                "name_zh": p.name_zh,
                "name_en": p.name_en,
                "status": StepStatus.WAITING.value,
                "responsible_department_id": unit.department_id,
                "responsible_jurisdiction_id": unit.jurisdiction_id,
                "limit_days": p.limit_days,
                "waits_for": incoming[p.key],
                # the columns' defaults, given here: no Python default runs per row
                "outcome": {},
                "lock_version": 1,
                "due_provisional": False,
                "calendar_version": "",
            }
        )
    # One bulk INSERT for the steps (their ids come back in order) and one for the links.
    ids = session.scalars(
        insert(CaseStep).returning(CaseStep.id, sort_by_parameter_order=True), values
    ).all()
    step_id = {p.key: i for p, i in zip(planned, ids, strict=True)}
    if links:
        session.execute(
            insert(StepLink),
            [{"from_step_id": step_id[a], "to_step_id": step_id[b]} for a, b in links],
        )
    events.append(
        session,
        case_id=case.id,
        action="submitted",
        actor_id=principal.user_id if principal else None,
        data={
            "subject": case.subject_code,
            "channel": case.channel,
            "steps": len(planned),
            "calendar": legal.calendar_version,
            "legal_due": legal.date.isoformat(),
            "provisional": legal.provisional,
        },
    )
    for attachment in attachments:
        attach(session, case, attachment, actor_id=principal.user_id if principal else None)
    roots = list(
        session.scalars(
            select(CaseStep)
            .where(CaseStep.id.in_([step_id[p.key] for p in planned if not incoming[p.key]]))
            .order_by(CaseStep.position)
        )
    )
    make_ready(session, case, roots, now)
    return case
