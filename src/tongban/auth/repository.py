"""Queries for users, grants, sessions and tokens."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload

from tongban.auth.models import ApiToken, LoginSession, RoleGrant, User
from tongban.org.models import Department, Jurisdiction


def user_by_username(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).one_or_none()


def user_with_grants(session: Session, user_id: int) -> User | None:
    return session.scalars(
        select(User).where(User.id == user_id).options(selectinload(User.grants))
    ).one_or_none()


def grant_paths(session: Session, user_id: int) -> list[tuple[RoleGrant, str]]:
    rows = session.execute(
        select(RoleGrant, Jurisdiction.path)
        .join(Jurisdiction, Jurisdiction.id == RoleGrant.jurisdiction_id)
        .where(RoleGrant.user_id == user_id)
        .order_by(RoleGrant.id)
    ).all()
    return [(grant, path) for grant, path in rows]


def live_login_session(session: Session, session_id: str, now: datetime) -> LoginSession | None:
    return session.scalars(
        select(LoginSession).where(
            LoginSession.id == session_id,
            LoginSession.ended_at.is_(None),
            LoginSession.expires_at > now,
        )
    ).one_or_none()


def live_token(session: Session, token_hash: str) -> ApiToken | None:
    return session.scalars(
        select(ApiToken).where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
    ).one_or_none()


def tokens_of(session: Session, user_id: int) -> list[ApiToken]:
    return list(
        session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id))
    )


def users_with_scope_rows(
    session: Session, visible: ColumnElement[bool]
) -> list[tuple[User, RoleGrant, str, str | None]]:
    """(user, grant, jurisdiction code, department code) for the grants the funnel lets through."""
    rows = session.execute(
        select(User, RoleGrant, Jurisdiction.code, Department.code)
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .join(Jurisdiction, Jurisdiction.id == RoleGrant.jurisdiction_id)
        .outerjoin(Department, Department.id == RoleGrant.department_id)
        .where(visible)
        .order_by(User.username, RoleGrant.id)
    ).all()
    return [(u, g, j, d) for u, g, j, d in rows]


def usernames(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """The usernames of these users (only those asked for)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.username).where(User.id.in_(wanted)))
    return {i: name for i, name in rows}


def users_by_id(session: Session, ids: Iterable[int | None]) -> dict[int, User]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(wanted)))}


def display_names_by_id(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    return {i: u.display_name for i, u in users_by_id(session, ids).items()}


def display_names_by_username(session: Session, usernames: Iterable[str | None]) -> dict[str, str]:
    wanted = {u for u in usernames if u}
    if not wanted:
        return {}
    rows = session.execute(
        select(User.username, User.display_name).where(User.username.in_(wanted))
    )
    return {u: n for u, n in rows}


def holders_of(session: Session, role: str, department_id: int) -> list[User]:
    """The users holding ``role`` in this department, by username (a committee's members, a
    department's officers)."""
    return list(
        session.scalars(
            select(User)
            .join(RoleGrant, RoleGrant.user_id == User.id)
            .where(RoleGrant.role == role, RoleGrant.department_id == department_id)
            .distinct()
            .order_by(User.username)
        )
    )
