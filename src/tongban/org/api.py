"""JSON routes of the organisation: the jurisdiction tree, departments and modules."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from tongban.org import service
from tongban.web.deps import CurrentPrincipal, DbSession

router = APIRouter(tags=["organisation"])


class JurisdictionOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    level: str
    parent: str | None


class DepartmentOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    jurisdiction: str
    modules: list[str]


class ModuleOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    departments: list[str]


@router.get("/jurisdictions", response_model=list[JurisdictionOut])
def jurisdictions(session: DbSession) -> list[JurisdictionOut]:
    return [JurisdictionOut(**row) for row in service.jurisdiction_rows(session=session)]


@router.get("/departments", response_model=list[DepartmentOut])
def departments(session: DbSession, principal: CurrentPrincipal) -> list[DepartmentOut]:
    return [DepartmentOut(**row) for row in service.department_rows(session=session)]


@router.get("/modules", response_model=list[ModuleOut])
def modules(session: DbSession) -> list[ModuleOut]:
    return [
        ModuleOut(
            code=m.code,
            name_zh=m.name_zh,
            name_en=m.name_en,
            departments=sorted(d.code for d in m.departments),
        )
        for m in service.modules(session=session)
    ]
