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
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from tongban.catalog import codes
from tongban.catalog import types as item_types
from tongban.catalog.models import (
    ApplicantField,
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


def _item_code(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("an item code is text")
    return codes.check_item_code(value)


def _basic_code(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("a basic code is text")
    return codes.check_basic_code(value)


Code = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.\-]+$"
    ),
]
ItemCode = Annotated[
    str, BeforeValidator(_item_code), StringConstraints(min_length=1, max_length=codes.MAX_LENGTH)
]
"""An implementation code: a local code (letters, digits, ``_ . -``, at most 40) or a national
one of six parts (``tongban.catalog.codes``), up to 64 characters."""
BasicCode = Annotated[
    str, BeforeValidator(_basic_code), StringConstraints(min_length=1, max_length=40)
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
EnglishText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
"""An English name: optional (pages fall back to the Chinese one)."""
LongText = Annotated[str, StringConstraints(max_length=20000)]


class Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, use_attribute_docstrings=True
    )


class ElementIn(Strict):
    code: Code
    """The data element's code (数据元编码), unique in the catalogue: letters, digits, `_ . -`."""
    name_zh: ShortText
    """Chinese name."""
    name_en: EnglishText = ""
    """English name (optional: pages show the Chinese one where it is missing)."""
    type: ElementType = ElementType.STRING
    """The datum's type."""
    format: Annotated[str, StringConstraints(max_length=100)] = ""
    """A display or input format, free text (e.g. `YYYY-MM-DD`)."""
    max_length: Annotated[int, Field(ge=1, le=100000, strict=True)] | None = None
    """Longest value, in characters."""
    allowed_values: list[ShortText] = Field(default_factory=list)
    """The values an `enum` element takes (required for `type: enum`, each once)."""
    validator: Validator = Validator.NONE
    """A check applied to every value."""
    source_department: Code | None = None
    """The department that holds the datum by law (权威数据源), by code."""
    description: LongText = ""
    """Free text."""
    applicant_field: ApplicantField | None = None
    """The applicant's own detail this element holds (`name`, `id_no`, `phone`): forms fill it
    from the applicant's details and never ask it twice."""

    @model_validator(mode="after")
    def _enum_has_values(self) -> ElementIn:
        if self.type is ElementType.ENUM and not self.allowed_values:
            raise ValueError("an enum data element needs allowed_values")
        if len(set(self.allowed_values)) != len(self.allowed_values):
            raise ValueError("allowed_values lists a value twice")
        return self


class BilingualText(Strict):
    zh: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    """Chinese text."""
    en: Annotated[str, StringConstraints(max_length=4000)] = ""
    """English text."""


class LegalBasisIn(Strict):
    law: ShortText
    """The law or regulation, e.g. 《中华人民共和国行政许可法》."""
    article: Annotated[str, StringConstraints(max_length=100)] = ""
    """The article, e.g. 第四十二条."""
    text: LongText = ""
    """The article's text."""


class MaterialIn(Strict):
    code: Code
    """The material's code, unique within the item."""
    name_zh: ShortText
    """Chinese name."""
    name_en: EnglishText = ""
    """English name (optional: pages show the Chinese one where it is missing)."""
    necessity: Necessity = Necessity.REQUIRED
    """Whether the applicant must bring it."""
    format: MaterialFormat = MaterialFormat.BOTH
    """Paper, electronic, or either."""
    copies: Annotated[int, Field(ge=0, le=100, strict=True)] = 1
    """Paper copies asked for."""
    source: MaterialSource = MaterialSource.APPLICANT
    """Where it comes from: `applicant` (brought by the applicant), `item_output` (another item's
    result), `shared_data` (shared by a department), `e_licence` (an electronic licence)."""
    source_ref: Annotated[str, StringConstraints(max_length=100)] = ""
    """With `item_output`: `ITEM#OUTPUT`, an item's implementation code and the code of one of its
    outputs. With `e_licence`: `ITEM#OUTPUT` of an output marked `e_licence: true` (the
    e-licence type is the output of the item that issues it). With `shared_data`: the code of
    the department that shares the data. Empty with `applicant`."""
    elements: list[Code] = Field(default_factory=list)
    """The data elements the material carries (their codes)."""

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
    """The field's code, unique within the item's form."""
    label_zh: ShortText
    """Chinese label."""
    label_en: EnglishText = ""
    """English label (optional)."""
    element: Code
    """The data element the field asks for (its code)."""
    required: bool = True
    """Whether the applicant must fill it."""


class StepIn(Strict):
    code: Code
    """The step's code, unique within the item."""
    kind: StepKind
    """What the step does; a bundle's single window takes over `acceptance` and `delivery`."""
    name_zh: ShortText
    """Chinese name."""
    name_en: EnglishText = ""
    """English name (optional: pages show the Chinese one where it is missing)."""
    responsible: Code
    """A department code, or a level: `township`, `village`, `county`, `applicant` (the unit of the
    applicant's jurisdiction at that level)."""
    limit_days: Annotated[int, Field(ge=0, le=3650, strict=True)] = 0
    """Working days of this step; none may exceed the item's legal limit, and acceptance + delivery
    together must fit in the legal and the promised limit."""


