"""Loading the organisation document and answering questions about the tree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.audit import service as audit
from tongban.auth import repository as auth_repository
from tongban.auth.models import RoleGrant, User
from tongban.auth.passwords import hash_password
from tongban.errors import FieldError, ValidationFailed
from tongban.kit.ids import division_level, parent_division_code
from tongban.org import repository, usage
from tongban.org.models import ApplicationModule, Department, Jurisdiction, ServiceHall
from tongban.org.schemas import ContactIn, GrantIn, GrantRef, JurisdictionIn, OrgDocument

T = TypeVar("T")


Action = Literal["add", "update", "remove", "absent"]


@dataclass(frozen=True)
class Change:
    """One thing an import adds, updates or removes (``absent``: a removal of something that is
    not there, skipped)."""

    action: Action
    kind: str
    """``jurisdiction``, ``department``, ``service hall``, ``module``, ``user``, ``module
    department``, ``grant``"""
    key: str

    def text(self, *, dry_run: bool = False) -> str:
        verb = {
            "add": "would add" if dry_run else "added",
            "update": "would update" if dry_run else "updated",
            "remove": "would remove" if dry_run else "removed",
            "absent": "not there, nothing to remove:",
        }[self.action]
        return f"{verb} {self.kind} {self.key}"


@dataclass(frozen=True)
class OrgLoadReport:
    jurisdictions: int
    departments: int
    modules: int
    users: int
    changes: tuple[Change, ...] = ()
    dry_run: bool = False

    def of(self, action: Action, kind: str | None = None) -> list[Change]:
        return [c for c in self.changes if c.action == action and kind in (None, c.kind)]


Flat = list[tuple[JurisdictionIn, JurisdictionIn | None, str]]


def _flatten(
    nodes: list[JurisdictionIn], parent: JurisdictionIn | None, out: Flat, loc: str
) -> None:
    for index, node in enumerate(nodes):
        out.append((node, parent, f"{loc}[{index}]"))
        _flatten(node.children, node, out, f"{loc}[{index}].children")


def load_org(
    *,
    session: Session,
    document: OrgDocument,
    actor_user_id: int | None = None,
    dry_run: bool = False,
) -> OrgLoadReport:
    """Merge the document into what the database holds: jurisdictions, departments and users are
    inserted or updated, a module gains the departments the file lists (it loses none), a user
    gains the grants the file lists; only the ``remove`` section takes anything away (audited).
    Every error is collected first, nothing half-written. ``dry_run`` reports the changes and
    writes nothing."""
    flat: Flat = []
    _flatten(document.jurisdictions, None, flat, "jurisdictions")
    errors = _document_errors(session, document, flat)
    if errors:
        raise ValidationFailed(
            "organisation document is invalid", errors=errors, code="org_invalid"
        )
    grants_out = [_grant_row(session, ref) for ref in document.remove.grants]
    ignored = {row.id for row in grants_out if row is not None}
    in_use: list[FieldError] = []
    for index, code in enumerate(document.remove.departments):
        dept = repository.department_by_code(session, code)
        uses = usage.department_uses(session, dept, ignored_grant_ids=ignored) if dept else []
        if uses:
            in_use.append(
                FieldError(
                    f"remove.departments[{index}]",
                    f"department '{code}' is still referred to by " + "; ".join(uses),
                )
            )
    if in_use:
        raise ValidationFailed(
            "a department to remove is still in use", errors=in_use, code="department_in_use"
        )

    if dry_run:
        savepoint = session.begin_nested()
        try:
            changes = _apply(session, document, flat, grants_out, actor_user_id)
        finally:
            savepoint.rollback()
    else:
        changes = _apply(session, document, flat, grants_out, actor_user_id)
    return OrgLoadReport(
        len(flat),
        len(document.departments),
        len(document.modules),
        len(document.users),
        tuple(changes),
        dry_run,
    )


def _document_errors(session: Session, document: OrgDocument, flat: Flat) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: dict[str, str] = {}
    for node, parent, loc in flat:
        if node.code in seen:
            errors.append(
                FieldError(
                    f"{loc}.code",
                    _twice("jurisdiction", node.code, seen),
                )
            )
        expected = parent_division_code(node.code)
        if parent is not None and expected != parent.code:
            errors.append(
                FieldError(
                    f"{loc}.code",
                    f"'{node.code}' is not a direct subdivision of its parent '{parent.code}'",
                )
            )
        elif (
            parent is None
            and expected is not None
            and expected not in seen
            and repository.jurisdiction_by_code(session, expected) is None
        ):
            errors.append(
                FieldError(
                    f"{loc}.code",
                    f"'{node.code}' belongs under '{expected}', which is neither in the file "
                    "(above it) nor in the database",
                )
            )
        seen.setdefault(node.code, loc)

    def known_jurisdiction(code: str) -> bool:
        return code in seen or repository.jurisdiction_by_code(session, code) is not None

    dept_seen: dict[str, str] = {}
    for index, dept_doc in enumerate(document.departments):
        loc = f"departments[{index}]"
        if dept_doc.code in dept_seen:
            errors.append(
                FieldError(
                    f"{loc}.code",
                    _twice("department", dept_doc.code, dept_seen),
                )
            )
        dept_seen.setdefault(dept_doc.code, loc)
        if not known_jurisdiction(dept_doc.jurisdiction):
            errors.append(
                FieldError(f"{loc}.jurisdiction", f"unknown jurisdiction '{dept_doc.jurisdiction}'")
            )

    hall_seen: dict[str, str] = {}
    for index, hall_doc in enumerate(document.service_halls):
        loc = f"service_halls[{index}]"
        if hall_doc.code in hall_seen:
            errors.append(
                FieldError(f"{loc}.code", _twice("service hall", hall_doc.code, hall_seen))
            )
        hall_seen.setdefault(hall_doc.code, loc)
        if not known_jurisdiction(hall_doc.jurisdiction):
            errors.append(
                FieldError(f"{loc}.jurisdiction", f"unknown jurisdiction '{hall_doc.jurisdiction}'")
            )

    def known_department(code: str) -> bool:
        return code in dept_seen or repository.department_by_code(session, code) is not None

    module_seen: dict[str, str] = {}
    for index, module_doc in enumerate(document.modules):
        loc = f"modules[{index}]"
        if module_doc.code in module_seen:
            errors.append(
                FieldError(
                    f"{loc}.code",
                    _twice("module", module_doc.code, module_seen),
                )
            )
        module_seen.setdefault(module_doc.code, loc)
        if (module_doc.name_zh is None or module_doc.name_en is None) and (
            repository.module_by_code(session, module_doc.code) is None
        ):
            errors.append(
                FieldError(loc, f"module '{module_doc.code}' is new: it needs name_zh and name_en")
            )
        listed: set[str] = set()
        for j, code in enumerate(module_doc.departments):
            if code in listed:
                errors.append(
                    FieldError(f"{loc}.departments[{j}]", f"department '{code}' is listed twice")
                )
            listed.add(code)
            if not known_department(code):
                errors.append(FieldError(f"{loc}.departments[{j}]", f"unknown department '{code}'"))

    user_seen: dict[str, str] = {}
    for index, user_doc in enumerate(document.users):
        loc = f"users[{index}]"
        if user_doc.username in user_seen:
            errors.append(
                FieldError(
                    f"{loc}.username",
                    _twice("user", user_doc.username, user_seen),
                )
            )
        user_seen.setdefault(user_doc.username, loc)
        for j, grant in enumerate(user_doc.grants):
            if not known_jurisdiction(grant.jurisdiction):
                errors.append(
                    FieldError(
                        f"{loc}.grants[{j}].jurisdiction",
                        f"unknown jurisdiction '{grant.jurisdiction}'",
                    )
                )
            if grant.department and not known_department(grant.department):
                errors.append(
                    FieldError(
                        f"{loc}.grants[{j}].department",
                        f"unknown department '{grant.department}'",
                    )
                )
    errors.extend(_removal_conflicts(document))
    return errors


def _twice(kind: str, code: str, seen: dict[str, str]) -> str:
    return f"{kind} '{code}' appears twice (first at {seen[code]})"


def _removal_conflicts(document: OrgDocument) -> list[FieldError]:
    """A removal of what the same file adds or names is refused: which should win is unclear."""
    errors: list[FieldError] = []
    remove = document.remove
    links = {(m.code, code) for m in document.modules for code in m.departments}
    for index, ref in enumerate(remove.module_departments):
        if (ref.module, ref.department) in links:
            errors.append(
                FieldError(
                    f"remove.module_departments[{index}]",
                    f"department '{ref.department}' is both added to module '{ref.module}' and "
                    "removed from it",
                )
            )
    named = {d.code for d in document.departments} | {code for _, code in links}
    named |= {g.department for u in document.users for g in u.grants if g.department}
    for index, code in enumerate(remove.departments):
        if code in named:
            errors.append(
                FieldError(
                    f"remove.departments[{index}]",
                    f"department '{code}' is removed, but the file also imports or names it",
                )
            )
    granted = {
        (u.username, g.role, g.jurisdiction, g.department) for u in document.users for g in u.grants
    }
    for index, grant_ref in enumerate(remove.grants):
        key = (grant_ref.username, grant_ref.role, grant_ref.jurisdiction, grant_ref.department)
        if key in granted:
            errors.append(
                FieldError(
                    f"remove.grants[{index}]",
                    f"the grant is both given to '{grant_ref.username}' and removed",
                )
            )
    return errors


def _grant_row(session: Session, ref: GrantRef) -> RoleGrant | None:
    stmt = (
        select(RoleGrant)
        .join(User, User.id == RoleGrant.user_id)
        .join(Jurisdiction, Jurisdiction.id == RoleGrant.jurisdiction_id)
        .where(
            User.username == ref.username,
            RoleGrant.role == ref.role.value,
            Jurisdiction.code == ref.jurisdiction,
        )
    )
    if ref.department is None:
        stmt = stmt.where(RoleGrant.department_id.is_(None))
    else:
        stmt = stmt.join(Department, Department.id == RoleGrant.department_id).where(
            Department.code == ref.department
        )
    return session.scalars(stmt).first()


def _grant_key(ref: GrantRef | GrantIn) -> str:
    return f"{ref.role.value} in {ref.jurisdiction}" + (
        f" for {ref.department}" if ref.department else ""
    )


def _apply(
    session: Session,
    document: OrgDocument,
    flat: Flat,
    grants_out: list[RoleGrant | None],
    actor_user_id: int | None,
) -> list[Change]:
    changes: list[Change] = []
    changes += _remove(session, document, grants_out, actor_user_id)

    by_code: dict[str, Jurisdiction] = {}
    for node, parent, _ in flat:
        row = repository.jurisdiction_by_code(session, node.code)
        if parent is not None:
            parent_row: Jurisdiction | None = by_code[parent.code]
        else:
            parent_code = parent_division_code(node.code)
            parent_row = (
                by_code.get(parent_code) or repository.jurisdiction_by_code(session, parent_code)
                if parent_code
                else None
            )
        path = (parent_row.path if parent_row else "/") + node.code + "/"
        parent_id = parent_row.id if parent_row else None
        if row is None:
            row = Jurisdiction(code=node.code)
            session.add(row)
            changes.append(Change("add", "jurisdiction", node.code))
        elif (row.name_zh, row.name_en, row.parent_id, row.path) != (
            node.name_zh,
            node.name_en,
            parent_id,
            path,
        ):
            changes.append(Change("update", "jurisdiction", node.code))
        row.name_zh, row.name_en = node.name_zh, node.name_en
        row.level = division_level(node.code)
        row.parent_id = parent_id
        row.path = path
        session.flush()
        by_code[node.code] = row

    departments: dict[str, Department] = {}
    for dept_in in document.departments:
        jurisdiction = _must(
            by_code.get(dept_in.jurisdiction)
            or repository.jurisdiction_by_code(session, dept_in.jurisdiction)
        )
        uscc = dept_in.uscc
        dept = repository.department_by_code(session, dept_in.code)
        if dept is None:
            dept = Department(code=dept_in.code)
            session.add(dept)
            changes.append(Change("add", "department", dept_in.code))
        elif (dept.name_zh, dept.name_en, dept.jurisdiction_id, dept.uscc) != (
            dept_in.name_zh,
            dept_in.name_en,
            jurisdiction.id,
            uscc or dept.uscc,
        ) or (dept_in.contact is not None and _contact_of(dept) != _contact_of(dept_in.contact)):
            changes.append(Change("update", "department", dept_in.code))
        dept.name_zh, dept.name_en = dept_in.name_zh, dept_in.name_en
        dept.jurisdiction_id = jurisdiction.id
        if uscc:  # an omitted code keeps the one the department has
            dept.uscc = uscc
        if dept_in.contact is not None:  # an omitted contact keeps the one it has
            _set_contact(dept, dept_in.contact)
        departments[dept.code] = dept
    session.flush()

    for hall_in in document.service_halls:
        place = _must(
            by_code.get(hall_in.jurisdiction)
            or repository.jurisdiction_by_code(session, hall_in.jurisdiction)
        )
        hall = session.scalar(select(ServiceHall).where(ServiceHall.code == hall_in.code))
        if hall is None:
            hall = ServiceHall(code=hall_in.code)
            session.add(hall)
            changes.append(Change("add", "service hall", hall_in.code))
        elif (hall.name_zh, hall.name_en, hall.jurisdiction_id) != (
            hall_in.name_zh,
            hall_in.name_en,
            place.id,
        ) or _contact_of(hall) != _contact_of(hall_in):
            changes.append(Change("update", "service hall", hall_in.code))
        hall.name_zh, hall.name_en, hall.jurisdiction_id = (
            hall_in.name_zh,
            hall_in.name_en,
            place.id,
        )
        _set_contact(hall, hall_in)
    session.flush()

    existing = repository.modules_with_departments(session)
    next_position = max((m.position for m in existing), default=-1) + 1
    for module_in in document.modules:
        module = repository.module_by_code(session, module_in.code)
        if module is None:
            module = ApplicationModule(
                code=module_in.code,
                name_zh=module_in.name_zh,
                name_en=module_in.name_en,
                description_zh=module_in.description_zh,
                description_en=module_in.description_en,
                position=next_position,
                departments=[],
            )
            next_position += 1
            session.add(module)
            changes.append(Change("add", "module", module_in.code))
        else:
            updated = False
            for name in ("name_zh", "name_en", "description_zh", "description_en"):
                value = getattr(module_in, name)
                # an omitted (or empty) name or description keeps the module's own
                if value and value != getattr(module, name):
                    setattr(module, name, value)
                    updated = True
            if updated:
                changes.append(Change("update", "module", module_in.code))
        have = {d.code for d in module.departments}
        for code in module_in.departments:
            if code in have:
                continue
            have.add(code)
            module.departments.append(
                departments.get(code) or _must(repository.department_by_code(session, code))
            )
            changes.append(Change("add", "module department", f"{module_in.code}: {code}"))
    session.flush()

    # argon2 is slow on purpose: hash each distinct password of the document once.
    hashes: dict[str, str] = {}
    for user_in in document.users:
        user = auth_repository.user_by_username(session, user_in.username)
        if user is None:
            user = User(username=user_in.username, grants=[])
            session.add(user)
            changes.append(Change("add", "user", user_in.username))
        else:
            user = _must(auth_repository.user_with_grants(session, user.id))
            email = user_in.email or user.email
            if (user.display_name, user.locale, user.email) != (
                user_in.display_name,
                user_in.locale,
                email,
            ):
                changes.append(Change("update", "user", user_in.username))
        user.display_name = user_in.display_name
        if user_in.password not in hashes:
            hashes[user_in.password] = hash_password(user_in.password)
        user.password_hash = hashes[user_in.password]
        user.locale = user_in.locale
        if user_in.email:  # an omitted address keeps the one the user has
            user.email = user_in.email
        held = {(g.role, g.jurisdiction_id, g.department_id) for g in user.grants}
        for grant in user_in.grants:
            jurisdiction_id = _must(
                by_code.get(grant.jurisdiction)
                or repository.jurisdiction_by_code(session, grant.jurisdiction)
            ).id
            department_id = (
                (
                    departments.get(grant.department)
                    or _must(repository.department_by_code(session, grant.department))
                ).id
                if grant.department
                else None
            )
            key = (grant.role.value, jurisdiction_id, department_id)
            if key in held:
                continue
            held.add(key)
            user.grants.append(
                RoleGrant(
                    role=grant.role.value,
                    jurisdiction_id=jurisdiction_id,
                    department_id=department_id,
                )
            )
            changes.append(Change("add", "grant", f"{user_in.username}: {_grant_key(grant)}"))
    session.flush()
    return changes


def _remove(
    session: Session,
    document: OrgDocument,
    grants_out: list[RoleGrant | None],
    actor_user_id: int | None,
) -> list[Change]:
    """The ``remove`` section, each removal audited; what is not there is reported, skipped."""
    changes: list[Change] = []
    remove = document.remove
    for ref in remove.module_departments:
        key = f"{ref.module}: {ref.department}"
        module = repository.module_by_code(session, ref.module)
        dept = (
            next((d for d in module.departments if d.code == ref.department), None)
            if module
            else None
        )
        if module is None or dept is None:
            changes.append(Change("absent", "module department", key))
            continue
        module.departments.remove(dept)
        audit.record(
            session=session,
            actor_user_id=actor_user_id,
            action="org.module_department_removed",
            object_type="module",
            object_key=module.code,
            detail={"department": dept.code},
        )
        changes.append(Change("remove", "module department", key))
    session.flush()
    for grant_ref, row in zip(remove.grants, grants_out, strict=True):
        key = f"{grant_ref.username}: {_grant_key(grant_ref)}"
        if row is None:
            changes.append(Change("absent", "grant", key))
            continue
        session.delete(row)
        audit.record(
            session=session,
            actor_user_id=actor_user_id,
            action="org.grant_removed",
            object_type="user",
            object_key=grant_ref.username,
            detail={
                "role": grant_ref.role.value,
                "jurisdiction": grant_ref.jurisdiction,
                "department": grant_ref.department,
            },
        )
        changes.append(Change("remove", "grant", key))
    session.flush()
    for code in remove.departments:
        dept = repository.department_by_code(session, code)
        if dept is None:
            changes.append(Change("absent", "department", code))
            continue
        in_modules = []
        for module in repository.modules_with_departments(session):
            if dept in module.departments:
                module.departments.remove(dept)
                in_modules.append(module.code)
        jurisdiction = session.get(Jurisdiction, dept.jurisdiction_id)
        session.flush()
        session.delete(dept)
        audit.record(
            session=session,
            actor_user_id=actor_user_id,
            action="org.department_removed",
            object_type="department",
            object_key=code,
            detail={
                "name_zh": dept.name_zh,
                "jurisdiction": jurisdiction.code if jurisdiction else None,
                "modules": in_modules,
            },
        )
        changes.append(Change("remove", "department", code))
    session.flush()
    return changes


_CONTACT_FIELDS = ("address_zh", "address_en", "hours_zh", "hours_en", "phone")


def _contact_of(row: object) -> tuple[str, ...]:
    return tuple(getattr(row, f) or "" for f in _CONTACT_FIELDS)


def _set_contact(row: Department | ServiceHall, contact: ContactIn) -> None:
    for f in _CONTACT_FIELDS:
        setattr(row, f, getattr(contact, f))


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


def jurisdiction_of(*, session: Session, department: Department) -> Jurisdiction | None:
    """The jurisdiction a department serves (the county an item belongs to)."""
    return repository.jurisdictions_by_id(session, [department.jurisdiction_id]).get(
        department.jurisdiction_id
    )
