"""Responsible units: who does a step of an item, named by a department code or by a level
relative to the applicant (of their village, of their township, the county, the applicant).

One enum, read by the catalogue (validation), the bundles (lint, lanes), the case engine
(routing) and the pages (labels), so that a level one of them accepts is one all of them know.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.org.models import Department, Jurisdiction, Level


class UnitLevel(StrEnum):
    """A level named instead of a department: the step is done by the unit of that level
    that serves the applicant."""

    APPLICANT = "applicant"  # the applicant does it (at the single window, identity checked)
    VILLAGE = "village"  # the applicant's village or community committee (村/社区)
    TOWNSHIP = "township"  # the applicant's township or street office (乡镇/街道)
    COUNTY = "county"  # the county body that owns the item (县级主管部门)

    @property
    def label(self) -> str:
        """The English label (a msgid: pages translate it)."""
        return _LABELS[self]


_LABELS = {
    UnitLevel.APPLICANT: "The applicant",
    UnitLevel.VILLAGE: "Village of the applicant",
    UnitLevel.TOWNSHIP: "Township of the applicant",
    UnitLevel.COUNTY: "County",
}
UNIT_LEVELS = frozenset(level.value for level in UnitLevel)
#: the labels by level, for pages and forms
UNIT_LABELS = {level.value: level.label for level in UnitLevel}


def is_level(responsible: str) -> bool:
    return responsible in UNIT_LEVELS


def lane_of(responsible: str, owner: str) -> str:
    """The department whose lane a step runs in: its own department, or for a level the
    item's owner (the level is resolved per applicant only when a case is made)."""
    return owner if is_level(responsible) else responsible


@dataclass(frozen=True, slots=True)
class Unit:
    """Where a step of a case is routed: a department (None when the applicant's level has no
    office on record) and the jurisdiction it serves."""

    department_id: int | None
    jurisdiction_id: int


class UnknownUnit(LookupError):
    """A responsible unit that is neither a department nor a level."""


def resolve(
    session: Session,
    responsible: str,
    *,
    owner: str,
    applicant: Jurisdiction,
    departments: dict[str, Department],
) -> Unit:
    """The unit of a step for this applicant. ``owner`` is the code of the item's department;
    ``departments`` all departments by code (read once per case)."""
    if responsible in departments:
        dept = departments[responsible]
        return Unit(dept.id, dept.jurisdiction_id)
    if not is_level(responsible):
        raise UnknownUnit(responsible)
    level = UnitLevel(responsible)
    if level in (UnitLevel.APPLICANT, UnitLevel.COUNTY):
        # The item's own department records what the applicant did, and is the county body.
        owning = departments.get(owner)
        if owning is not None:
            return Unit(owning.id, owning.jurisdiction_id)
        raise UnknownUnit(owner)
    place = _ancestor(session, applicant, Level.VILLAGE) if level is UnitLevel.VILLAGE else None
    office = _first_office(session, place) if place is not None else None
    if office is not None:
        return Unit(office.id, office.jurisdiction_id)
    town = _ancestor(session, applicant, Level.TOWNSHIP) or applicant
    office = _first_office(session, town)
    return Unit(office.id if office else None, town.id)


def _ancestor(session: Session, place: Jurisdiction, level: Level) -> Jurisdiction | None:
    """The applicant's jurisdiction of this level (itself, or above it on its path)."""
    if place.level == level.value:
        return place
    codes = [c for c in place.path.strip("/").split("/") if c]
    return session.scalars(
        select(Jurisdiction).where(Jurisdiction.code.in_(codes), Jurisdiction.level == level.value)
    ).first()


def _first_office(session: Session, place: Jurisdiction) -> Department | None:
    return session.scalars(
        select(Department)
        .where(Department.jurisdiction_id == place.id)
        .order_by(Department.code)
        .limit(1)
    ).one_or_none()
