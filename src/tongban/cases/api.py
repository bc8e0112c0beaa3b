"""JSON routes of cases: apply, follow, the workbench, and every action on a step."""

from __future__ import annotations

from typing import Annotated, Any

from annotated_types import Ge, Le
from fastapi import APIRouter, Body, Depends, File, Form, Header, Request, Response, UploadFile
from pydantic import BaseModel, ValidationError

from tongban.cases import archive, service, views
from tongban.cases.schemas import (
    ApplicationIn,
    CaseOut,
    CompleteIn,
    CorrectionIn,
    DecideIn,
    DelegateIn,
    ReturnIn,
    SignIn,
    StepOut,
    VoteIn,
)
from tongban.errors import FieldError, ValidationFailed
from tongban.kit.bounds import MAX_INT, Count, RowId
from tongban.kit.money import MAX_FEN
from tongban.web.deps import CurrentPrincipal, DbSession, api_csrf
from tongban.web.ratelimit import (
    StatusLookups,
    anonymous_intake,
    client_address,
    status_lookups,
)

router = APIRouter(tags=["cases"])


class Submitted(BaseModel):
    number: str
    status: str


class StatusOut(BaseModel):
    number: str
    status: str
    subject_code: str
    submitted_at: str
    legal_due: str | None
    steps: list[tuple[str, str, str]]


class PayIn(BaseModel):
    lock_version: Count
    amount_fen: Annotated[int, Ge(-MAX_FEN), Le(MAX_FEN)] | None = None


class UploadOut(BaseModel):
    id: int
    sha256: str
    size: int


@router.post(
    "/cases",
    response_model=Submitted,
    status_code=201,
    dependencies=[Depends(api_csrf), Depends(anonymous_intake)],
)
def submit(body: ApplicationIn, session: DbSession, principal: CurrentPrincipal) -> Submitted:
    """Submit one application for an item or a bundle; the same ``idempotency_key`` again
    returns the same case."""
    case = service.submit_application(session=session, principal=principal, application=body)
    return Submitted(number=case.number, status=case.status)


@router.post(
    "/cases/with-files",
    response_model=Submitted,
    status_code=201,
    dependencies=[Depends(api_csrf), Depends(anonymous_intake)],
)
def submit_with_files(
    session: DbSession,
    principal: CurrentPrincipal,
    application: Annotated[str, Form(description="the application, as for POST /cases (JSON)")],
    files: Annotated[list[UploadFile], File(description="PDF, PNG or JPEG, at most 10 MB each")],
    purposes: Annotated[
        list[str],
        Form(description="what each file is, in the order of the files: its material code"),
    ],
) -> Submitted:
    """One application with the applicant's files, as ``multipart/form-data``; every file is
    checked before anything is written, and a retry (same ``idempotency_key``) stores nothing
    twice."""
    try:
        body = ApplicationIn.model_validate_json(application)
    except ValidationError as exc:
        raise ValidationFailed.of(
            "the application is invalid; nothing was submitted",
            exc,
            root="application",
            prefix="application.",
            code="application_invalid",
        ) from None
    if len(purposes) != len(files):
        raise ValidationFailed(
            "give one purpose for each file",
            errors=[FieldError("purposes", f"{len(purposes)} purposes for {len(files)} files")],
            code="purposes_mismatch",
        )
    attachments = [
        service.Attachment(
            purpose,
            f.filename or "upload",
            f.content_type or "",
            f.file.read(service.MAX_UPLOAD + 1),
        )
        for purpose, f in zip(purposes, files, strict=True)
    ]
    case = service.submit_application(
        session=session, principal=principal, application=body, attachments=attachments
    )
    return Submitted(number=case.number, status=case.status)


@router.get("/cases/{number}", response_model=CaseOut)
def get_case(number: str, session: DbSession, principal: CurrentPrincipal) -> CaseOut:
    return views.case_out(
        session, service.get_case_row(session=session, principal=principal, number=number)
    )


@router.get("/cases/{number}/status", response_model=StatusOut)
def status(
    number: str,
    request: Request,
    session: DbSession,
    lookups: Annotated[StatusLookups, Depends(status_lookups)],
    x_applicant_id: Annotated[str, Header()],
) -> StatusOut:
    """For the applicant: the case number and their ID number (header ``X-Applicant-Id``).
    Limited per client and per case number (429 with ``Retry-After`` beyond that)."""
    with lookups.guard(client_address(request), number):
        case = service.public_status(session=session, number=number, id_no=x_applicant_id)
    out = views.case_out(session, case)
    return StatusOut(
        number=out.number,
        status=out.status,
        subject_code=out.subject_code,
        submitted_at=out.submitted_at.isoformat(),
        legal_due=out.legal_due.isoformat() if out.legal_due else None,
        steps=[(s.name_zh, s.status, s.responsible_department or "") for s in out.steps],
    )


@router.get("/workbench", response_model=list[StepOut])
def workbench(
    session: DbSession,
    principal: CurrentPrincipal,
    kind: str = "",
    limit: Annotated[int, Ge(1), Le(MAX_INT)] = 50,
    offset: Count = 0,
) -> list[StepOut]:
    """My open steps, by due date."""
    rows = service.workbench(
        session=session, principal=principal, kind=kind, limit=min(limit, 500), offset=offset
    )
    return views.workbench_out(session, rows)


