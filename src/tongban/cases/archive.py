"""电子归档: a finished case sealed into an archive that anyone can check later.

Sealing a completed or rejected case writes two files into the upload store, both by content
hash (``tongban.cases.storage``):

* a PDF summary for people, rendered from ``templates/archive/summary.html`` with WeasyPrint;
* the manifest for machines, canonical JSON (``kit.hashchain.canonical_json``) listing the
  SHA-256 of the form data, of every uploaded material (the stored file's own hash), of every
  step's decision (outcome, actor, acting department, time), of every signature and payment,
  the head of the case's event chain at sealing, the calendar versions used, and the PDF's hash.

The manifest's own hash goes into an ``archived`` event of the case's hash chain and the case's
status becomes ``archived``, after which no step can be acted on. No table is needed: the chain
holds the manifest's hash and the store holds the manifest.

``verify_archive`` rebuilds every section of the manifest from the database, re-hashes every
stored file and re-checks the event chain; it names each difference.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from tongban.auth import repository as auth_repository
from tongban.auth.access import require_principal
from tongban.auth.models import Role, User
from tongban.auth.principal import Principal
from tongban.cases import events, repository, service, storage
from tongban.cases.documents import env as _env
from tongban.cases.models import (
    Case,
    CaseEvent,
    CaseStatus,
    CaseStep,
    Payment,
    Signature,
    Upload,
    Vote,
)
from tongban.catalog import service as catalog_service
from tongban.db import utcnow
from tongban.errors import Conflict, NotFound, PermissionDenied
from tongban.kit import money, workdays
from tongban.kit.hashchain import canonical_json
from tongban.org import repository as org_repository
from tongban.org.models import Department, Jurisdiction

FORMAT = "tongban-archive/1"
#: who may seal: the handling departments' officers and the single window (the records desk)
SEALERS = (Role.OFFICER, Role.FRONT_DESK)
FINISHED = (CaseStatus.COMPLETED.value, CaseStatus.REJECTED.value)


@dataclass(frozen=True)
class Manifest:
    """A sealed archive: the manifest's content and the SHA-256 of its canonical bytes."""

    number: str
    sha256: str
    body: dict[str, Any]

    @property
    def pdf_sha256(self) -> str:
        return str(self.body["summary_pdf"]["sha256"])


@dataclass
class ArchiveCheck:
    number: str
    manifest_sha256: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class ArchiveOut(BaseModel):
    number: str
    sha256: str
    manifest: dict[str, Any]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record_hash(record: dict[str, Any]) -> str:
    """SHA-256 of a record's canonical JSON (its own ``sha256`` key left out)."""
    return sha256_hex(canonical_json({k: v for k, v in record.items() if k != "sha256"}))


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


# ---------------------------------------------------------------- what the database says


@dataclass(frozen=True)
class _Names:
    users: dict[int, User]
    departments: dict[int, Department]
    jurisdictions: dict[int, Jurisdiction]

    def user(self, user_id: int | None) -> str | None:
        found = self.users.get(user_id or 0)
        return found.username if found else None

    def department(self, department_id: int | None) -> str | None:
        found = self.departments.get(department_id or 0)
        return found.code if found else None


def _names(session: Session, case: Case) -> _Names:
    """The users, departments and jurisdictions this case names (its steps, events, files)."""
    steps = repository.steps_of(session, case.id)
    log = events.events_of(session, case.id)
    step_ids = [s.id for s in steps] or [0]
    users = [s.acted_by_id for s in steps] + [e.actor_id for e in log]
    users += session.scalars(select(Upload.uploaded_by_id).where(Upload.case_id == case.id))
    users += session.scalars(select(Vote.user_id).where(Vote.step_id.in_(step_ids)))
    users += session.scalars(select(Signature.user_id).where(Signature.step_id.in_(step_ids)))
    departments = [s.responsible_department_id for s in steps]
    departments += [s.acted_department_id for s in steps]
    places = [s.responsible_jurisdiction_id for s in steps] + [case.applicant_jurisdiction_id]
    return _Names(
        auth_repository.users_by_id(session, users),
        org_repository.departments_by_id(session, departments),
        org_repository.jurisdictions_by_id(session, places),
    )


def _with_hash(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "sha256": record_hash(record)}


