"""Files of a case: checked against their content, stored once by hash, logged."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tongban.auth.access import require_principal
from tongban.auth.models import Role
from tongban.auth.principal import Principal
from tongban.cases import events, repository
from tongban.cases.models import (
    Case,
    CaseStatus,
    Upload,
)
from tongban.cases.service.access import STAFF_ROLES, access_case_by_number
from tongban.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed

MAX_UPLOAD = 10 * 1024 * 1024


ALLOWED_TYPES = {"application/pdf": b"%PDF", "image/png": b"\x89PNG", "image/jpeg": b"\xff\xd8\xff"}


#: what a file is for: a material code or a short word (no control characters)
PURPOSE = re.compile(r"[^\x00-\x1f\x7f]{1,60}")


@dataclass(frozen=True)
class Attachment:
    """A file for a case: a material (``purpose`` is its code), a form field's file, minutes,
    a photo."""

    purpose: str
    filename: str
    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def check_attachment(attachment: Attachment, field: str = "file") -> None:
    """Size and type limits, checked against the content itself, naming the file."""
    name = attachment.filename
    if len(attachment.data) > MAX_UPLOAD:
        raise ValidationFailed(
            "the file is larger than %(mb)s MB",
            errors=[FieldError(field, f"'{name}' has {len(attachment.data)} bytes")],
            params={"mb": MAX_UPLOAD // (1024 * 1024)},
            code="file_too_large",
        )
    magic = ALLOWED_TYPES.get(attachment.content_type)
    if magic is None or not attachment.data.startswith(magic):
        raise ValidationFailed(
            "only PDF, PNG and JPEG files are accepted",
            errors=[
                FieldError(
                    field, f"'{name}' is not a {attachment.content_type or 'known type'} file"
                )
            ],
            code="file_type_refused",
        )
    if not PURPOSE.fullmatch(attachment.purpose.strip()):
        raise ValidationFailed(
            "say what the file is for (a material code or a short word, at most 60 characters)",
            errors=[FieldError(field, f"purpose '{attachment.purpose[:80]}' is not a code")],
            code="bad_purpose",
        )


def attach(
    session: Session,
    case: Case,
    attachment: Attachment,
    *,
    actor_id: int | None,
    step_id: int | None = None,
) -> Upload:
    """Store the (checked) file once by its hash, record it on the case and in its log."""
    from tongban.cases import storage

    digest = attachment.sha256
    purpose = attachment.purpose.strip()
    # Stored before the commit: a rolled-back upload leaves a file nobody refers to, never a row
    # without its file (files are named by content, so a retry finds it there).
    storage.put(digest, attachment.data)
    row = Upload(
        case_id=case.id,
        step_id=step_id,
        purpose=purpose,
        filename=attachment.filename[:200],
        content_type=attachment.content_type,
        size=len(attachment.data),
        sha256=digest,
        uploaded_by_id=actor_id,
    )
    session.add(row)
    session.flush()
    events.append(
        session,
        case_id=case.id,
        action="uploaded",
        actor_id=actor_id,
        step_id=step_id,
        data={"purpose": purpose, "sha256": digest, "size": len(attachment.data)},
    )
    return row


def upload(
    *,
    session: Session,
    principal: Principal | None,
    number: str,
    attachment: Attachment,
    step_id: int | None = None,
) -> Upload:
    """Staff attach a file to a case they handle (an applicant attaches theirs at intake)."""
    who = require_principal(principal)
    case = access_case_by_number(session=session, principal=who, number=number)
    if not who.has_role(*STAFF_ROLES, Role.FRONT_DESK):
        raise PermissionDenied("only the staff handling cases attach files", code="staff_only")
    if case.status not in (CaseStatus.IN_PROGRESS.value, CaseStatus.SUSPENDED.value):
        raise Conflict(
            "case %(case)s is %(status)s; nothing can be attached any more",
            params={"case": case.number, "status": case.status},
            code="case_closed",
        )
    check_attachment(attachment)
    if step_id is not None:
        step = repository.step(session, step_id)
        if step is None or step.case_id != case.id:
            raise ValidationFailed(
                "the step is not of this case",
                errors=[FieldError("step_id", "not in this case")],
                code="step_not_in_case",
            )
    return attach(session, case, attachment, actor_id=who.user_id, step_id=step_id)


#: who opens the files of a case they may see: the people who handle it (the window, the
#: departments, the township, the committee) and the reform office; an observer reads figures,
#: not the applicants' documents
FILE_READER_ROLES = (*STAFF_ROLES, Role.FRONT_DESK, Role.REFORM_OFFICE)


def open_upload(
    *, session: Session, principal: Principal | None, number: str, upload_id: int
) -> tuple[Upload, bytes]:
    """A file of a case, for someone who may see the case and handles it; every opening is in the
    audit log (who, which case, which file). A file of another case, or of a case the reader may
    not see, is not found (404), whether or not it exists."""
    from tongban.audit import service as audit
    from tongban.cases import storage

    who = require_principal(principal)
    case = access_case_by_number(session=session, principal=who, number=number)
    if not who.has_role(*FILE_READER_ROLES):
        raise PermissionDenied(
            "only the staff handling a case open its files", code="files_for_handlers_only"
        )
    row = session.get(Upload, upload_id)
    if row is None or row.case_id != case.id:
        raise NotFound(
            "no file %(file)s in case %(case)s",
            params={"file": upload_id, "case": case.number},
            code="upload_not_found",
        )
    try:
        data = storage.get(row.sha256)
    except FileNotFoundError:
        raise NotFound(
            "the file %(file)s of case %(case)s is missing from the store",
            params={"file": upload_id, "case": case.number},
            code="upload_missing",
        ) from None
    audit.record(
        session=session,
        actor_user_id=who.user_id,
        action="case.file_opened",
        object_type="case",
        object_key=case.number,
        detail={"upload_id": row.id, "sha256": row.sha256, "filename": row.filename},
    )
    return row, data


#: who may reveal a masked resident ID number: the people who handle the case
ID_REVEALER_ROLES = (*STAFF_ROLES, Role.FRONT_DESK)


def reveal_applicant_id(*, session: Session, principal: Principal | None, number: str) -> bool:
    """Whether the full ID numbers of a case are shown to this person now: to a handler of
    the case, logged (who, which case, when); never to anyone else (False, nothing logged)."""
    from tongban.audit import service as audit

    who = require_principal(principal)
    case = access_case_by_number(session=session, principal=who, number=number)
    if not who.has_role(*ID_REVEALER_ROLES):
        return False
    audit.record(
        session=session,
        actor_user_id=who.user_id,
        action="case.id_revealed",
        object_type="case",
        object_key=case.number,
    )
    return True