@router.post("/steps/{step_id}/complete", status_code=204, dependencies=[Depends(api_csrf)])
def complete(
    step_id: RowId, body: CompleteIn, session: DbSession, principal: CurrentPrincipal
) -> None:
    service.complete_step(
        session=session,
        principal=principal,
        step_id=step_id,
        lock_version=body.lock_version,
        outcome=body.outcome,
    )


@router.post("/steps/{step_id}/return", status_code=204, dependencies=[Depends(api_csrf)])
def return_step(
    step_id: RowId, body: ReturnIn, session: DbSession, principal: CurrentPrincipal
) -> None:
    service.return_step(
        session=session,
        principal=principal,
        step_id=step_id,
        lock_version=body.lock_version,
        to_step_id=body.to_step_id,
        reason=body.reason,
    )


@router.post("/steps/{step_id}/correction", status_code=204, dependencies=[Depends(api_csrf)])
def correction(
    step_id: RowId, body: CorrectionIn, session: DbSession, principal: CurrentPrincipal
) -> None:
    service.request_correction(
        session=session, principal=principal, step_id=step_id, reason=body.reason, kind=body.kind
    )


class ResumeIn(BaseModel):
    corrections: dict[str, Any] = {}
    note: str = ""


@router.post("/cases/{number}/resume", status_code=204, dependencies=[Depends(api_csrf)])
def resume(
    number: str,
    session: DbSession,
    principal: CurrentPrincipal,
    body: Annotated[ResumeIn | None, Body()] = None,
) -> None:
    """The corrections arrived (补正): corrected form data, if any, and the clock runs again."""
    given = body or ResumeIn()
    service.resume(
        session=session,
        principal=principal,
        number=number,
        note=given.note,
        corrections=given.corrections or None,
    )


@router.post("/steps/{step_id}/delegate", status_code=204, dependencies=[Depends(api_csrf)])
def delegate(
    step_id: RowId, body: DelegateIn, session: DbSession, principal: CurrentPrincipal
) -> None:
    service.delegate(
        session=session,
        principal=principal,
        step_id=step_id,
        to_department=body.to_department,
        reason=body.reason,
    )


@router.post("/steps/{step_id}/vote", status_code=204, dependencies=[Depends(api_csrf)])
def vote(step_id: RowId, body: VoteIn, session: DbSession, principal: CurrentPrincipal) -> None:
    service.vote(session=session, principal=principal, step_id=step_id, choice=body.choice)


@router.post("/steps/{step_id}/decide", status_code=204, dependencies=[Depends(api_csrf)])
def decide(step_id: RowId, body: DecideIn, session: DbSession, principal: CurrentPrincipal) -> None:
    service.close_decision(
        session=session,
        principal=principal,
        step_id=step_id,
        lock_version=body.lock_version,
        reasons=body.reasons,
    )


@router.post("/steps/{step_id}/sign", status_code=204, dependencies=[Depends(api_csrf)])
def sign(
    step_id: RowId,
    body: SignIn,
    lock_version: Count,
    session: DbSession,
    principal: CurrentPrincipal,
) -> None:
    service.sign(
        session=session,
        principal=principal,
        step_id=step_id,
        party=body.party,
        lock_version=lock_version,
    )


@router.post("/steps/{step_id}/pay", status_code=204, dependencies=[Depends(api_csrf)])
def pay(step_id: RowId, body: PayIn, session: DbSession, principal: CurrentPrincipal) -> None:
    service.pay(
        session=session,
        principal=principal,
        step_id=step_id,
        lock_version=body.lock_version,
        amount_fen=body.amount_fen,
    )


@router.post(
    "/cases/{number}/uploads",
    response_model=UploadOut,
    status_code=201,
    dependencies=[Depends(api_csrf)],
)
def upload(
    number: str,
    session: DbSession,
    principal: CurrentPrincipal,
    purpose: Annotated[str, Form(max_length=60)],
    file: Annotated[UploadFile, File()],
    step_id: Annotated[RowId | None, Form()] = None,
) -> UploadOut:
    data = file.file.read(service.MAX_UPLOAD + 1)
    row = service.upload(
        session=session,
        principal=principal,
        number=number,
        attachment=service.Attachment(
            purpose, file.filename or "upload", file.content_type or "", data
        ),
        step_id=step_id,
    )
    return UploadOut(id=row.id, sha256=row.sha256, size=row.size)


@router.post(
    "/cases/{number}/archive",
    response_model=archive.ArchiveOut,
    status_code=201,
    dependencies=[Depends(api_csrf)],
)
def seal(number: str, session: DbSession, principal: CurrentPrincipal) -> archive.ArchiveOut:
    """电子归档: seal a completed or rejected case (manifest of hashes and a PDF summary)."""
    sealed = archive.seal_case(session=session, principal=principal, number=number)
    return archive.ArchiveOut(number=sealed.number, sha256=sealed.sha256, manifest=sealed.body)


@router.get("/cases/{number}/archive", response_model=archive.ArchiveOut)
def get_archive(number: str, session: DbSession, principal: CurrentPrincipal) -> archive.ArchiveOut:
    """The sealed manifest; its ``sha256`` is the one recorded in the case's event chain."""
    sealed = archive.manifest_for(session, principal, number)
    return archive.ArchiveOut(number=sealed.number, sha256=sealed.sha256, manifest=sealed.body)


@router.get("/cases/{number}/archive.pdf", response_class=Response)
def archive_pdf(number: str, session: DbSession, principal: CurrentPrincipal) -> Response:
    """The archive's PDF summary, exactly the bytes whose hash the manifest lists."""
    return Response(
        archive.summary_pdf(session, principal, number),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{number}-archive.pdf"'},
    )
