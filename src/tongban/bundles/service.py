"""Rules of one-thing bundles: import, read, compose, lint, draft and publish.

Visibility follows the catalogue: published bundles are public; drafts are seen and edited by the
reform office whose subtree holds the lead department; only the reform office publishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import ColumnElement, or_
from sqlalchemy.orm import Session

from tongban.audit import service as audit
from tongban.auth.access import require_principal, scope_clause
from tongban.auth.models import Role
from tongban.auth.principal import Principal
from tongban.bundles import repository
from tongban.bundles.compose import (
    CompositionError,
    ElementInfo,
    Ledger,
    Member,
    Node,
    compose,
    topological_order,
)
from tongban.bundles.models import Bundle, BundleMember, BundleVersion
from tongban.bundles.schemas import BundleDocument, BundleIn, MemberIn, QuestionIn
from tongban.catalog import service as catalog_service
from tongban.catalog import types as item_types
from tongban.catalog.completeness import item_gaps, recorded, time_limit
from tongban.catalog.io import CpsvEvent
from tongban.catalog.schemas import ItemIn
from tongban.db import utcnow
from tongban.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from tongban.org import repository as org_repository
from tongban.org import units
from tongban.org.models import Department, Jurisdiction

EDITORS = (Role.REFORM_OFFICE,)


def visible(principal: Principal | None, *, as_system: bool = False) -> ColumnElement[bool]:
    """The access funnel for bundle versions: published ones are public; drafts and retired
    versions are the reform office's in scope. Anonymous sees only what is published; only an
    explicit ``as_system`` (the command line's operator) sees every version."""
    if as_system:
        return BundleVersion.id.is_not(None)
    published = BundleVersion.status == "published"
    if principal is None:
        return published
    return or_(
        published,
        scope_clause(
            principal,
            EDITORS,
            jurisdiction_path=Jurisdiction.path,
            department_id=BundleVersion.lead_department_id,
        ),
    )


def _departments(session: Session) -> dict[str, Department]:
    return {d.code: d for d in org_repository.all_departments(session)}


def version_to_bundle(version: BundleVersion, departments: dict[int, str]) -> BundleIn:
    return BundleIn(
        code=version.bundle.code,
        status=version.status,
        name_zh=version.name_zh,
        name_en=version.name_en,
        kind=version.kind,
        description=version.description,
        lead_department=departments[version.lead_department_id],
        partners=list(version.partner_codes),
        questions=[QuestionIn.model_validate(q) for q in version.questions],
        members=[
            MemberIn(item=m.item_code, stage=m.stage, depends_on=list(m.depends_on), when=m.when)
            for m in version.members
        ],
    )


def _reference_errors(
    session: Session, bundle: BundleIn, loc: str, departments: dict[str, Department]
) -> list[FieldError]:
    errors: list[FieldError] = []
    if bundle.lead_department not in departments:
        errors.append(
            FieldError(f"{loc}.lead_department", f"unknown department '{bundle.lead_department}'")
        )
    for i, code in enumerate(bundle.partners):
        if code not in departments:
            errors.append(FieldError(f"{loc}.partners[{i}]", f"unknown department '{code}'"))
    existing = catalog_service.item_codes_exist(
        session=session, codes=[m.item for m in bundle.members]
    )
    for i, member in enumerate(bundle.members):
        if member.item not in existing:
            errors.append(FieldError(f"{loc}.members[{i}].item", f"unknown item '{member.item}'"))
    try:
        topological_order([Node(m.item, m.stage, tuple(m.depends_on)) for m in bundle.members])
    except CompositionError as exc:
        errors.append(FieldError(f"{loc}.members", str(exc)))
    return errors


def _fill(
    version: BundleVersion,
    bundle: BundleIn,
    departments: dict[str, Department],
    item_ids: dict[str, int],
) -> None:
    version.name_zh = bundle.name_zh
    version.name_en = bundle.name_en
    version.kind = bundle.kind.value
    version.description = bundle.description
    version.lead_department_id = departments[bundle.lead_department].id
    version.partner_codes = list(bundle.partners)
    version.questions = [q.model_dump(mode="json") for q in bundle.questions]
    version.members = [
        BundleMember(
            position=i,
            item_id=item_ids[m.item],
            item_code=m.item,
            stage=m.stage,
            depends_on=list(m.depends_on),
            when={q: list(a) for q, a in m.when.items()},
        )
        for i, m in enumerate(bundle.members)
    ]


@dataclass
class BundleImportReport:
    created: int = 0
    versions: int = 0
    unchanged: int = 0


def import_bundles(
    *, session: Session, document: BundleDocument, principal: Principal | None = None
) -> BundleImportReport:
    """All or nothing: every reference and every dependency graph is checked first."""
    if principal is not None and not principal.has_role(Role.REFORM_OFFICE):
        raise PermissionDenied("only the reform office imports bundles", code="reform_office_only")
    departments = _departments(session)
    errors: list[FieldError] = []
    codes = [b.code for b in document.bundles]
    for i, bundle_doc in enumerate(document.bundles):
        loc = f"bundles[{i}] ({bundle_doc.code})"
        if codes.count(bundle_doc.code) > 1:
            errors.append(FieldError(f"{loc}.code", "bundle code appears twice"))
        errors += _reference_errors(session, bundle_doc, loc, departments)
    if not errors:
        # Lint gates every way to publish: a bundle the file marks published is linted as the
        # publish action lints it (an import published bundles whose ledgers could not hold).
        for i, bundle_doc in enumerate(document.bundles):
            if bundle_doc.status == "published":
                loc = f"bundles[{i}] ({bundle_doc.code})"
                errors += [
                    FieldError(f"{loc}.{issue.loc}", f"[{issue.rule}] {issue.message}")
                    for issue in lint(session=session, bundle=bundle_doc)
                ]
    if errors:
        raise ValidationFailed(
            "bundles are invalid; nothing was imported", errors=errors, code="bundle_file_invalid"
        )
    report = BundleImportReport()
    dept_codes = {d.id: c for c, d in departments.items()}
    for bundle_in in document.bundles:
        item_ids = _item_ids(session, [m.item for m in bundle_in.members])
        bundle = repository.bundle_by_code(session, bundle_in.code)
        if bundle is None:
            bundle = Bundle(code=bundle_in.code)
            session.add(bundle)
            session.flush()
            report.created += 1
        latest = repository.latest_version(session, bundle.id)
        if latest is not None and version_to_bundle(latest, dept_codes) == bundle_in:
            report.unchanged += 1
            continue
        if latest is not None and latest.status == "draft":
            version = latest
        else:
            version = BundleVersion(
                bundle_id=bundle.id,
                version_no=(latest.version_no + 1) if latest else 1,
                status="draft",
            )
        _fill(version, bundle_in, departments, item_ids)
        session.add(version)
        session.flush()
        _set_status(session, version, bundle_in.status)
        report.versions += 1
    audit.record(
        session=session,
        actor_user_id=principal.user_id if principal else None,
        action="bundles.import",
        object_type="bundle",
        object_key="bundles",
        detail={"created": report.created, "versions": report.versions},
    )
    return report


def _item_ids(session: Session, codes: list[str]) -> dict[str, int]:
    return catalog_service.item_ids(session=session, codes=codes)


def _set_status(session: Session, version: BundleVersion, status: str) -> None:
    if version.status == status:
        return
    if status == "published":
        previous = repository.published_version(session, version.bundle_id)
        if previous is not None and previous.id != version.id:
            previous.status = "retired"
            session.flush()
        version.published_at = utcnow()
    version.status = status
    session.flush()


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class BundleDetail:
    bundle: BundleIn
    version_no: int
    status: str
    lock_version: int
    versions: list[tuple[int, str]]
    can_edit: bool


def list_bundles(
    *, session: Session, principal: Principal | None, as_system: bool = False
) -> list[BundleIn]:
    dept_codes = {d.id: c for c, d in _departments(session).items()}
    return [
        version_to_bundle(v, dept_codes)
        for v in repository.latest_visible(session, visible(principal, as_system=as_system))
    ]


def cpsv_events(*, session: Session) -> list[CpsvEvent]:
    """The published bundles as CPSV-AP events grouping their member items (for the
    catalogue's JSON-LD export)."""
    return [
        CpsvEvent(
            b.code,
            b.kind.value,
            b.name_zh,
            b.name_en,
            b.description,
            tuple(m.item for m in b.members),
        )
        for b in list_bundles(session=session, principal=None)
        if b.status == "published"
    ]


def get_bundle(
    *,
    session: Session,
    principal: Principal | None,
    code: str,
    version_no: int | None = None,
    as_system: bool = False,
) -> BundleDetail:
    bundle = repository.bundle_by_code(session, code)
    seen = visible(principal, as_system=as_system)
    versions = repository.visible_versions(session, bundle.id, seen) if bundle else []
    if not versions:
        raise NotFound("no bundle '%(code)s'", params={"code": code}, code="bundle_not_found")
    chosen = versions[-1]
    if version_no is not None:
        matching = [v for v in versions if v.version_no == version_no]
        if not matching:
            raise NotFound(
                "bundle '%(code)s' has no version %(version)s",
                params={"code": code, "version": version_no},
                code="version_not_found",
            )
        chosen = matching[0]
    departments = _departments(session)
    dept_codes = {d.id: c for c, d in departments.items()}
    lead = departments[dept_codes[chosen.lead_department_id]]
    return BundleDetail(
        bundle=version_to_bundle(chosen, dept_codes),
        version_no=chosen.version_no,
        status=chosen.status,
        lock_version=chosen.lock_version,
        versions=[(v.version_no, v.status) for v in versions],
        can_edit=_can_edit(session, principal, lead),
    )


def _can_edit(session: Session, principal: Principal | None, lead: Department) -> bool:
    if principal is None:
        return False
    path = org_repository.jurisdiction_path(session, lead.jurisdiction_id)
    return path is not None and principal.covers(
        *EDITORS, jurisdiction_path=path, department_id=lead.id
    )


# ---------------------------------------------------------------- composition


def applicable(bundle: BundleIn, answers: dict[str, str] | None) -> list[MemberIn]:
    """The members that apply to these answers; ``None`` means every member (the whole bundle).

    Unknown questions or answers, and a missing answer that decides a member, are errors."""
    if answers is None:
        return list(bundle.members)
    questions = {q.code: {a.code for a in q.answers} for q in bundle.questions}
    errors: list[FieldError] = []
    for q, a in answers.items():
        if q not in questions:
            errors.append(
                FieldError(f"answers.{q}", f"bundle '{bundle.code}' asks no question '{q}'")
            )
        elif a not in questions[q]:
            allowed = ", ".join(sorted(questions[q]))
            errors.append(
                FieldError(f"answers.{q}", f"'{a}' is not an answer; choose one of: {allowed}")
            )
    needed = sorted({q for m in bundle.members for q in m.when} - set(answers))
    for q in needed:
        errors.append(FieldError(f"answers.{q}", "this question needs an answer"))
    if errors:
        raise ValidationFailed(
            "the answers do not fit the bundle's questions", errors=errors, code="answers_invalid"
        )
    chosen = [m for m in bundle.members if all(answers[q] in a for q, a in m.when.items())]
    kept = {m.item for m in chosen}
    # A member's dependency on a member that does not apply is dropped, not broken.
    return [
        m.model_copy(update={"depends_on": [d for d in m.depends_on if d in kept]}) for m in chosen
    ]


def compose_bundle(
    *,
    session: Session,
    principal: Principal | None,
    code: str,
    answers: dict[str, str] | None = None,
    version_no: int | None = None,
    as_system: bool = False,
) -> Ledger:
    detail = get_bundle(
        session=session, principal=principal, code=code, version_no=version_no, as_system=as_system
    )
    return compose_definition(session=session, bundle=detail.bundle, answers=answers)


def compose_definition(
    *, session: Session, bundle: BundleIn, answers: dict[str, str] | None = None
) -> Ledger:
    """Compose a bundle definition (stored or being edited in the composer)."""
    members = applicable(bundle, answers)
    items = catalog_service.published_items(session=session, codes=[m.item for m in members])
    missing = [m.item for m in members if m.item not in items]
    if missing:
        raise ValidationFailed(
            "some members have no published version",
            errors=[FieldError("members", f"item '{c}' is not published") for c in missing],
            code="members_not_published",
        )
    _refuse_unfit_members([m.item for m in members], items)
    elements = catalog_service.list_elements(session=session)
    departments = _departments(session)
    dept_codes = {d.id: c for c, d in departments.items()}
    infos = {
        e.code: ElementInfo(e.code, e.name_zh, e.data_type, e.format, tuple(e.allowed_values))
        for e in elements
    }
    authoritative = {
        e.code: dept_codes[e.source_department_id] for e in elements if e.source_department_id
    }
    try:
        return compose(
            [Member(items[m.item], m.stage, tuple(m.depends_on)) for m in members],
            elements=infos,
            lead=bundle.lead_department,
            e_licences=catalog_service.e_licence_types(session=session),
            departments=set(departments),
            authoritative=authoritative,
        )
    except CompositionError as exc:
        raise ValidationFailed(
            str(exc), errors=[FieldError("members", str(exc))], code="member_dependencies_invalid"
        ) from exc


def member_problems(code: str, item: ItemIn) -> tuple[str, str]:
    """What keeps a published item out of a bundle, as (not applied for, incomplete) messages,
    each empty when it does not apply: a type nobody applies for (a penalty, an inspection), or
    parts not yet recorded (``tongban.catalog.completeness``)."""
    not_applied = (
        ""
        if item_types.applied_for(item.type.value)
        else f"item '{code}' is of type '{item.type.value}', which nobody applies for"
    )
    gaps = item_gaps(item)
    incomplete = f"item '{code}' has not yet recorded: {', '.join(gaps)}" if gaps else ""
    return not_applied, incomplete


def _refuse_unfit_members(codes: list[str], items: dict[str, ItemIn]) -> None:
    problems = [member_problems(c, items[c]) for c in codes]
    not_applied = [p[0] for p in problems if p[0]]
    if not_applied:
        raise ValidationFailed(
            not_applied[0],
            errors=[FieldError("members", m) for m in not_applied],
            code="member_not_applied_for",
        )
    incomplete = [p[1] for p in problems if p[1]]
    if incomplete:
        raise ValidationFailed(
            incomplete[0],
            errors=[FieldError("members", m) for m in incomplete],
            code="member_incomplete",
        )


# ---------------------------------------------------------------- lints


@dataclass(frozen=True)
class LintIssue:
    rule: str
    loc: str
    message: str


def lint(*, session: Session, bundle: BundleIn) -> list[LintIssue]:
    """What must be mended before the bundle can be published."""
    issues: list[LintIssue] = []
    departments = _departments(session)
    for e in _reference_errors(session, bundle, "bundle", departments):
        rule = "dependency_cycle" if "cycle" in e.message else "unknown_reference"
        issues.append(LintIssue(rule, e.loc, e.message))
    if issues:
        return issues
    items = catalog_service.published_items(session=session, codes=[m.item for m in bundle.members])
    for i, m in enumerate(bundle.members):
        if m.item not in items:
            issues.append(
                LintIssue(
                    "unpublished_member", f"members[{i}]", f"item '{m.item}' is not published"
                )
            )
    member_codes = {m.item for m in bundle.members}
    deps = {m.item: set(m.depends_on) for m in bundle.members}
    ancestors = {code: _closure(code, deps) for code in member_codes}
    for i, m in enumerate(bundle.members):
        item = items.get(m.item)
        if item is None:
            continue
        not_applied, incomplete = member_problems(m.item, item)
        for rule, message in (
            ("member_not_applied_for", not_applied),
            ("member_incomplete", incomplete),
        ):
            if message:
                issues.append(LintIssue(rule, f"members[{i}]", message))
        if not_applied or incomplete:
            continue
        for j, material in enumerate(recorded(item, "materials")):
            if material.source.value != "item_output":
                continue
            source = material.source_ref.split("#", 1)[0]
            loc = f"members[{i}] ({m.item}).materials[{j}]"
            if source not in member_codes:
                issues.append(
                    LintIssue(
                        "unsupplied_input",
                        loc,
                        f"'{material.name_zh}' comes from item {source}, "
                        "which is not in the bundle",
                    )
                )
            elif source not in ancestors[m.item]:
                issues.append(
                    LintIssue(
                        "unsupplied_input",
                        loc,
                        f"'{material.name_zh}' comes from member {source}, "
                        f"but {m.item} does not depend on it",
                    )
                )
        limits = time_limit(item)
        for j, step in enumerate(recorded(item, "steps")):
            if step.responsible not in departments and not units.is_level(step.responsible):
                issues.append(
                    LintIssue(
                        "no_responsible_unit",
                        f"members[{i}] ({m.item}).steps[{j}]",
                        f"step '{step.name_zh}' names no known responsible unit",
                    )
                )
            if step.limit_days > limits.legal:
                issues.append(
                    LintIssue(
                        "limit_above_legal",
                        f"members[{i}] ({m.item}).steps[{j}]",
                        f"step '{step.name_zh}' takes {step.limit_days} days, "
                        "above the item's legal limit",
                    )
                )
        if limits.promised > limits.legal:
            issues.append(
                LintIssue(
                    "promised_above_legal",
                    f"members[{i}] ({m.item})",
                    "the promised time limit is above the legal one",
                )
            )
    if any(i.rule == "unpublished_member" for i in issues):
        return issues
    ledger = compose_definition(session=session, bundle=bundle)
    for c in ledger.conflicts:
        if c.kind == "definition":
            issues.append(LintIssue("conflicting_field", "fields", c.message))
    return issues


def _closure(code: str, deps: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    stack = list(deps.get(code, ()))
    while stack:
        d = stack.pop()
        if d not in seen:
            seen.add(d)
            stack.extend(deps.get(d, ()))
    return seen


# ---------------------------------------------------------------- drafting


def parse_definition(data: dict[str, Any]) -> BundleIn:
    try:
        return BundleIn.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed.of(
            "the bundle is invalid", exc, root="bundle", code="bundle_invalid"
        ) from exc


def save_draft(
    *,
    session: Session,
    principal: Principal | None,
    data: dict[str, Any],
    lock_version: int | None = None,
) -> BundleDetail:
    """Create a bundle or save its draft (a new draft when the latest is published)."""
    who = require_principal(principal)
    bundle_in = parse_definition({**data, "status": "draft"})
    departments = _departments(session)
    errors = _reference_errors(session, bundle_in, "bundle", departments)
    if errors:
        raise ValidationFailed(
            "the bundle is invalid; nothing was saved", errors=errors, code="bundle_invalid"
        )
    if not _can_edit(session, who, departments[bundle_in.lead_department]):
        raise PermissionDenied(
            "you may not edit bundles led by %(department)s",
            params={"department": bundle_in.lead_department},
            code="bundle_edit_denied",
        )
    item_ids = _item_ids(session, [m.item for m in bundle_in.members])
    bundle = repository.bundle_by_code(session, bundle_in.code)
    if bundle is None:
        bundle = Bundle(code=bundle_in.code)
        session.add(bundle)
        session.flush()
        latest = None
    else:
        latest = repository.latest_version(session, bundle.id)
        if latest is not None:
            lead = session.get(Department, latest.lead_department_id)
            if lead is None or not _can_edit(session, who, lead):
                raise PermissionDenied(
                    "you may not edit bundle '%(code)s'",
                    params={"code": bundle_in.code},
                    code="bundle_edit_denied",
                )
    if latest is not None and latest.status == "draft":
        if lock_version is not None and lock_version != latest.lock_version:
            raise Conflict(
                "someone else saved this bundle after you opened it; reload it",
                code="stale_version",
            )
        version = latest
    else:
        version = BundleVersion(
            bundle_id=bundle.id, version_no=(latest.version_no + 1) if latest else 1, status="draft"
        )
    _fill(version, bundle_in, departments, item_ids)
    session.add(version)
    session.flush()
    audit.record(
        session=session,
        actor_user_id=who.user_id,
        action="bundle.save_draft",
        object_type="bundle",
        object_key=bundle_in.code,
        detail={"version_no": version.version_no},
    )
    return get_bundle(session=session, principal=who, code=bundle_in.code)


def publish(*, session: Session, principal: Principal | None, code: str) -> BundleDetail:
    who = require_principal(principal)
    detail = get_bundle(session=session, principal=who, code=code)
    if not detail.can_edit:
        raise PermissionDenied(
            "you may not publish bundle '%(code)s'",
            params={"code": code},
            code="bundle_publish_denied",
        )
    if detail.status != "draft":
        raise Conflict(
            "bundle '%(code)s' has no draft to publish",
            params={"code": code},
            code="version_not_draft",
        )
    issues = lint(session=session, bundle=detail.bundle)
    if issues:
        raise ValidationFailed(
            "the bundle cannot be published yet",
            errors=[FieldError(i.loc, f"[{i.rule}] {i.message}") for i in issues],
            code="bundle_not_publishable",
        )
    bundle = repository.bundle_by_code(session, code)
    assert bundle is not None
    version = repository.latest_version(session, bundle.id)
    assert version is not None
    _set_status(session, version, "published")
    audit.record(
        session=session,
        actor_user_id=who.user_id,
        action="bundle.publish",
        object_type="bundle",
        object_key=code,
        detail={"version_no": version.version_no},
    )
    return get_bundle(session=session, principal=who, code=code)


def department_names(*, session: Session) -> dict[str, str]:
    return {code: d.name_zh for code, d in _departments(session).items()}