class TimeLimitIn(Strict):
    legal: Annotated[int, Field(ge=0, le=3650, strict=True)]
    """The legal time limit (法定办结时限), in working days (0: on the spot)."""
    promised: Annotated[int, Field(ge=0, le=3650, strict=True)]
    """The promised time limit (承诺办结时限), in working days, at most the legal one."""

    @model_validator(mode="after")
    def _promised_within_legal(self) -> TimeLimitIn:
        if self.promised > self.legal:
            raise ValueError(
                f"promised time limit ({self.promised}) exceeds the legal one ({self.legal})"
            )
        return self


class FeeIn(Strict):
    name_zh: ShortText
    """Chinese name."""
    name_en: EnglishText = ""
    """English name (optional: pages show the Chinese one where it is missing)."""
    amount_fen: Annotated[int, Field(ge=0, le=10**12, strict=True)]
    """The amount in fen (1 yuan = 100 fen), an integer."""
    basis: Annotated[str, StringConstraints(max_length=500)] = ""
    """What the fee is charged under."""


class OutputIn(Strict):
    code: Code
    """The output's code, unique within the item; `ITEM#CODE` names it elsewhere."""
    name_zh: ShortText
    """Chinese name."""
    name_en: EnglishText = ""
    """English name (optional: pages show the Chinese one where it is missing)."""
    kind: OutputKind
    """What the result is."""
    e_licence: bool = False
    """Issued as an electronic licence (电子证照): `ITEM#CODE` is then an e-licence type that
    materials can name."""
    elements: list[Code] = Field(default_factory=list)
    """The data elements the output carries (a bundle member that runs later is not asked them)."""


class ItemIn(Strict):
    """One service item as it stands in a catalogue file (the latest version's content)."""

    implementation_code: ItemCode
    """The item's stable identity (实施编码), unique in the catalogue: a local code (letters,
    digits, `_ . -`, at most 40 characters) or a national code of six parts joined by `-`
    (basic code, 12-digit division, 3-digit unit, implementing organisation's unified social
    credit code, 1-digit nature, 2-digit business handling item), checked part by part."""
    basic_code: BasicCode
    """The basic code (基本编码) of the item in the national list; taken from a national
    implementation code when left out."""
    parent: ItemCode | None = None
    """A sub-item (办理项) names its main item by implementation code."""
    status: Literal["draft", "published", "retired"] = VersionStatus.PUBLISHED.value
    """The version's status: `draft`, `published` or `retired`."""
    name_zh: ShortText
    """Chinese name."""
    name_en: EnglishText = ""
    """English name (optional: pages show the Chinese one where it is missing)."""
    type: Annotated[ItemType, BeforeValidator(item_types.parse)]
    """The kind of power or service (事项类型): the value, its Chinese name (行政许可) or a
    national type code (`XK`, `1A`; see docs/catalog-format.md)."""
    department: Code
    """The competent department, by code."""
    co_handlers: list[Code] = Field(default_factory=list)
    """Departments that co-handle the item, by code."""
    description: LongText = ""
    """Free text."""
    legal_basis: list[LegalBasisIn] | None = None
    """The laws it rests on. Left out: not yet recorded (an administrative power is then
    incomplete); an administrative power cannot be published with an empty list."""
    conditions: list[BilingualText] = Field(default_factory=list)
    """Who may apply (受理条件)."""
    materials: list[MaterialIn] | None = None
    """What the applicant hands in, or what is fetched for them. Left out: not yet recorded
    (the item is incomplete); `[]`: stated that none is needed."""
    form: list[FormFieldIn] = Field(default_factory=list)
    """The application form's fields."""
    steps: list[StepIn] | None = None
    """The steps, in the order they run. Left out: not yet recorded (the item is incomplete)."""
    time_limit: TimeLimitIn | None = None
    """Time limits, in working days. Left out: not yet recorded (the item is incomplete)."""
    fees: list[FeeIn] = Field(default_factory=list)
    """Fees charged."""
    channels: list[Channel] = Field(default_factory=list)
    """How one can apply."""
    outputs: list[OutputIn] = Field(default_factory=list)
    """What the item issues."""
    visits: Annotated[int, Field(ge=0, le=20, strict=True)] | None = None
    """Trips to a window: 0 (none), 1 (to submit), 2 (to submit and to collect), more. Left out:
    not yet recorded (the item is incomplete)."""

    @model_validator(mode="before")
    @classmethod
    def _basic_code_from_national(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("basic_code") in (None, ""):
            code = data.get("implementation_code")
            national = (
                codes.national_parts(codes.normalise(code)) if isinstance(code, str) else None
            )
            if national is not None:
                return {**data, "basic_code": national.basic}
        return data

    @field_validator("materials", "form", "steps", "outputs")
    @classmethod
    def _unique_codes(cls, rows: list[Any] | None) -> list[Any] | None:
        seen: set[str] = set()
        for row in rows or ():
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
    """A catalogue file (``tongban-catalog/1``)."""

    format: Literal["tongban-catalog/1"] = "tongban-catalog/1"
    """The format and its version."""
    elements: list[ElementIn] = Field(default_factory=list)
    """The data element dictionary (数据元)."""
    items: list[ItemIn] = Field(default_factory=list)
    """The service items (事项)."""


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a catalogue file (``tongban catalog schema``)."""
    from tongban.kit.jsonschema import file_schema

    return file_schema(
        CatalogDocument,
        title="Tongban catalogue file (tongban-catalog/1)",
        description="Data elements and service items; see docs/catalog-format.md.",
    )
