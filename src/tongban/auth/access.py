"""The access funnels (ARCHITECTURE rule 3): every read of protected data is filtered here.

Domains pass their own columns in; this module imports no domain, so it stays small and is
tested hardest. A funnel returns a SQL condition that is ``false()`` when nothing is visible.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_
from sqlalchemy.orm import InstrumentedAttribute

from tongban.auth.models import Role
from tongban.auth.principal import Principal
from tongban.errors import NotAuthenticated, PermissionDenied


def require_principal(principal: Principal | None) -> Principal:
    if principal is None:
        raise NotAuthenticated("please log in", code="login_required")
    return principal


def require_role(principal: Principal | None, *roles: Role) -> Principal:
    who = require_principal(principal)
    if not who.has_role(*roles):
        names = ", ".join(r.value for r in roles)
        raise PermissionDenied(
            "this needs one of the roles: %(roles)s", params={"roles": names}, code="role_required"
        )
    return who


def scope_clause(
    principal: Principal,
    roles: tuple[Role, ...],
    *,
    jurisdiction_path: InstrumentedAttribute[str] | ColumnElement[str],
    department_id: InstrumentedAttribute[int] | ColumnElement[int] | None,
) -> ColumnElement[bool]:
    """Rows whose jurisdiction lies in a granted subtree and, where the grant names one, whose
    department is the granted department."""
    conditions: list[ColumnElement[bool]] = []
    for scope in principal.scopes_for(*roles):
        in_subtree = jurisdiction_path.startswith(scope.jurisdiction_path, autoescape=True)
        if scope.department_id is None:
            conditions.append(in_subtree)
        elif department_id is not None:
            conditions.append(and_(in_subtree, department_id == scope.department_id))
    if not conditions:
        return false()
    return or_(*conditions) if len(conditions) > 1 else conditions[0]
