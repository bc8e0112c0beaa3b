"""The catalogue document: the import/export format (YAML, XLSX) and the API's item shapes.

A catalogue document is ``{"format": "tongban-catalog/1", "elements": [...], "items": [...]}``.
Departments are named by their codes; data elements by theirs; a sub-item names its main item by
implementation code. The same shapes serve the JSON API, so what a file holds and what the API
returns never drift apart.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from tongban.catalog.models import (
    Channel,
    ElementType,
    ItemType,
    MaterialFormat,
    MaterialSource,
    Necessity,
    OutputKind,
    StepKind,
    Validator,
    VersionStatus,
)

FORMAT_ID = "tongban-catalog/1"

Code = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.\-]+$"
    ),
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=20000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ElementIn(Strict):
    code: Code
    name_zh: ShortText
    name_en: ShortText
    type: ElementType = ElementType.STRING
    format: Annotated[str, StringConstraints(max_length=100)] = ""
    max_length: Annotated[int, Field(ge=1, le=100000)] | None = None
    allowed_values: list[ShortText] = Field(default_factory=list)
    validator: Validator = Validator.NONE
    source_department: Code | None = None
    description: LongText = ""

    @model_validator(mode="after")
    def _enum_has_values(self) -> ElementIn:
        if self.type is ElementType.ENUM and not self.allowed_values:
            raise ValueError("an enum data element needs allowed_values")
        if len(set(self.allowed_values)) != len(self.allowed_values):
            raise ValueError("allowed_values lists a value twice")
        return self


class BilingualText(Strict):
    zh: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    en: Annotated[str, StringConstraints(max_length=4000)] = ""


class LegalBasisIn(Strict):
    law: ShortText
    article: Annotated[str, StringConstraints(max_length=100)] = ""
    text: LongText = ""


class MaterialIn(Strict):
    code: Code
    name_zh: ShortText
    name_en: ShortText
    necessity: Necessity = Necessity.REQUIRED
    format: MaterialFormat = MaterialFormat.BOTH
    copies: Annotated[int, Field(ge=0, le=100)] = 1
    source: MaterialSource = MaterialSource.APPLICANT
    source_ref: Annotated[str, StringConstraints(max_length=100)] = ""
    elements: list[Code] = Field(default_factory=list)

    @model_validator(mode="after")
    def _source_ref_needed(self) -> MaterialIn:
        if (
            self.source in (MaterialSource.ITEM_OUTPUT, MaterialSource.E_LICENCE)
            and not self.source_ref
        ):
            raise ValueError(f"a material from source '{self.source.value}' needs source_ref")
        return self


class FormFieldIn(Strict):
    code: Code
    label_zh: ShortText
    label_en: ShortText
    element: Code
    required: bool = True


class StepIn(Strict):
    code: Code
    kind: StepKind
    name_zh: ShortText
    name_en: ShortText
    responsible: Code
    limit_days: Annotated[int, Field(ge=0, le=3650)] = 0


class TimeLimitIn(Strict):
    legal: Annotated[int, Field(ge=0, le=3650)]
    promised: Annotated[int, Field(ge=0, le=3650)]

    @model_validator(mode="after")
    def _promised_within_legal(self) -> TimeLimitIn:
        if self.promised > self.legal:
            raise ValueError(
                f"promised time limit ({self.promised}) exceeds the legal one ({self.legal})"
            )
        return self


class FeeIn(Strict):
    name_zh: ShortText
    name_en: ShortText
    amount_fen: Annotated[int, Field(ge=0, le=10**12, strict=True)]
    basis: Annotated[str, StringConstraints(max_length=500)] = ""


class OutputIn(Strict):
    code: Code
    name_zh: ShortText
    name_en: ShortText
    kind: OutputKind
    e_licence: bool = False
    elements: list[Code] = Field(default_factory=list)


class ItemIn(Strict):
    """One service item as it stands in a catalogue file (the latest version's content)."""

    implementation_code: Code
    basic_code: Code
    parent: Code | None = None
    status: Literal["draft", "published", "retired"] = VersionStatus.PUBLISHED.value
    name_zh: ShortText
    name_en: ShortText
    type: ItemType
    department: Code
    co_handlers: list[Code] = Field(default_factory=list)
    description: LongText = ""
    legal_basis: list[LegalBasisIn] = Field(default_factory=list)
    conditions: list[BilingualText] = Field(default_factory=list)
    materials: list[MaterialIn] = Field(default_factory=list)
    form: list[FormFieldIn] = Field(default_factory=list)
    steps: list[StepIn] = Field(default_factory=list)
    time_limit: TimeLimitIn
    fees: list[FeeIn] = Field(default_factory=list)
    channels: list[Channel] = Field(default_factory=list)
    outputs: list[OutputIn] = Field(default_factory=list)
    visits: Annotated[int, Field(ge=0, le=20)] = 1

    @field_validator("materials", "form", "steps", "outputs")
    @classmethod
    def _unique_codes(cls, rows: list[Any]) -> list[Any]:
        seen: set[str] = set()
        for row in rows:
            if row.code in seen:
                raise ValueError(f"code '{row.code}' appears twice")
            seen.add(row.code)
        return rows

    @field_validator("co_handlers", "channels")
    @classmethod
    def _unique_values(cls, values: list[Any]) -> list[Any]:
        if len(set(values)) != len(values):
            raise ValueError("a value appears twice")
        return values


class CatalogDocument(Strict):
    format: Literal["tongban-catalog/1"] = "tongban-catalog/1"
    elements: list[ElementIn] = Field(default_factory=list)
    items: list[ItemIn] = Field(default_factory=list)
