"""The organisation document (jurisdiction tree, departments, modules, staff) and API shapes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

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
    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, use_attribute_docstrings=True
    )


class JurisdictionIn(Strict):
    code: str
    """GB/T 2260 style code: 6 digits (province, city, county), 9 (township), 12 (village); a
    child's code extends its parent's."""
    name_zh: ShortText
    """Chinese name."""
    name_en: ShortText
    """English name."""
    children: list[JurisdictionIn] = Field(default_factory=list)
    """The jurisdictions within it."""

    @field_validator("code")
    @classmethod
    def _division_code(cls, value: str) -> str:
        validate_division_code(value)
        return value


class DepartmentIn(Strict):
    code: Code
    """The department's code (what catalogue and bundle files name), unique."""
    name_zh: ShortText
    """Chinese name."""
    name_en: ShortText
    """English name."""
    jurisdiction: str
    """The code of the jurisdiction it belongs to."""
    uscc: str | None = None
    """Its unified social credit code (统一社会信用代码), 18 characters."""


class ModuleIn(Strict):
    code: Code
    """The module's code."""
    name_zh: ShortText
    """Chinese name."""
    name_en: ShortText
    """English name."""
    description_zh: Annotated[str, StringConstraints(max_length=500)] = ""
    """Chinese description."""
    description_en: Annotated[str, StringConstraints(max_length=1000)] = ""
    """English description."""
    departments: list[Code] = Field(default_factory=list)
    """The departments it serves, by code."""


class GrantIn(Strict):
    role: Role
    """The role granted."""
    jurisdiction: str
    """The jurisdiction (and everything within it) where it holds."""
    department: Code | None = None
    """The department it is limited to, if any."""


class UserIn(Strict):
    username: Annotated[
        str, StringConstraints(min_length=2, max_length=64, pattern=r"^[a-z0-9_.\-]+$")
    ]
    """Login name: lower-case letters, digits, `_ . -`."""
    display_name: ShortText
    """The name shown."""
    password: Annotated[str, StringConstraints(min_length=8, max_length=200)]
    """Initial password, at least 8 characters."""
    locale: Literal["zh_CN", "en"] = "zh_CN"
    """Interface language."""
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
    """The format and its version."""
    jurisdictions: list[JurisdictionIn]
    """The jurisdiction tree."""
    departments: list[DepartmentIn] = Field(default_factory=list)
    """The departments."""
    modules: list[ModuleIn] = Field(default_factory=list)
    """The application modules."""
    users: list[UserIn] = Field(default_factory=list)
    """Staff accounts."""


def json_schema() -> dict[str, Any]:
    """The JSON Schema of an organisation file (``tongban org schema``)."""
    from tongban.kit.jsonschema import file_schema

    return file_schema(
        OrgDocument,
        title="Tongban organisation file (tongban-org/1)",
        description="Jurisdictions, departments, modules and staff; see docs/catalog-format.md.",
    )
