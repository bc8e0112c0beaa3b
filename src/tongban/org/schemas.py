"""The organisation document (jurisdiction tree, departments, modules, staff) and API shapes."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from tongban.auth.models import Role
from tongban.kit.ids import validate_division_code

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Code = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.\-]+$"
    ),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class JurisdictionIn(Strict):
    code: str
    name_zh: ShortText
    name_en: ShortText
    children: list[JurisdictionIn] = Field(default_factory=list)

    @field_validator("code")
    @classmethod
    def _division_code(cls, value: str) -> str:
        validate_division_code(value)
        return value


class DepartmentIn(Strict):
    code: Code
    name_zh: ShortText
    name_en: ShortText
    jurisdiction: str
    uscc: str | None = None


class ModuleIn(Strict):
    code: Code
    name_zh: ShortText
    name_en: ShortText
    description_zh: Annotated[str, StringConstraints(max_length=500)] = ""
    description_en: Annotated[str, StringConstraints(max_length=1000)] = ""
    departments: list[Code] = Field(default_factory=list)


class GrantIn(Strict):
    role: Role
    jurisdiction: str
    department: Code | None = None


class UserIn(Strict):
    username: Annotated[
        str, StringConstraints(min_length=2, max_length=64, pattern=r"^[a-z0-9_.\-]+$")
    ]
    display_name: ShortText
    password: Annotated[str, StringConstraints(min_length=8, max_length=200)]
    locale: Literal["zh_CN", "en"] = "zh_CN"
    #: where escalations reach this person (optional)
    email: (
        Annotated[
            str,
            StringConstraints(max_length=254, pattern=r"^[^@\s<>]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$"),
        ]
        | None
    ) = None
    grants: list[GrantIn] = Field(min_length=1)


class OrgDocument(Strict):
    format: Literal["tongban-org/1"] = "tongban-org/1"
    jurisdictions: list[JurisdictionIn]
    departments: list[DepartmentIn] = Field(default_factory=list)
    modules: list[ModuleIn] = Field(default_factory=list)
    users: list[UserIn] = Field(default_factory=list)
