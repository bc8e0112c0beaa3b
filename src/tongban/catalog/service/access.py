"""Who reads, edits and publishes the catalogue: the roles of each, the access funnel for item
versions, and whether a principal covers a department."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from tongban.auth.access import scope_clause
from tongban.auth.models import Role
from tongban.auth.principal import Principal
from tongban.catalog.models import (
    ItemVersion,
    VersionStatus,
)
from tongban.errors import PermissionDenied
from tongban.org.models import Department, Jurisdiction

READER_ROLES = (Role.REFORM_OFFICE, Role.OFFICER, Role.DATA_ADMIN)


EDITOR_ROLES = (Role.REFORM_OFFICE, Role.OFFICER)


PUBLISHER_ROLES = (Role.REFORM_OFFICE,)


ELEMENT_EDITOR_ROLES = (Role.DATA_ADMIN, Role.REFORM_OFFICE)


def visible_versions(principal: Principal | None) -> ColumnElement[bool]:
    """The access funnel for item versions (ARCHITECTURE rule 3)."""
    published = ItemVersion.status == VersionStatus.PUBLISHED.value
    if principal is None:
        return published
    return or_(
        published,
        scope_clause(
            principal,
            READER_ROLES,
            jurisdiction_path=Jurisdiction.path,
            department_id=ItemVersion.department_id,
        ),
    )


def _require_catalog_admin(principal: Principal) -> None:
    if not principal.has_role(Role.REFORM_OFFICE):
        raise PermissionDenied(
            "only the reform office imports catalogues", code="reform_office_only"
        )


def _covers(
    session: Session, principal: Principal | None, roles: tuple[Role, ...], department_id: int
) -> bool:
    if principal is None:
        return False
    path = session.scalar(
        select(Jurisdiction.path)
        .join(Department, Department.jurisdiction_id == Jurisdiction.id)
        .where(Department.id == department_id)
    )
    return path is not None and principal.covers(
        *roles, jurisdiction_path=path, department_id=department_id
    )
