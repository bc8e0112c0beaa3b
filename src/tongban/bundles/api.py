"""JSON routes of bundles: list, read, compose (the ledger), lint, draft, publish, BPMN."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from tongban.bundles import bpmn, service
from tongban.bundles.schemas import BundleIn
from tongban.errors import FieldError, ValidationFailed
from tongban.kit.bounds import Count
from tongban.web.deps import CurrentPrincipal, DbSession, api_csrf

router = APIRouter(tags=["bundles"])


class BundleSummary(BaseModel):
    code: str
    name_zh: str
    name_en: str
    kind: str
    status: str
    members: int


class BundleOut(BaseModel):
    bundle: BundleIn
    version_no: int
    status: str
    lock_version: int
    versions: list[tuple[int, str]]
    can_edit: bool


class ComposeIn(BaseModel):
    answers: dict[str, str] | None = Field(
        default=None, description="Answers to the bundle's questions; none composes every member."
    )


class DraftIn(BaseModel):
    bundle: dict[str, Any]
    lock_version: Count | None = None


class LintOut(BaseModel):
    rule: str
    loc: str
    message: str


def _out(detail: service.BundleDetail) -> BundleOut:
    return BundleOut(
        bundle=detail.bundle,
        version_no=detail.version_no,
        status=detail.status,
        lock_version=detail.lock_version,
        versions=detail.versions,
        can_edit=detail.can_edit,
    )


@router.get("/bundles", response_model=list[BundleSummary])
def list_bundles(session: DbSession, principal: CurrentPrincipal) -> list[BundleSummary]:
    return [
        BundleSummary(
            code=b.code,
            name_zh=b.name_zh,
            name_en=b.name_en,
            kind=b.kind.value,
            status=b.status,
            members=len(b.members),
        )
        for b in service.list_bundles(session=session, principal=principal)
    ]


@router.get("/bundles/{code}", response_model=BundleOut)
def get_bundle(code: str, session: DbSession, principal: CurrentPrincipal) -> BundleOut:
    return _out(service.get_bundle(session=session, principal=principal, code=code))


@router.post("/bundles/{code}/compose")
def compose(
    code: str,
    session: DbSession,
    principal: CurrentPrincipal,
    body: Annotated[ComposeIn, Body()] = ComposeIn(),
) -> dict[str, Any]:
    """The reduction ledger: ``before``, ``after`` and ``removed`` (forms, fields, materials,
    steps, visits, days), the unified form, the materials still asked, the composed steps."""
    ledger = service.compose_bundle(
        session=session, principal=principal, code=code, answers=body.answers
    )
    return ledger.as_dict()


@router.post("/bundles/compose-draft", dependencies=[Depends(api_csrf)])
def compose_draft(body: DraftIn, session: DbSession, principal: CurrentPrincipal) -> dict[str, Any]:
    """Compose an unsaved definition (the composer shows the ledger while one edits)."""
    bundle = service.parse_definition(body.bundle)
    return service.compose_definition(session=session, bundle=bundle).as_dict()


@router.get("/bundles/{code}/lint", response_model=list[LintOut])
def lint(code: str, session: DbSession, principal: CurrentPrincipal) -> list[LintOut]:
    detail = service.get_bundle(session=session, principal=principal, code=code)
    return [
        LintOut(rule=i.rule, loc=i.loc, message=i.message)
        for i in service.lint(session=session, bundle=detail.bundle)
    ]


@router.put("/bundles/{code}/draft", response_model=BundleOut, dependencies=[Depends(api_csrf)])
def save_draft(
    code: str, body: DraftIn, session: DbSession, principal: CurrentPrincipal
) -> BundleOut:
    data = {**body.bundle, "code": code}
    return _out(
        service.save_draft(
            session=session, principal=principal, data=data, lock_version=body.lock_version
        )
    )


@router.post("/bundles/{code}/publish", response_model=BundleOut, dependencies=[Depends(api_csrf)])
def publish(code: str, session: DbSession, principal: CurrentPrincipal) -> BundleOut:
    return _out(service.publish(session=session, principal=principal, code=code))


def _answers_query(pairs: list[str]) -> dict[str, str] | None:
    """``answer=QUESTION=ANSWER``, repeated (as the CLI's ``--answer``); none: the whole bundle."""
    if not pairs:
        return None
    answers: dict[str, str] = {}
    errors = []
    for i, pair in enumerate(pairs):
        question, sep, answer = pair.partition("=")
        if not sep or not question.strip():
            errors.append(FieldError(f"answer.{i}", f"'{pair}' is not QUESTION=ANSWER"))
        else:
            answers[question.strip()] = answer.strip()
    if errors:
        raise ValidationFailed(
            "the answers do not fit the bundle's questions", errors=errors, code="answers_invalid"
        )
    return answers


@router.get("/bundles/{code}/bpmn", response_class=Response)
def export_bpmn(
    code: str,
    session: DbSession,
    principal: CurrentPrincipal,
    answer: Annotated[
        list[str] | None,
        Query(
            description="QUESTION=ANSWER, repeated: the personalised process of the members "
            "that apply. Without any, the whole bundle, whose gateways decide on the answers.",
        ),
    ] = None,
) -> Response:
    """The composed process as executable BPMN 2.0 XML, a lane per department."""
    answers = _answers_query(answer or [])
    xml = bpmn.bundle_bpmn(session=session, principal=principal, code=code, answers=answers)
    return Response(
        xml,
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{code}.bpmn"'},
    )