def _sections(session: Session, case: Case, names: _Names) -> dict[str, Any]:
    """Every part of the manifest that is derived from the database, built the same way when
    sealing and when verifying."""
    steps = repository.steps_of(session, case.id)
    by_step = {s.id: s for s in steps}
    case_record = _with_hash(
        {
            "number": case.number,
            "subject_kind": case.subject_kind,
            "subject_code": case.subject_code,
            "applicant_name": case.applicant_name,
            "applicant_id_no": case.applicant_id_no,
            "applicant_jurisdiction": names.jurisdictions[case.applicant_jurisdiction_id].code,
            "channel": case.channel,
            "idempotency_key": case.idempotency_key,
            "submitted_by": names.user(case.submitted_by_id),
            "submitted_at": _iso(case.submitted_at),
            "finished_at": _iso(case.finished_at),
            "legal_due": _iso(case.legal_due),
            "promised_due": _iso(case.promised_due),
        }
    )
    votes: dict[int, list[dict[str, Any]]] = {}
    for v in session.scalars(
        select(Vote)
        .join(CaseStep, CaseStep.id == Vote.step_id)
        .where(CaseStep.case_id == case.id)
        .order_by(Vote.id)
    ):
        votes.setdefault(v.step_id, []).append(
            {"member": names.user(v.user_id), "choice": v.choice, "at": _iso(v.at)}
        )
    decisions = []
    for s in steps:
        record: dict[str, Any] = {
            "id": s.id,
            "step": s.code,
            "kind": s.kind,
            "name_zh": s.name_zh,
            "status": s.status,
            "outcome": s.outcome or {},
            "actor": names.user(s.acted_by_id),
            "acting_department": names.department(s.acted_department_id),
            "responsible_department": names.department(s.responsible_department_id),
            "acted_at": _iso(s.acted_at),
            "due_date": _iso(s.due_date),
            "calendar_version": s.calendar_version,
        }
        if s.kind == "collective_decision":
            record["votes"] = votes.get(s.id, [])
        decisions.append(_with_hash(record))
    materials = [
        {
            "id": u.id,
            "purpose": u.purpose,
            "filename": u.filename,
            "content_type": u.content_type,
            "size": u.size,
            "step": by_step[u.step_id].code if u.step_id in by_step else None,
            "uploaded_by": names.user(u.uploaded_by_id),
            "at": _iso(u.at),
            "sha256": u.sha256,
        }
        for u in session.scalars(
            select(Upload).where(Upload.case_id == case.id).order_by(Upload.id)
        )
    ]
    signatures = [
        _with_hash(
            {
                "id": g.id,
                "step": by_step[g.step_id].code,
                "party": g.party,
                "signer": names.user(g.user_id),
                "document_sha256": g.document_sha256,
                "at": _iso(g.at),
            }
        )
        for g in session.scalars(
            select(Signature)
            .where(Signature.step_id.in_(list(by_step) or [0]))
            .order_by(Signature.id)
        )
    ]
    payments = [
        _with_hash(
            {
                "id": p.id,
                "step": by_step[p.step_id].code if p.step_id in by_step else None,
                "reference": p.reference,
                "amount_fen": p.amount_fen,
                "account": p.account,
                "created_at": _iso(p.created_at),
            }
        )
        for p in session.scalars(
            select(Payment).where(Payment.case_id == case.id).order_by(Payment.id)
        )
    ]
    submitted = session.scalar(
        select(CaseEvent.data).where(CaseEvent.case_id == case.id, CaseEvent.seq == 1)
    )
    return {
        "case": case_record,
        "form": {
            "sha256": sha256_hex(canonical_json(case.form_data)),
            "fields": len(case.form_data),
        },
        "answers": {"sha256": sha256_hex(canonical_json(case.answers or {}))},
        "materials": materials,
        "decisions": decisions,
        "signatures": signatures,
        "payments": payments,
        "calendar": {
            "at_submission": (submitted or {}).get("calendar"),
            "steps": sorted({s.calendar_version for s in steps if s.calendar_version}),
        },
    }


# ---------------------------------------------------------------- the PDF summary


def _mask_id(value: str) -> str:
    """Resident ID numbers are shown without the birth date; codes of organisations in full."""
    if len(value) == 18 and value[:17].isdigit():
        return value[:6] + "********" + value[14:]
    return value


