"""Loading the organisation document and answering questions about the tree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.orm import Session

from tongban.auth import repository as auth_repository
from tongban.auth.models import RoleGrant, User
from tongban.auth.passwords import hash_password
from tongban.errors import FieldError, ValidationFailed
from tongban.kit.ids import division_level, parent_division_code
from tongban.org import repository
from tongban.org.models import ApplicationModule, Department, Jurisdiction
from tongban.org.schemas import JurisdictionIn, OrgDocument

T = TypeVar("T")


@dataclass(frozen=True)
class OrgLoadReport:
    jurisdictions: int
    departments: int
    modules: int
    users: int


def _flatten(
    nodes: list[JurisdictionIn],
    parent: JurisdictionIn | None,
    out: list[tuple[JurisdictionIn, JurisdictionIn | None, str]],
    loc: str,
) -> None:
    for index, node in enumerate(nodes):
        out.append((node, parent, f"{loc}[{index}]"))
        _flatten(node.children, node, out, f"{loc}[{index}].children")


def load_org(*, session: Session, document: OrgDocument) -> OrgLoadReport:
    """Insert or update the whole tree; every error is collected first, nothing half-written."""
    flat: list[tuple[JurisdictionIn, JurisdictionIn | None, str]] = []
    _flatten(document.jurisdictions, None, flat, "jurisdictions")
    errors: list[FieldError] = []
    seen: set[str] = set()
    for node, parent, loc in flat:
        if node.code in seen:
            errors.append(FieldError(f"{loc}.code", f"jurisdiction '{node.code}' appears twice"))
        seen.add(node.code)
        if parent is not None and parent_division_code(node.code) != parent.code:
            errors.append(
                FieldError(
                    f"{loc}.code",
                    f"'{node.code}' is not a direct subdivision of its parent '{parent.code}'",
                )
            )
    dept_codes = {d.code for d in document.departments}
    for index, dept_doc in enumerate(document.departments):
        if (
            dept_doc.jurisdiction not in seen
            and repository.jurisdiction_by_code(session, dept_doc.jurisdiction) is None
        ):
            errors.append(
                FieldError(
                    f"departments[{index}].jurisdiction",
                    f"unknown jurisdiction '{dept_doc.jurisdiction}'",
                )
            )
    for index, module_doc in enumerate(document.modules):
        for j, code in enumerate(module_doc.departments):
            if code not in dept_codes and repository.department_by_code(session, code) is None:
                errors.append(
                    FieldError(f"modules[{index}].departments[{j}]", f"unknown department '{code}'")
                )
    for index, user_doc in enumerate(document.users):
        for j, grant in enumerate(user_doc.grants):
            if (
                grant.jurisdiction not in seen
                and repository.jurisdiction_by_code(session, grant.jurisdiction) is None
            ):
                errors.append(
                    FieldError(
                        f"users[{index}].grants[{j}].jurisdiction",
                        f"unknown jurisdiction '{grant.jurisdiction}'",
                    )
                )
            if (
                grant.department
                and grant.department not in dept_codes
                and repository.department_by_code(session, grant.department) is None
            ):
                errors.append(
                    FieldError(
                        f"users[{index}].grants[{j}].department",
                        f"unknown department '{grant.department}'",
                    )
                )
    if errors:
        raise ValidationFailed(
            "organisation document is invalid", errors=errors, code="org_invalid"
        )

    by_code: dict[str, Jurisdiction] = {}
    for node, parent, _ in flat:
        row = repository.jurisdiction_by_code(session, node.code)
        parent_row = by_code[parent.code] if parent else None
        path = (parent_row.path if parent_row else "/") + node.code + "/"
        if row is None:
            row = Jurisdiction(code=node.code)
            session.add(row)
        row.name_zh, row.name_en = node.name_zh, node.name_en
        row.level = division_level(node.code)
        row.parent_id = parent_row.id if parent_row else None
        row.path = path
        session.flush()
        by_code[node.code] = row

    departments: dict[str, Department] = {}
    for dept_in in document.departments:
        jurisdiction = by_code.get(dept_in.jurisdiction) or repository.jurisdiction_by_code(
            session, dept_in.jurisdiction
        )
        assert jurisdiction is not None
        dept = repository.department_by_code(session, dept_in.code)
        if dept is None:
            dept = Department(code=dept_in.code)
            session.add(dept)
        dept.name_zh, dept.name_en = dept_in.name_zh, dept_in.name_en
        dept.jurisdiction_id = jurisdiction.id
        dept.uscc = dept_in.uscc
        departments[dept.code] = dept
    session.flush()

    for position, module_in in enumerate(document.modules):
        module = repository.module_by_code(session, module_in.code)
        if module is None:
            module = ApplicationModule(code=module_in.code, departments=[])
            session.add(module)
        module.name_zh, module.name_en = module_in.name_zh, module_in.name_en
        module.description_zh = module_in.description_zh
        module.description_en = module_in.description_en
        module.position = position
        module.departments = [
            departments.get(code) or _must(repository.department_by_code(session, code))
            for code in module_in.departments
        ]
    session.flush()

    # argon2 is slow on purpose: hash each distinct password of the document once.
    hashes: dict[str, str] = {}
    for user_in in document.users:
        user = auth_repository.user_by_username(session, user_in.username)
        if user is None:
            user = User(username=user_in.username, grants=[])
            session.add(user)
        else:
            user = auth_repository.user_with_grants(session, user.id)
            assert user is not None
        user.display_name = user_in.display_name
        if user_in.password not in hashes:
            hashes[user_in.password] = hash_password(user_in.password)
        user.password_hash = hashes[user_in.password]
        user.locale = user_in.locale
        user.email = user_in.email
        user.grants = [
            RoleGrant(
                role=grant.role.value,
                jurisdiction_id=_must(
                    by_code.get(grant.jurisdiction)
                    or repository.jurisdiction_by_code(session, grant.jurisdiction)
                ).id,
                department_id=(
                    (
                        departments.get(grant.department)
                        or _must(repository.department_by_code(session, grant.department))
                    ).id
                    if grant.department
                    else None
                ),
            )
            for grant in user_in.grants
        ]
    session.flush()
    return OrgLoadReport(
        len(flat), len(document.departments), len(document.modules), len(document.users)
    )


def _must(value: T | None) -> T:
    assert value is not None
    return value


def jurisdiction_rows(*, session: Session) -> list[dict[str, str | None]]:
    rows = repository.jurisdictions(session)
    by_id = {j.id: j.code for j in rows}
    return [
        {
            "code": j.code,
            "name_zh": j.name_zh,
            "name_en": j.name_en,
            "level": j.level,
            "parent": by_id.get(j.parent_id) if j.parent_id else None,
        }
        for j in rows
    ]


def department_rows(*, session: Session) -> list[dict[str, object]]:
    module_codes: dict[int, list[str]] = {}
    for module in repository.modules_with_departments(session):
        for dept in module.departments:
            module_codes.setdefault(dept.id, []).append(module.code)
    return [
        {
            "code": d.code,
            "name_zh": d.name_zh,
            "name_en": d.name_en,
            "jurisdiction": j.code,
            "modules": module_codes.get(d.id, []),
        }
        for d, j in repository.departments_with_jurisdiction(session)
    ]


def modules(*, session: Session) -> list[ApplicationModule]:
    return repository.modules_with_departments(session)
