"""Who am I, and API tokens for machine clients."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from tongban.auth import service
from tongban.auth.access import require_principal
from tongban.kit.bounds import RowId
from tongban.web.deps import CurrentPrincipal, DbSession, api_csrf

router = APIRouter(tags=["auth"])


class ScopeOut(BaseModel):
    role: str
    jurisdiction_path: str
    department_id: int | None


class MeOut(BaseModel):
    username: str
    display_name: str
    scopes: list[ScopeOut]


class TokenIn(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewTokenOut(TokenOut):
    token: str = Field(description="The secret; shown once, only its hash is stored.")


@router.get("/me", response_model=MeOut)
def me(principal: CurrentPrincipal) -> MeOut:
    who = require_principal(principal)
    return MeOut(
        username=who.username,
        display_name=who.display_name,
        scopes=[
            ScopeOut(
                role=s.role.value,
                jurisdiction_path=s.jurisdiction_path,
                department_id=s.department_id,
            )
            for s in who.scopes
        ],
    )


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(session: DbSession, principal: CurrentPrincipal) -> list[TokenOut]:
    tokens = service.list_tokens(session=session, principal=require_principal(principal))
    return [TokenOut.model_validate(t, from_attributes=True) for t in tokens]


@router.post(
    "/tokens", response_model=NewTokenOut, status_code=201, dependencies=[Depends(api_csrf)]
)
def create_token(body: TokenIn, session: DbSession, principal: CurrentPrincipal) -> NewTokenOut:
    token, secret = service.create_token(
        session=session, principal=require_principal(principal), name=body.name
    )
    return NewTokenOut(
        **TokenOut.model_validate(token, from_attributes=True).model_dump(), token=secret
    )


@router.delete("/tokens/{token_id}", status_code=204, dependencies=[Depends(api_csrf)])
def revoke_token(token_id: RowId, session: DbSession, principal: CurrentPrincipal) -> None:
    service.revoke_token(session=session, principal=require_principal(principal), token_id=token_id)


class StaffOut(BaseModel):
    username: str
    display_name: str
    role: str
    jurisdiction: str
    department: str | None
    is_active: bool


@router.get("/staff", response_model=list[StaffOut])
def list_staff(session: DbSession, principal: CurrentPrincipal) -> list[StaffOut]:
    """Staff and their role grants, as far as the caller's role and scope reach."""
    rows = service.list_staff(session=session, principal=principal)
    return [StaffOut.model_validate(r, from_attributes=True) for r in rows]
