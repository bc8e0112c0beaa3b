"""Between the catalogue's rows and its file/API shape (``ItemIn``, ``ElementIn``): reading a
version out, filling a version or an element in."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy.orm import Session

from tongban.catalog import repository
from tongban.catalog.completeness import LIST_PARTS
from tongban.catalog.models import (
    CoHandler,
    DataElement,
    FormField,
    ItemVersion,
    LegalBasis,
    Material,
    MaterialFormat,
    MaterialSource,
    Necessity,
    Output,
    ProcessStep,
    VersionStatus,
)
from tongban.catalog.schemas import (
    BilingualText,
    ElementIn,
    FeeIn,
    FormFieldIn,
    ItemIn,
    LegalBasisIn,
    MaterialIn,
    OutputIn,
    StepIn,
    TimeLimitIn,
)
from tongban.org import repository as org_repository
from tongban.org.models import Department

LEVEL_UNITS = frozenset({"township", "village", "county", "applicant"})


@dataclass
class Lookups:
    """Departments and elements by code and id, loaded once per operation."""

    departments: dict[str, Department]
    elements: dict[str, DataElement]

    @cached_property
    def department_codes(self) -> dict[int, str]:
        """Department id → code, built once (an export asks for it once per item; the
        departments of an operation do not change while it runs)."""
        return {d.id: code for code, d in self.departments.items()}


def _lookups(session: Session) -> Lookups:
    departments = {d.code: d for d in org_repository.all_departments(session)}
    elements = {e.code: e for e in repository.all_elements(session)}
    return Lookups(departments, elements)


def version_to_item(version: ItemVersion, departments: dict[int, str]) -> ItemIn:
    item = version.item
    missing = set(version.not_recorded)
    time_limit = (
        None
        if version.legal_limit_days is None or version.promised_limit_days is None
        else TimeLimitIn(legal=version.legal_limit_days, promised=version.promised_limit_days)
    )
    return ItemIn(
        implementation_code=item.implementation_code,
        basic_code=item.basic_code,
        parent=item.parent.implementation_code if item.parent else None,
        status=version.status,
        name_zh=version.name_zh,
        name_en=version.name_en,
        type=version.item_type,
        department=departments[version.department_id],
        co_handlers=[departments[c.department_id] for c in version.co_handlers],
        description=version.description,
        legal_basis=None
        if "legal_basis" in missing
        else [LegalBasisIn(law=b.law, article=b.article, text=b.text) for b in version.legal_bases],
        conditions=[BilingualText.model_validate(c) for c in version.conditions],
        materials=None
        if "materials" in missing
        else [
            MaterialIn(
                code=m.code,
                name_zh=m.name_zh,
                name_en=m.name_en,
                necessity=m.necessity,
                format=m.format,
                copies=m.copies,
                source=m.source,
                source_ref=m.source_ref,
                elements=list(m.element_codes),
            )
            for m in version.materials
        ],
        form=[
            FormFieldIn(
                code=f.code,
                label_zh=f.label_zh,
                label_en=f.label_en,
                element=f.element.code,
                required=f.required,
            )
            for f in version.form_fields
        ],
        steps=None
        if "steps" in missing
        else [
            StepIn(
                code=s.code,
                kind=s.kind,
                name_zh=s.name_zh,
                name_en=s.name_en,
                responsible=s.responsible,
                limit_days=s.limit_days,
            )
            for s in version.steps
        ],
        time_limit=time_limit,
        fees=[FeeIn.model_validate(f) for f in version.fees],
        channels=list(version.channels),
        outputs=[
            OutputIn(
                code=o.code,
                name_zh=o.name_zh,
                name_en=o.name_en,
                kind=o.kind,
                e_licence=o.e_licence,
                elements=list(o.element_codes),
            )
            for o in version.outputs
        ],
        visits=version.visits,
    )


def _put(out: dict[str, Any], key: str, value: Any, default: Any) -> None:
    if value != default:
        out[key] = value


def version_plain(
    rows: repository.VersionRows, departments: dict[int, str], elements: dict[int, str]
) -> dict[str, Any]:
    """A version read by Core rows as the plain data of its ``ItemIn``: what
    ``version_to_item(...).model_dump(mode="json", exclude_defaults=True)`` gives (values equal
    to the default left out, in the fields' order), without building the models (an export of
    100,000 items). ``elements``: data element id → code."""
    v = rows.version
    kids = rows.children
    missing = set(v["not_recorded"])
    out: dict[str, Any] = {
        "implementation_code": v["implementation_code"],
        "basic_code": v["basic_code"],
    }
    _put(out, "parent", v["parent_code"], None)
    _put(out, "status", v["status"], VersionStatus.PUBLISHED.value)
    out["name_zh"] = v["name_zh"]
    _put(out, "name_en", v["name_en"], "")
    out["type"] = v["item_type"]
    out["department"] = departments[v["department_id"]]
    _put(out, "co_handlers", [departments[c["department_id"]] for c in kids["co_handlers"]], [])
    _put(out, "description", v["description"], "")
    if "legal_basis" not in missing:
        bases = []
        for b in kids["legal_bases"]:
            basis = {"law": b["law"]}
            _put(basis, "article", b["article"], "")
            _put(basis, "text", b["text"], "")
            bases.append(basis)
        out["legal_basis"] = bases
    conditions = []
    for c in v["conditions"]:
        condition = {"zh": c["zh"]}
        _put(condition, "en", c.get("en", ""), "")
        conditions.append(condition)
    _put(out, "conditions", conditions, [])
    if "materials" not in missing:
        materials = []
        for m in kids["materials"]:
            material = {"code": m["code"], "name_zh": m["name_zh"]}
            _put(material, "name_en", m["name_en"], "")
            _put(material, "necessity", m["necessity"], Necessity.REQUIRED.value)
            _put(material, "format", m["format"], MaterialFormat.BOTH.value)
            _put(material, "copies", m["copies"], 1)
            _put(material, "source", m["source"], MaterialSource.APPLICANT.value)
            _put(material, "source_ref", m["source_ref"], "")
            _put(material, "elements", list(m["element_codes"]), [])
            materials.append(material)
        out["materials"] = materials
    form = []
    for f in kids["form_fields"]:
        field = {"code": f["code"], "label_zh": f["label_zh"]}
        _put(field, "label_en", f["label_en"], "")
        field["element"] = elements[f["element_id"]]
        _put(field, "required", bool(f["required"]), True)
        form.append(field)
    _put(out, "form", form, [])
    if "steps" not in missing:
        steps = []
        for s in kids["steps"]:
            step = {"code": s["code"], "kind": s["kind"], "name_zh": s["name_zh"]}
            _put(step, "name_en", s["name_en"], "")
            step["responsible"] = s["responsible"]
            _put(step, "limit_days", s["limit_days"], 0)
            steps.append(step)
        out["steps"] = steps
    if v["legal_limit_days"] is not None and v["promised_limit_days"] is not None:
        out["time_limit"] = {"legal": v["legal_limit_days"], "promised": v["promised_limit_days"]}
    fees = []
    for f in v["fees"]:
        fee = {"name_zh": f["name_zh"]}
        _put(fee, "name_en", f.get("name_en", ""), "")
        fee["amount_fen"] = f["amount_fen"]
        _put(fee, "basis", f.get("basis", ""), "")
        fees.append(fee)
    _put(out, "fees", fees, [])
    _put(out, "channels", list(v["channels"]), [])
    outputs = []
    for o in kids["outputs"]:
        output = {"code": o["code"], "name_zh": o["name_zh"]}
        _put(output, "name_en", o["name_en"], "")
        output["kind"] = o["kind"]
        _put(output, "e_licence", bool(o["e_licence"]), False)
        _put(output, "elements", list(o["element_codes"]), [])
        outputs.append(output)
    _put(out, "outputs", outputs, [])
    _put(out, "visits", v["visits"], None)
    return out


def element_to_in(element: DataElement, departments: dict[int, str]) -> ElementIn:
    return ElementIn(
        code=element.code,
        name_zh=element.name_zh,
        name_en=element.name_en,
        type=element.data_type,
        format=element.format,
        max_length=element.max_length,
        allowed_values=list(element.allowed_values),
        validator=element.validator,
        source_department=(
            departments[element.source_department_id] if element.source_department_id else None
        ),
        description=element.description,
        applicant_field=element.applicant_field,
    )


def version_values(
    item: ItemIn, lookups: Lookups
) -> tuple[dict[str, Any], dict[type[Any], list[dict[str, Any]]]]:
    """An item's content as the column values of its version and of its child rows (by
    model, each without ``version_id``): what ``_fill_version`` writes, for a bulk insert."""
    values: dict[str, Any] = {
        "name_zh": item.name_zh,
        "name_en": item.name_en,
        "item_type": item.type.value,
        "department_id": lookups.departments[item.department].id,
        "description": item.description,
        "legal_limit_days": item.time_limit.legal if item.time_limit else None,
        "promised_limit_days": item.time_limit.promised if item.time_limit else None,
        "visits": item.visits,
        "not_recorded": [p for p in LIST_PARTS if getattr(item, p) is None],
        "channels": [c.value for c in item.channels],
        "conditions": [c.model_dump() for c in item.conditions],
        "fees": [f.model_dump() for f in item.fees],
    }
    children: dict[type[Any], list[dict[str, Any]]] = {
        CoHandler: [
            {"position": i, "department_id": lookups.departments[code].id}
            for i, code in enumerate(item.co_handlers)
        ],
        LegalBasis: [
            {"position": i, "law": b.law, "article": b.article, "text": b.text}
            for i, b in enumerate(item.legal_basis or ())
        ],
        Material: [
            {
                "position": i,
                "code": m.code,
                "name_zh": m.name_zh,
                "name_en": m.name_en,
                "necessity": m.necessity.value,
                "format": m.format.value,
                "copies": m.copies,
                "source": m.source.value,
                "source_ref": m.source_ref,
                "element_codes": list(m.elements),
            }
            for i, m in enumerate(item.materials or ())
        ],
        FormField: [
            {
                "position": i,
                "code": f.code,
                "label_zh": f.label_zh,
                "label_en": f.label_en,
                "element_id": lookups.elements[f.element].id,
                "required": f.required,
            }
            for i, f in enumerate(item.form)
        ],
        ProcessStep: [
            {
                "position": i,
                "code": s.code,
                "kind": s.kind.value,
                "name_zh": s.name_zh,
                "name_en": s.name_en,
                "responsible": s.responsible,
                "limit_days": s.limit_days,
            }
            for i, s in enumerate(item.steps or ())
        ],
        Output: [
            {
                "position": i,
                "code": o.code,
                "name_zh": o.name_zh,
                "name_en": o.name_en,
                "kind": o.kind.value,
                "e_licence": o.e_licence,
                "element_codes": list(o.elements),
            }
            for i, o in enumerate(item.outputs)
        ],
    }
    return values, children


def _fill_version(version: ItemVersion, item: ItemIn, lookups: Lookups) -> None:
    """Write an item's content into a (new or draft) version, replacing its child rows."""
    values, children = version_values(item, lookups)
    for key, value in values.items():
        setattr(version, key, value)
    version.co_handlers = [CoHandler(**row) for row in children[CoHandler]]
    version.legal_bases = [LegalBasis(**row) for row in children[LegalBasis]]
    version.materials = [Material(**row) for row in children[Material]]
    version.form_fields = [FormField(**row) for row in children[FormField]]
    version.steps = [ProcessStep(**row) for row in children[ProcessStep]]
    version.outputs = [Output(**row) for row in children[Output]]


def _fill_element(element: DataElement, data: ElementIn, lookups: Lookups) -> None:
    element.name_zh = data.name_zh
    element.name_en = data.name_en
    element.data_type = data.type.value
    element.format = data.format
    element.max_length = data.max_length
    element.allowed_values = list(data.allowed_values)
    element.validator = data.validator.value
    element.source_department_id = (
        lookups.departments[data.source_department].id if data.source_department else None
    )
    element.description = data.description
    element.applicant_field = data.applicant_field.value if data.applicant_field else None
