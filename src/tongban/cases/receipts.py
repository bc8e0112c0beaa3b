"""受理回执 and 一次性告知书: what an applicant takes home after submitting.

The **acknowledgement** (:func:`acknowledgement`) is one account of a submitted case, read by the
confirmation page and by both PDF documents, so that the three never disagree: the case number,
what was applied for, the promised and legal dates, the departments that handle it, the
materials received and those still to bring, and the window (service hall) where to bring them.

* The **receipt** (受理回执, :func:`render_receipt`) says the application was received: number,
  dates, departments, the materials received and still to bring, and how to follow the case.
* The **one-time notice** (一次性告知书, :func:`render_notice`) lists, in one go, every required
  material still missing, as the Administrative Licensing Law requires of an incomplete
  application (《中华人民共和国行政许可法》第三十二条: 一次告知申请人需要补正的全部内容), so that
  the applicant makes one more trip at most.

Which materials a case asks for follows from its subject as published now (an item's materials
brought by the applicant; a bundle's unified list for the case's answers); a material counts as
received when a file of that purpose was uploaded with the case. A material that the law lets
the window accept later (``conditional``, 容缺) is listed but not demanded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.bundles import service as bundle_service
from tongban.cases import repository
from tongban.cases.documents import env as _env
from tongban.cases.models import Case, CaseStep, Upload
from tongban.catalog import service as catalog_service
from tongban.catalog.completeness import recorded
from tongban.db import utcnow
from tongban.kit import ids, workdays
from tongban.org import repository as org_repository
from tongban.org.models import Department, ServiceHall

#: the article that obliges the window to name every missing material at once
NOTICE_BASIS = "《中华人民共和国行政许可法》第三十二条"
#: working days within which the window must tell what is missing (the same article)
NOTICE_DAYS = 5


@dataclass(frozen=True)
class MaterialState:
    code: str
    name_zh: str
    name_en: str
    necessity: str  # required | optional | conditional
    copies: int | None
    received: tuple[str, ...]  # the file names uploaded for it

    @property
    def missing(self) -> bool:
        """A required material with no file: the applicant still has to bring it."""
        return self.necessity == "required" and not self.received


@dataclass(frozen=True)
class Contact:
    name_zh: str
    name_en: str
    address_zh: str
    address_en: str
    hours_zh: str
    hours_en: str
    phone: str


@dataclass
class Acknowledgement:
    number: str
    subject_kind: str
    subject_code: str
    subject_zh: str
    subject_en: str
    applicant_name: str
    applicant_id_masked: str
    submitted_at: datetime
    channel: str
    legal_due: date | None
    promised_due: date | None
    departments: list[tuple[str, str]]  # (zh, en), in the order the case reaches them
    materials: list[MaterialState]
    window: Contact | None
    generated_at: datetime = field(default_factory=utcnow)

    @property
    def missing(self) -> list[MaterialState]:
        return [m for m in self.materials if m.missing]

    @property
    def received(self) -> list[MaterialState]:
        return [m for m in self.materials if m.received]


def _asked_materials(session: Session, case: Case) -> list[tuple[str, str, str, str, int | None]]:
    """(code, zh, en, necessity, copies) of every material the case's subject asks of the
    applicant, as published now."""
    if case.subject_kind == "item":
        content = catalog_service.published_items(session=session, codes=[case.subject_code]).get(
            case.subject_code
        )
        if content is None:
            return []
        return [
            (m.code, m.name_zh, m.name_en, m.necessity.value, m.copies)
            for m in recorded(content, "materials")
            if m.source.value == "applicant"
        ]
    try:
        detail = bundle_service.get_bundle(session=session, principal=None, code=case.subject_code)
        ledger = bundle_service.compose_definition(
            session=session, bundle=detail.bundle, answers=dict(case.answers or {})
        )
    except Exception:
        return []
    return [(m.code, m.name_zh, m.name_en, m.necessity, None) for m in ledger.materials]


def _subject_names(session: Session, case: Case) -> tuple[str, str]:
    if case.subject_kind == "item":
        content = catalog_service.published_items(session=session, codes=[case.subject_code]).get(
            case.subject_code
        )
        return (content.name_zh, content.name_en) if content else (case.subject_code, "")
    try:
        detail = bundle_service.get_bundle(session=session, principal=None, code=case.subject_code)
    except Exception:
        return case.subject_code, ""
    return detail.bundle.name_zh, detail.bundle.name_en


def _contact(row: Department | ServiceHall) -> Contact:
    return Contact(
        row.name_zh,
        row.name_en,
        row.address_zh,
        row.address_en,
        row.hours_zh,
        row.hours_en,
        row.phone,
    )


def acknowledgement(session: Session, case: Case) -> Acknowledgement:
    """What the confirmation page, the receipt and the one-time notice say about ``case``."""
    uploads: dict[str, list[str]] = {}
    for upload in session.scalars(
        select(Upload)
        .where(Upload.case_id == case.id, Upload.step_id.is_(None))
        .order_by(Upload.id)
    ):
        uploads.setdefault(upload.purpose, []).append(upload.filename)
    materials = [
        MaterialState(code, zh, en, necessity, copies, tuple(uploads.get(code, ())))
        for code, zh, en, necessity, copies in _asked_materials(session, case)
    ]
    steps = list(
        session.scalars(
            select(CaseStep).where(CaseStep.case_id == case.id).order_by(CaseStep.position)
        )
    )
    by_id = org_repository.departments_by_id(session, {s.responsible_department_id for s in steps})
    departments: list[tuple[str, str]] = []
    for s in steps:
        dept = by_id.get(s.responsible_department_id) if s.responsible_department_id else None
        if dept is not None and (dept.name_zh, dept.name_en) not in departments:
            departments.append((dept.name_zh, dept.name_en))
    hall = org_repository.service_hall_for(session, case.applicant_jurisdiction_id)
    zh, en = _subject_names(session, case)
    return Acknowledgement(
        number=case.number,
        subject_kind=case.subject_kind,
        subject_code=case.subject_code,
        subject_zh=zh,
        subject_en=en,
        applicant_name=case.applicant_name,
        applicant_id_masked=ids.mask_resident_id(case.applicant_id_no),
        submitted_at=case.submitted_at,
        channel=case.channel,
        legal_due=case.legal_due,
        promised_due=case.promised_due,
        departments=departments,
        materials=materials,
        window=_contact(hall) if hall is not None else None,
    )


def acknowledgement_of(session: Session, number: str) -> Acknowledgement | None:
    case = repository.case_by_number(session, number)
    return acknowledgement(session, case) if case is not None else None


def _local(moment: datetime) -> str:
    return moment.astimezone(workdays.SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _pdf(template: str, ack: Acknowledgement, status_url: str) -> bytes:
    from weasyprint import HTML

    html = _env.get_template(template).render(
        ack=ack,
        local=_local,
        status_url=status_url,
        notice_basis=NOTICE_BASIS,
        notice_days=NOTICE_DAYS,
    )
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf


def render_receipt(ack: Acknowledgement, *, status_url: str) -> bytes:
    """受理回执 as PDF bytes."""
    return _pdf("receipts/receipt.html", ack, status_url)


def render_notice(ack: Acknowledgement, *, status_url: str) -> bytes:
    """一次性告知书 as PDF bytes (every required material still missing)."""
    return _pdf("receipts/notice.html", ack, status_url)