def _fen(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return money.format_yuan(value, unit="元")
    return str(value)


def _local(value: str | None) -> str:
    if not value:
        return ""
    return datetime.fromisoformat(value).astimezone(workdays.SHANGHAI).strftime("%Y-%m-%d %H:%M")


def render_summary(
    session: Session, case: Case, sections: dict[str, Any], head: dict[str, Any], sealer: str
) -> bytes:
    """The summary for people, as PDF bytes (WeasyPrint, CJK fonts from the system)."""
    from weasyprint import HTML

    names = _names(session, case)
    elements = {e.code: e for e in catalog_service.list_elements(session=session)}
    form_rows = []
    for code, value in sorted(case.form_data.items()):
        element = elements.get(code)
        shown = _fen(value) if element is not None and element.data_type == "money" else value
        if element is not None and element.validator == "resident_id" and isinstance(value, str):
            shown = _mask_id(value)
        form_rows.append((code, element.name_zh if element else code, shown))
    departments = {d.code: d.name_zh for d in names.departments.values()}
    users = {u.username: u.display_name for u in names.users.values()}
    timeline = [
        {
            "seq": e.seq,
            "at": _local(_iso(e.at)),
            "actor": users.get(names.user(e.actor_id) or "", "") or "系统 system",
            "action": e.action,
            "hash": e.hash,
        }
        for e in events.events_of(session, case.id)
    ]
    html = _env.get_template("archive/summary.html").render(
        case=case,
        applicant_id=_mask_id(case.applicant_id_no),
        jurisdiction=names.jurisdictions[case.applicant_jurisdiction_id],
        sections=sections,
        head=head,
        form_rows=form_rows,
        departments=departments,
        users=users,
        timeline=timeline,
        sealer=users.get(sealer, sealer),
        sealed_at=_local(utcnow().isoformat()),
        local=_local,
        fen=_fen,
    )
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf


# ---------------------------------------------------------------- sealing and reading


def _head(session: Session, case_id: int) -> dict[str, Any]:
    seq, head = session.execute(
        select(Case.event_seq, Case.last_event_hash).where(Case.id == case_id)
    ).one()
    return {"count": seq, "head": head}


def seal_case(*, session: Session, principal: Principal | None, number: str) -> Manifest:
    """Seal a completed or rejected case: PDF summary and manifest stored by hash, the
    manifest's hash appended to the case's event chain, the case ``archived``."""
    who = require_principal(principal)
    case = service.get_case_row(session=session, principal=who, number=number)
    if not who.has_role(*SEALERS):
        raise PermissionDenied(
            "only officers and the single window seal a case into the archive", code="sealers_only"
        )
    if case.status == CaseStatus.ARCHIVED.value:
        raise Conflict(
            "case %(case)s is already sealed into the archive",
            params={"case": number},
            code="already_archived",
        )
    if case.status not in FINISHED:
        raise Conflict(
            "case %(case)s is %(status)s; only a completed or rejected case can be sealed",
            params={"case": number, "status": case.status},
            code="case_not_finished",
        )
    session.flush()
    session.expire_all()  # build from what the database holds, exactly as verification will
    case = service.get_case_row(session=session, principal=who, number=number)
    names = _names(session, case)
    sections = _sections(session, case, names)
    head = _head(session, case.id)
    pdf = render_summary(session, case, sections, head, who.username)
    pdf_sha = sha256_hex(pdf)
    storage.put(pdf_sha, pdf)
    body: dict[str, Any] = {
        "format": FORMAT,
        "number": case.number,
        "final_status": case.status,
        **sections,
        "events": head,
        "summary_pdf": {"sha256": pdf_sha, "size": len(pdf)},
        "sealed_at": utcnow().isoformat(),
        "sealed_by": who.username,
    }
    data = canonical_json(body)
    manifest_sha = sha256_hex(data)
    storage.put(manifest_sha, data)
    previous = case.status
    case.status = CaseStatus.ARCHIVED.value
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(
            "case %(case)s was changed or sealed just now; reload it",
            params={"case": number},
            code="stale_version",
        ) from None
    events.append(
        session,
        case_id=case.id,
        action="archived",
        actor_id=who.user_id,
        data={
            "manifest_sha256": manifest_sha,
            "pdf_sha256": pdf_sha,
            "previous_status": previous,
            "sealed_events": head["count"],
        },
    )
    return Manifest(case.number, manifest_sha, body)


def referenced_files(session: Session) -> set[str]:
    """The digest of every stored file a row names: each upload, each archive's manifest and
    PDF summary (``storage.sweep`` keeps these)."""
    named = set(session.scalars(select(Upload.sha256).distinct()))
    for data in session.scalars(select(CaseEvent.data).where(CaseEvent.action == "archived")):
        named.update(str(data.get(key, "")) for key in ("manifest_sha256", "pdf_sha256"))
    named.discard("")
    return named


def _archived_event(session: Session, case: Case) -> CaseEvent | None:
    return session.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_id == case.id, CaseEvent.action == "archived")
        .order_by(CaseEvent.seq.desc())
        .limit(1)
    ).one_or_none()


def _read_manifest(session: Session, case: Case) -> Manifest:
    event = _archived_event(session, case)
    if event is None:
        raise NotFound(
            "case %(case)s is not archived", params={"case": case.number}, code="case_not_archived"
        )
    digest = str(event.data.get("manifest_sha256", ""))
    try:
        data = storage.get(digest)
    except (OSError, ValueError):
        raise NotFound(
            "the archive manifest of case %(case)s is missing",
            params={"case": case.number},
            code="archive_manifest_missing",
        ) from None
    return Manifest(case.number, digest, json.loads(data))


def manifest_for(session: Session, principal: Principal | None, number: str) -> Manifest:
    """The sealed manifest, for anyone who can see the case."""
    case = service.get_case_row(session=session, principal=principal, number=number)
    return _read_manifest(session, case)


