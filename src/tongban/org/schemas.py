"""The organisation document (jurisdiction tree, departments, modules, staff) and API shapes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from tongban.auth.models import Role
from tongban.kit.ids import normalize_uscc, validate_division_code

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
    name_en: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    """English name (optional: pages show the Chinese one where it is missing)."""
    children: list[JurisdictionIn] = Field(default_factory=list)
    """The jurisdictions within it."""

    @field_validator("code")
    @classmethod
    def _division_code(cls, value: str) -> str:
        validate_division_code(value)
        return value


Contact = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]


class ContactIn(Strict):
    """Where and when people reach a department or a service hall."""

    address_zh: Contact = ""
    """Street address, in Chinese."""
    address_en: Contact = ""
    """Street address, in English (optional: pages show the Chinese one where it is missing)."""
    hours_zh: Contact = ""
    """Opening hours, in Chinese (e.g. 工作日 9:00–12:00，13:30–17:00)."""
    hours_en: Contact = ""
    """Opening hours, in English."""
    phone: Contact = ""
    """The public phone number(s), as printed."""


class DepartmentIn(Strict):
    code: Code
    """The department's code (what catalogue and bundle files name), unique."""
    name_zh: ShortText
    """Chinese name."""
    name_en: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    """English name (optional: pages show the Chinese one where it is missing)."""
    jurisdiction: str
    """The code of the jurisdiction it belongs to."""
    uscc: str | None = None
    """Its unified social credit code (统一社会信用代码): 18 characters, the check character of
    GB 32100 checked (lower-case letters are read as upper-case)."""

    contact: ContactIn | None = None
    """Its address, opening hours and phone; omitted keeps what the department has."""

    @field_validator("uscc")
    @classmethod
    def _uscc(cls, value: str | None) -> str | None:
        return normalize_uscc(value) if value else None


class ServiceHallIn(ContactIn):
    code: Code
    """The hall's code, unique."""
    name_zh: ShortText
    """Chinese name (e.g. 青溪县政务服务中心)."""
    name_en: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    """English name (optional)."""
    jurisdiction: str
    """The code of the jurisdiction it serves (and everything within it): an applicant's window
    is the hall of the nearest jurisdiction above their own that has one."""


class ModuleIn(Strict):
    code: Code
    """The module's code."""
    name_zh: ShortText | None = None
    """Chinese name (needed for a new module; an existing one keeps its name when omitted)."""
    name_en: ShortText | None = None
    """English name (needed for a new module; an existing one keeps its name when omitted)."""
    description_zh: Annotated[str, StringConstraints(max_length=500)] = ""
    """Chinese description; omitted or empty keeps the one the module has."""
    description_en: Annotated[str, StringConstraints(max_length=1000)] = ""
    """English description; omitted or empty keeps the one the module has."""
    departments: list[Code] = Field(default_factory=list)
    """Departments it serves, by code: added to those it already serves (an import never takes a
    department out of a module: ``remove.module_departments`` does)."""


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
    """Roles: added to those the user already holds (``remove.grants`` takes one away)."""


class ModuleDepartmentRef(Strict):
    module: Code
    """The module's code."""
    department: Code
    """The department to take out of it."""


class GrantRef(Strict):
    username: Annotated[str, StringConstraints(min_length=2, max_length=64)]
    """The user who holds the grant."""
    role: Role
    """The role granted."""
    jurisdiction: str
    """The jurisdiction of the grant."""
    department: Code | None = None
    """The department of the grant, if it has one."""


class RemoveIn(Strict):
    """What an import takes away, all or nothing and audited; anything already absent is
    reported and skipped."""

    module_departments: list[ModuleDepartmentRef] = Field(default_factory=list)
    """Departments to take out of a module (the department itself stays)."""
    departments: list[Code] = Field(default_factory=list)
    """Departments to delete (and take out of every module); refused while anything still
    refers to one (items, bundles, case steps, grants)."""
    grants: list[GrantRef] = Field(default_factory=list)
    """Grants to take from users."""


class OrgDocument(Strict):
    format: Literal["tongban-org/1"] = "tongban-org/1"
    """The format and its version."""
    jurisdictions: list[JurisdictionIn] = Field(default_factory=list)
    """The jurisdiction tree (a top-level entry below province level hangs under its parent,
    which must then be in the database)."""
    departments: list[DepartmentIn] = Field(default_factory=list)
    """The departments."""
    service_halls: list[ServiceHallIn] = Field(default_factory=list)
    """The service halls (their windows take applications in person)."""
    modules: list[ModuleIn] = Field(default_factory=list)
    """The application modules."""
    users: list[UserIn] = Field(default_factory=list)
    """Staff accounts."""
    remove: RemoveIn = Field(default_factory=RemoveIn)
    """What to take away (an import on its own only adds and updates)."""


def json_schema() -> dict[str, Any]:
    """The JSON Schema of an organisation file (``tongban org schema``)."""
    from tongban.kit.jsonschema import file_schema

    return file_schema(
        OrgDocument,
        title="Tongban organisation file (tongban-org/1)",
        description="Jurisdictions, departments, modules and staff; see docs/catalog-format.md.",
    )
