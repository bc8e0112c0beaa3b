"""Queries for bundles and their versions."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload

from tongban.bundles.models import Bundle, BundleVersion
from tongban.org.models import Department, Jurisdiction


def bundle_by_code(session: Session, code: str) -> Bundle | None:
    return session.scalars(select(Bundle).where(Bundle.code == code)).one_or_none()


def latest_version(session: Session, bundle_id: int) -> BundleVersion | None:
    return session.scalars(
        select(BundleVersion)
        .where(BundleVersion.bundle_id == bundle_id)
        .options(selectinload(BundleVersion.members), selectinload(BundleVersion.bundle))
        .order_by(BundleVersion.version_no.desc())
        .limit(1)
    ).one_or_none()


def visible_versions(
    session: Session, bundle_id: int, visible: ColumnElement[bool]
) -> list[BundleVersion]:
    return list(
        session.scalars(
            select(BundleVersion)
            .join(Department, Department.id == BundleVersion.lead_department_id)
            .join(Jurisdiction, Jurisdiction.id == Department.jurisdiction_id)
            .where(BundleVersion.bundle_id == bundle_id, visible)
            .options(selectinload(BundleVersion.members), selectinload(BundleVersion.bundle))
            .order_by(BundleVersion.version_no)
        )
    )


def latest_visible(session: Session, visible: ColumnElement[bool]) -> list[BundleVersion]:
    """The latest visible version of every bundle, by code."""
    latest = (
        select(BundleVersion.bundle_id, func.max(BundleVersion.version_no).label("v"))
        .join(Department, Department.id == BundleVersion.lead_department_id)
        .join(Jurisdiction, Jurisdiction.id == Department.jurisdiction_id)
        .where(visible)
        .group_by(BundleVersion.bundle_id)
        .subquery()
    )
    return list(
        session.scalars(
            select(BundleVersion)
            .join(
                latest,
                (latest.c.bundle_id == BundleVersion.bundle_id)
                & (latest.c.v == BundleVersion.version_no),
            )
            .join(Bundle, Bundle.id == BundleVersion.bundle_id)
            .options(selectinload(BundleVersion.members), selectinload(BundleVersion.bundle))
            .order_by(Bundle.code)
        )
    )


def published_version(session: Session, bundle_id: int) -> BundleVersion | None:
    return session.scalars(
        select(BundleVersion).where(
            BundleVersion.bundle_id == bundle_id, BundleVersion.status == "published"
        )
    ).one_or_none()
