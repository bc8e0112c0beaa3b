"""Logging in and out, API tokens, and resolving the principal behind a request."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from tongban.audit import service as audit
from tongban.auth import repository
from tongban.auth.access import require_principal, scope_clause
from tongban.auth.models import ApiToken, LoginSession, Role, RoleGrant, User
from tongban.auth.passwords import hash_password, verify_password
from tongban.auth.principal import Principal, Scope
from tongban.config import get_settings
from tongban.db import utcnow
from tongban.errors import NotAuthenticated, NotFound, ValidationFailed
from tongban.org.models import Jurisdiction

TOKEN_PREFIX = "tb_"  # noqa: S105 (a prefix, not a secret)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class NewLogin:
    cookie_value: str
    csrf_token: str
    principal: Principal


def load_principal(session: Session, user: User, *, via_token: bool = False) -> Principal:
    scopes = tuple(
        Scope(role=Role(grant.role), jurisdiction_path=path, department_id=grant.department_id)
        for grant, path in repository.grant_paths(session, user.id)
    )
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        scopes=scopes,
        via_token=via_token,
    )


def login(*, session: Session, username: str, password: str) -> NewLogin:
    """Check the password and open a login session; the same message for every failure."""
    user = repository.user_by_username(session, username.strip())
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise NotAuthenticated("wrong username or password", code="login_failed")
    if not user.is_active:
        raise NotAuthenticated("wrong username or password", code="login_failed")
    cookie_value = secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        LoginSession(
            id=_digest(cookie_value),
            user_id=user.id,
            csrf_token=csrf_token,
            created_at=now,
            expires_at=now + timedelta(hours=get_settings().session_hours),
        )
    )
    audit.record(
        session=session,
        actor_user_id=user.id,
        action="login",
        object_type="user",
        object_key=user.username,
    )
    session.flush()
    return NewLogin(cookie_value, csrf_token, load_principal(session, user))


def record_failed_login(*, session: Session, username: str, client: str) -> None:
    """Every failed login is in the audit log: the name tried (cut to 64 characters; it may be
    nobody's) and the client's address."""
    audit.record(
        session=session,
        actor_user_id=None,
        action="login_failed",
        object_type="user",
        object_key=username.strip()[:64],
        detail={"client": client[:80]},
    )


def resolve_cookie(*, session: Session, cookie_value: str) -> tuple[Principal, str] | None:
    """The principal and CSRF token of a live login session, or None."""
    login_session = repository.live_login_session(session, _digest(cookie_value), utcnow())
    if login_session is None:
        return None
    user = session.get(User, login_session.user_id)
    if user is None or not user.is_active:
        return None
    return load_principal(session, user), login_session.csrf_token


def logout(*, session: Session, cookie_value: str) -> None:
    login_session = repository.live_login_session(session, _digest(cookie_value), utcnow())
    if login_session is not None:
        login_session.ended_at = utcnow()
        session.flush()


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected, given or "")


def create_token(*, session: Session, principal: Principal, name: str) -> tuple[ApiToken, str]:
    """A new API token; the secret is returned once and only its hash is kept."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed("token name must be 1–100 characters", code="token_name_invalid")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=principal.user_id, name=name, token_hash=_digest(secret), prefix=secret[:8]
    )
    session.add(token)
    audit.record(
        session=session,
        actor_user_id=principal.user_id,
        action="token.create",
        object_type="api_token",
        object_key=name,
    )
    session.flush()
    return token, secret


def revoke_token(*, session: Session, principal: Principal, token_id: int) -> None:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != principal.user_id:
        raise NotFound("no API token %(token)s", params={"token": token_id}, code="token_not_found")
    token.revoked_at = utcnow()
    audit.record(
        session=session,
        actor_user_id=principal.user_id,
        action="token.revoke",
        object_type="api_token",
        object_key=token.name,
    )
    session.flush()


def resolve_token(*, session: Session, secret: str) -> Principal | None:
    token = repository.live_token(session, _digest(secret))
    if token is None:
        return None
    user = session.get(User, token.user_id)
    if user is None or not user.is_active:
        return None
    _touch_token(session, token)
    return load_principal(session, user, via_token=True)


#: ``last_used_at`` is written at most this often, so clients sharing a token do not
#: serialise on its row
TOUCH_EVERY = timedelta(seconds=60)


def _touch_token(session: Session, token: ApiToken) -> None:
    """Record the token's use when the last record is older than :data:`TOUCH_EVERY`.

    The token row is already loaded, so the check costs no read; the write is a conditional
    ``UPDATE`` (a concurrent request that already wrote it makes this one a no-op).
    """
    now = utcnow()
    cutoff = now - TOUCH_EVERY
    if token.last_used_at is not None and token.last_used_at >= cutoff:
        return
    session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == token.id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < cutoff),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    session.expire(token, ["last_used_at"])


def list_tokens(*, session: Session, principal: Principal) -> list[ApiToken]:
    return repository.tokens_of(session, principal.user_id)


def create_user(
    *, session: Session, username: str, display_name: str, password: str, locale: str = "zh_CN"
) -> User:
    if repository.user_by_username(session, username) is not None:
        raise ValidationFailed(
            "username '%(username)s' is taken", params={"username": username}, code="username_taken"
        )
    user = User(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        locale=locale,
    )
    session.add(user)
    session.flush()
    return user


STAFF_READERS = (Role.SYSADMIN, Role.REFORM_OFFICE)


@dataclass(frozen=True)
class StaffRow:
    username: str
    display_name: str
    role: str
    jurisdiction: str
    department: str | None
    is_active: bool


def list_staff(*, session: Session, principal: Principal | None) -> list[StaffRow]:
    """Staff whose grants lie in the asker's scope: the system administrator and the reform
    office see their subtree; anyone else sees the people of their own department."""
    who = require_principal(principal)
    visible = or_(
        scope_clause(who, STAFF_READERS, jurisdiction_path=Jurisdiction.path, department_id=None),
        *[
            RoleGrant.department_id == s.department_id
            for s in who.scopes
            if s.department_id is not None
        ],
        User.id == who.user_id,
    )
    return [
        StaffRow(u.username, u.display_name, g.role, j, d, u.is_active)
        for u, g, j, d in repository.users_with_scope_rows(session, visible)
    ]