def summary_pdf(session: Session, principal: Principal | None, number: str) -> bytes:
    manifest = manifest_for(session, principal, number)
    try:
        return storage.get(manifest.pdf_sha256)
    except OSError:
        raise NotFound(
            "the archive summary of case %(case)s is missing",
            params={"case": number},
            code="archive_summary_missing",
        ) from None


# ---------------------------------------------------------------- verification


def _stored_hash(digest: str) -> str | None:
    try:
        return sha256_hex(storage.get(digest))
    except (OSError, ValueError):
        return None


def _compare_list(
    problems: list[str], section: str, sealed: list[dict[str, Any]], now: list[dict[str, Any]]
) -> None:
    before = {r["id"]: r for r in sealed}
    after = {r["id"]: r for r in now}
    for key, record in before.items():
        label = f"{section} {key} ({record.get('step') or record.get('purpose') or ''})"
        if key not in after:
            problems.append(f"{label} was removed after sealing")
        elif record_hash(record) != record.get("sha256") and section != "materials":
            problems.append(f"{label}: the manifest's entry does not match its own hash")
        elif after[key] != record:
            fields = sorted(k for k in record if record.get(k) != after[key].get(k))
            problems.append(f"{label} differs from the archive: {', '.join(fields)}")
    for key in after.keys() - before.keys():
        problems.append(f"{section} {key} was added after sealing")


def _verify(session: Session, case: Case) -> ArchiveCheck:
    """Callers flush and expire the session first: everything is read back from the database."""
    check = ArchiveCheck(case.number)
    problems = check.problems
    chain = events.events_of(session, case.id)
    broken = events.verify_case(case, chain)
    if broken:
        problems.append(f"event chain: {broken}")
    event = _archived_event(session, case)
    if event is None:
        problems.append("the case has no archived event")
        return check
    if case.status != CaseStatus.ARCHIVED.value:
        problems.append(f"the case's status is {case.status}, not archived")
    digest = str(event.data.get("manifest_sha256", ""))
    check.manifest_sha256 = digest
    actual = _stored_hash(digest)
    if actual is None:
        problems.append(f"manifest {digest[:12]}… is missing from storage")
        return check
    if actual != digest:
        problems.append(
            f"manifest file was altered (its hash is {actual[:12]}…, not {digest[:12]}…)"
        )
        return check
    body: dict[str, Any] = json.loads(storage.get(digest))
    if body.get("number") != case.number:
        problems.append(f"the manifest is of case {body.get('number')}, not {case.number}")
    sealed_head = body.get("events", {})
    at_seal = [e for e in chain if e.seq == sealed_head.get("count")]
    if not at_seal or at_seal[0].hash != sealed_head.get("head"):
        problems.append(f"event {sealed_head.get('count')} is not the chain head that was sealed")
    for late in chain:
        if late.seq > (sealed_head.get("count") or 0) and late.id != event.id:
            problems.append(f"event {late.seq} ({late.action}) was appended after sealing")
    now = _sections(session, case, _names(session, case))
    for key in ("case", "form", "answers", "calendar"):
        if body.get(key) != now[key]:
            problems.append(f"{key} differs from the archive")
    for key in ("materials", "decisions", "signatures", "payments"):
        _compare_list(problems, key, body.get(key, []), now[key])
    for material in body.get("materials", []):
        stored = _stored_hash(material["sha256"])
        if stored is None:
            problems.append(f"material {material['id']} ({material['filename']}) is missing")
        elif stored != material["sha256"]:
            problems.append(f"material {material['id']} ({material['filename']}) was altered")
    pdf = body.get("summary_pdf", {}).get("sha256", "")
    stored_pdf = _stored_hash(pdf)
    if stored_pdf is None:
        problems.append("the PDF summary is missing")
    elif stored_pdf != pdf:
        problems.append("the PDF summary was altered")
    if event.data.get("pdf_sha256") != pdf:
        problems.append("the archived event names another PDF summary than the manifest")
    return check


def verify_archive(*, session: Session, principal: Principal | None, number: str) -> ArchiveCheck:
    """Recompute every hash of one sealed case; each problem is named."""
    service.get_case_row(session=session, principal=principal, number=number)
    session.flush()
    session.expire_all()
    return _verify(
        session, service.get_case_row(session=session, principal=principal, number=number)
    )


def verify_all_archives(*, session: Session) -> list[str]:
    """Every archived case (for ``tongban audit verify``); one line per problem."""
    session.flush()
    session.expire_all()
    lines = []
    archived = select(CaseEvent.case_id).where(CaseEvent.action == "archived")
    for case in session.scalars(select(Case).where(Case.id.in_(archived)).order_by(Case.id)):
        lines += [f"{case.number}: {p}" for p in _verify(session, case).problems]
    return lines
