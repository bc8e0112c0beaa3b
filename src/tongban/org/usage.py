"""What still refers to a department: asked before one is deleted (``remove.departments`` of an
organisation file), so that a removal is refused with the list instead of failing on a foreign
key, or leaving a code behind that names nothing (a step's ``responsible``, a bundle's partners,
a shared-data material's source)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Final

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from tongban.auth.models import RoleGrant, User
from tongban.bundles.models import Bundle, BundleVersion
from tongban.cases.models import Case, CaseStep, Delegation
from tongban.catalog.models import (
    CoHandler,
    DataElement,
    ItemVersion,
    Material,
    ProcessStep,
    ServiceItem,
)
from tongban.org.models import Department

#: how many referring codes a message names before it says "and N more"
SHOWN: Final = 5


def _names(values: Collection[str]) -> str:
    ordered = sorted(set(values))
    shown = ", ".join(ordered[:SHOWN])
    return shown + (f" and {len(ordered) - SHOWN} more" if len(ordered) > SHOWN else "")


def department_uses(
    session: Session, department: Department, *, ignored_grant_ids: Collection[int] = ()
) -> list[str]:
    """What refers to the department, one phrase per kind (``items X-0001, X-0002 (competent
    department)``); empty when nothing does. Grants in ``ignored_grant_ids`` (being removed in
    the same import) do not count."""
    dept_id, code = department.id, department.code
    uses: list[str] = []

    def items(where: ColumnElement[bool], what: str, part: type | None = None) -> None:
        stmt = select(ServiceItem.implementation_code).join(
            ItemVersion, ItemVersion.item_id == ServiceItem.id
        )
        if part is not None:
            stmt = stmt.join(part, part.version_id == ItemVersion.id)  # type: ignore[attr-defined]
        found = set(session.scalars(stmt.where(where)))
        if found:
            uses.append(f"items {_names(found)} ({what})")

    items(ItemVersion.department_id == dept_id, "competent department")
    items(CoHandler.department_id == dept_id, "co-handler", CoHandler)
    items(ProcessStep.responsible == code, "a step's responsible unit", ProcessStep)
    items(
        (Material.source == "shared_data") & (Material.source_ref == code),
        "a shared-data material's source",
        Material,
    )
    elements = set(
        session.scalars(select(DataElement.code).where(DataElement.source_department_id == dept_id))
    )
    if elements:
        uses.append(f"data elements {_names(elements)} (authoritative source)")
    led = set(
        session.scalars(
            select(Bundle.code)
            .join(BundleVersion, BundleVersion.bundle_id == Bundle.id)
            .where(BundleVersion.lead_department_id == dept_id)
        )
    )
    if led:
        uses.append(f"bundles {_names(led)} (lead department)")
    partnered = {
        bundle
        for bundle, partners in session.execute(
            select(Bundle.code, BundleVersion.partner_codes).join(
                BundleVersion, BundleVersion.bundle_id == Bundle.id
            )
        )
        if code in (partners or [])
    }
    if partnered:
        uses.append(f"bundles {_names(partnered)} (partner)")
    cases = set(
        session.scalars(
            select(Case.number)
            .join(CaseStep, CaseStep.case_id == Case.id)
            .where(
                or_(
                    CaseStep.responsible_department_id == dept_id,
                    CaseStep.acted_department_id == dept_id,
                )
            )
        )
    )
    cases |= set(
        session.scalars(
            select(Case.number)
            .join(CaseStep, CaseStep.case_id == Case.id)
            .join(Delegation, Delegation.step_id == CaseStep.id)
            .where(Delegation.to_department_id == dept_id)
        )
    )
    if cases:
        uses.append(f"cases {_names(cases)} (a step's department)")
    grants = session.execute(
        select(RoleGrant.id, User.username)
        .join(User, User.id == RoleGrant.user_id)
        .where(RoleGrant.department_id == dept_id)
    ).all()
    holders = {username for grant_id, username in grants if grant_id not in ignored_grant_ids}
    if holders:
        uses.append(f"grants of users {_names(holders)}")
    return uses
