"""The catalogue as EU CPSV-AP 3.2.0 JSON-LD, valid against the profile's official SHACL shapes.

The one-thing events (``CpsvEvent``) and the departments with their jurisdictions
(``CpsvDepartment``, ``CpsvPlace``) are handed in by the caller: the bundles and org domains make
them, and the catalogue imports neither (the export is assembled in ``tongban.exports``). The
mapping of every field is in docs/catalog-format.md; tests/exports/test_cpsv_shacl.py validates
the demo county's export with pyshacl."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from tongban.catalog import types as item_types
from tongban.catalog.completeness import PARTS
from tongban.catalog.models import Channel, OutputKind
from tongban.catalog.schemas import CatalogDocument, ItemIn
from tongban.kit import money

#: The Publications Office's Currency authority table, which CPSV-AP names for ``cv:currency``.
_EU_CURRENCY_SCHEME: Final = "http://publications.europa.eu/resource/authority/currency"
_EU_CURRENCY: Final = _EU_CURRENCY_SCHEME + "/"
_CJK: Final = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

#: Our code lists as SKOS concept schemes (``<base>vocab/<list>``, each concept
#: ``<base>vocab/<list>/<value>``): CPSV-AP wants every ``dct:type``, ``cv:role`` and the like to be
#: a ``skos:Concept``. The labels are the platform's own (the pages' names of the values).
CODE_LISTS: Final[dict[str, tuple[str, str, dict[str, tuple[str, str]]]]] = {
    "item-type": (
        "事项类型",
        "Item types",
        {rule.type: (rule.zh, rule.en) for rule in item_types.RULES.values()},
    ),
    "channel": (
        "办理渠道",
        "Channels",
        {
            Channel.WINDOW: ("窗口办理", "Service window"),
            Channel.ONLINE: ("网上办理", "Online"),
            Channel.MOBILE: ("掌上办理", "Mobile app"),
            Channel.MAIL: ("邮寄办理", "By post"),
            Channel.SELF_SERVICE: ("自助终端", "Self-service terminal"),
        },
    ),
    "output-kind": (
        "办理结果类型",
        "Kinds of output",
        {
            OutputKind.LICENCE: ("许可证", "Licence"),
            OutputKind.CERTIFICATE: ("证明", "Certificate"),
            OutputKind.DECISION: ("决定书", "Decision document"),
            OutputKind.PAYMENT: ("资金发放", "Funds paid out"),
            OutputKind.RECORD: ("备案", "Record"),
            OutputKind.SERVICE: ("服务", "Service"),
        },
    ),
    "participation-role": (
        "参与角色",
        "Participation roles",
        {"co-handler": ("协办部门", "Co-handling department")},
    ),
}


def _lang(zh: str, en: str = "") -> list[dict[str, str]]:
    """Chinese text tagged ``zh``, and its English ``en`` when there is one. A text offered as
    English that holds Chinese characters is left out rather than tagged ``en``."""
    out = [{"@language": "zh", "@value": zh}]
    if en and not _CJK.search(en):
        out.append({"@language": "en", "@value": en})
    return out


def _days(n: int) -> tuple[str, str]:
    """A time limit in working days, in Chinese and English (0: handled on the spot)."""
    if n == 0:
        return "即办", "on the spot"
    return f"{n}个工作日", f"{n} working day{'s' if n != 1 else ''}"


def _yuan(amount_fen: int) -> str:
    """Fen as an exact yuan decimal string: 1250 → "12.50"."""
    return money.yuan_decimal(amount_fen)


def _put(node: dict[str, Any], key: str, value: Any) -> None:
    if value not in (None, "", [], {}):
        node[key] = value


@dataclass(frozen=True)
class CpsvPlace:
    """A jurisdiction (GB/T 2260 division code), a ``dct:Location`` for the organisations'
    ``dct:spatial``; ``parent`` is the enclosing jurisdiction's code."""

    code: str
    name_zh: str
    name_en: str
    parent: str | None = None


@dataclass(frozen=True)
class CpsvDepartment:
    """A department as CPSV-AP sees it: a ``cv:PublicOrganisation`` of a jurisdiction."""

    name_zh: str
    name_en: str
    jurisdiction: str | None = None


@dataclass(frozen=True)
class CpsvEvent:
    """A one-thing bundle as CPSV-AP sees it: a life event (a citizen's) or a business event
    (an enterprise's) that groups public services. The bundles domain makes these."""

    code: str
    kind: str  # life_event | business_event
    name_zh: str
    name_en: str
    description: str
    items: tuple[str, ...]


def to_cpsv_jsonld(
    doc: CatalogDocument,
    *,
    base_uri: str,
    departments: Mapping[str, CpsvDepartment | tuple[str, str]] | None = None,
    places: Mapping[str, CpsvPlace] | None = None,
    events: Sequence[CpsvEvent] = (),
) -> dict[str, Any]:
    """The catalogue as CPSV-AP 3.2.0 JSON-LD: a ``@graph`` of ``cpsv:PublicService`` items, the
    ``cv:PublicOrganisation``s they name (labelled from ``departments``, each with its
    jurisdiction from ``places`` as ``dct:spatial``), the code lists and the data elements as
    ``skos:ConceptScheme``s, and the one-thing ``events`` as ``cv:LifeEvent``/``cv:BusinessEvent``
    that the services name with ``cv:isGroupedBy``. Every IRI starts with ``base_uri`` (the
    setting ``TONGBAN_PUBLIC_BASE_URL``); what CPSV-AP has no term for is in the ``tb:``
    namespace (``<base_uri>ns#``)."""
    base = base_uri if base_uri.endswith("/") else base_uri + "/"
    depts = {
        code: value if isinstance(value, CpsvDepartment) else CpsvDepartment(*value)
        for code, value in (departments or {}).items()
    }
    places = places or {}
    context = {
        "cpsv": "http://purl.org/vocab/cpsv#",
        "cv": "http://data.europa.eu/m8g/",
        "dct": "http://purl.org/dc/terms/",
        "eli": "http://data.europa.eu/eli/ontology#",
        "foaf": "http://xmlns.com/foaf/0.1/",
        "schema": "https://schema.org/",
        "skos": "http://www.w3.org/2004/02/skos/core#",
        "tb": base + "ns#",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
    }

    def ref(kind: str, code: str) -> dict[str, str]:
        return {"@id": f"{base}{kind}/{code}"}

    def concept(vocab: str, value: str) -> dict[str, str]:
        if value not in CODE_LISTS[vocab][2]:
            raise KeyError(f"{value!r} is not in the code list {vocab!r}")
        return {"@id": f"{base}vocab/{vocab}/{value}"}

    graph: list[dict[str, Any]] = []
    for vocab, (title_zh, title_en, values) in CODE_LISTS.items():
        scheme_id = f"{base}vocab/{vocab}"
        graph.append(
            {
                "@id": scheme_id,
                "@type": "skos:ConceptScheme",
                "dct:title": _lang(title_zh, title_en),
                "skos:hasTopConcept": [{"@id": f"{scheme_id}/{value}"} for value in values],
            }
        )
        graph.extend(
            {
                "@id": f"{scheme_id}/{value}",
                "@type": "skos:Concept",
                "skos:inScheme": {"@id": scheme_id},
                "skos:topConceptOf": {"@id": scheme_id},
                "skos:notation": str(value),
                "skos:prefLabel": _lang(zh, en),
            }
            for value, (zh, en) in values.items()
        )

    scheme = f"{base}element"
    graph.append(
        {
            "@id": scheme,
            "@type": "skos:ConceptScheme",
            "dct:title": _lang("数据元", "Data elements"),
        }
    )
    org_codes: set[str] = set()
    for element in doc.elements:
        node: dict[str, Any] = {
            "@id": f"{base}element/{element.code}",
            "@type": "skos:Concept",
            "skos:inScheme": {"@id": scheme},
            "skos:notation": element.code,
            "skos:prefLabel": _lang(element.name_zh, element.name_en),
            "tb:dataType": element.type.value,
            "tb:validator": element.validator.value,
        }
        _put(node, "skos:definition", _lang(element.description) if element.description else None)
        _put(node, "tb:format", element.format)
        _put(node, "tb:maxLength", element.max_length)
        _put(node, "tb:allowedValues", list(element.allowed_values))
        if element.source_department:
            org_codes.add(element.source_department)
            node["tb:sourceDepartment"] = ref("department", element.source_department)
        graph.append(node)

    children: dict[str, list[str]] = {}
    for item in doc.items:
        if item.parent:
            children.setdefault(item.parent, []).append(item.implementation_code)
        org_codes.add(item.department)
        org_codes.update(item.co_handlers)

    place_codes: set[str] = set()
    for code in sorted(org_codes):
        org: dict[str, Any] = {
            "@id": f"{base}department/{code}",
            "@type": "cv:PublicOrganisation",
            "dct:identifier": code,
        }
        dept = depts.get(code)
        if dept is not None:
            org["skos:prefLabel"] = _lang(dept.name_zh, dept.name_en)
            org["dct:title"] = _lang(dept.name_zh, dept.name_en)
            if dept.jurisdiction:
                org["dct:spatial"] = ref("jurisdiction", dept.jurisdiction)
                place_codes.add(dept.jurisdiction)
        graph.append(org)

    graph.extend(_places(place_codes, places, base))

    grouped_by: dict[str, list[dict[str, str]]] = {}
    for event in sorted(events, key=lambda e: e.code):
        node = {
            "@id": f"{base}event/{event.code}",
            "@type": "cv:BusinessEvent" if event.kind == "business_event" else "cv:LifeEvent",
            "dct:identifier": event.code,
            "dct:title": _lang(event.name_zh, event.name_en),
        }
        _put(node, "dct:description", _lang(event.description) if event.description else None)
        graph.append(node)
        for code in event.items:
            grouped_by.setdefault(code, []).append(ref("event", event.code))

    if any(item.fees for item in doc.items):
        graph.append({"@id": _EU_CURRENCY_SCHEME, "@type": "skos:ConceptScheme"})
        graph.append(
            {
                "@id": _EU_CURRENCY + "CNY",
                "@type": "skos:Concept",
                "skos:inScheme": {"@id": _EU_CURRENCY_SCHEME},
                "skos:notation": "CNY",
                "skos:prefLabel": _lang("人民币", "Yuan Renminbi"),
            }
        )

    for item in doc.items:
        dept = depts.get(item.department)
        service = _service(item, base, ref, concept, children, dept)
        _put(service, "cv:isGroupedBy", grouped_by.get(item.implementation_code))
        graph.append(service)
    return {"@context": context, "@graph": graph}


def _places(codes: set[str], places: Mapping[str, CpsvPlace], base: str) -> list[dict[str, Any]]:
    """The jurisdictions ``codes`` name and those enclosing them, as a concept scheme of our
    own (CPSV-AP: "if those are still not sufficient, define your own code list"): each a
    ``dct:Location`` and a ``skos:Concept`` with its division code and ``skos:broader``."""
    wanted: set[str] = set()
    for code in codes:
        seen = code
        while seen and seen not in wanted:
            wanted.add(seen)
            parent = places.get(seen)
            seen = parent.parent if parent is not None and parent.parent else ""
    if not wanted:
        return []
    scheme = f"{base}jurisdiction"
    out: list[dict[str, Any]] = [
        {
            "@id": scheme,
            "@type": "skos:ConceptScheme",
            "dct:title": _lang("行政区划", "Jurisdictions"),
        }
    ]
    for code in sorted(wanted):
        node: dict[str, Any] = {
            "@id": f"{scheme}/{code}",
            "@type": ["dct:Location", "skos:Concept"],
            "skos:inScheme": {"@id": scheme},
            "skos:notation": code,
        }
        place = places.get(code)
        if place is not None:
            node["skos:prefLabel"] = _lang(place.name_zh, place.name_en)
            if place.parent and place.parent in wanted:
                node["skos:broader"] = {"@id": f"{scheme}/{place.parent}"}
        out.append(node)
    return out


def _description(item: ItemIn, dept: CpsvDepartment | None) -> list[dict[str, str]]:
    """The item's description (CPSV-AP requires one) followed by its time limits, which are
    working days: ``cv:processingTime`` is an ``xsd:duration``, whose days are calendar days, so
    the limits are said here (and given as numbers in ``tb:promisedWorkingDays`` and
    ``tb:legalWorkingDays``) instead. An item without a description of its own is described by
    its name and department; the English text is composed from the English names."""
    limit = item.time_limit
    if limit is None:
        days_zh = "办结时限尚未录入。"
        days_en = "Time limits not yet recorded."
    else:
        promised_zh, promised_en = _days(limit.promised)
        legal_zh, legal_en = _days(limit.legal)
        days_zh = (
            f"承诺办结时限：{promised_zh}；法定办结时限：{legal_zh}"
            "（按工作日计算，不含休息日和法定节假日）。"
        )
        days_en = (
            f"Promised processing time: {promised_en}; legal time limit: {legal_en} "
            "(working days of the official calendar, not calendar days)."
        )
    by_zh = f"，由{dept.name_zh}办理" if dept is not None else ""
    by_en = f", handled by the {dept.name_en}" if dept is not None and dept.name_en else ""
    own = item.description.strip()
    zh = f"{own}\n\n{days_zh}" if own else f"{item.name_zh}{by_zh}。{days_zh}"
    # No English name, no English description: a Chinese text is never offered as English.
    en = f"{item.name_en}{by_en}. {days_en}" if item.name_en else ""
    return _lang(zh, en)


def _service(
    item: ItemIn,
    base: str,
    ref: Callable[[str, str], dict[str, str]],
    concept: Callable[[str, str], dict[str, str]],
    children: Mapping[str, list[str]],
    dept: CpsvDepartment | None,
) -> dict[str, Any]:
    code = item.implementation_code
    uri = f"{base}item/{code}"
    limit = item.time_limit
    node: dict[str, Any] = {
        "@id": uri,
        "@type": "cpsv:PublicService",
        "dct:identifier": code,
        "dct:title": _lang(item.name_zh, item.name_en),
        "dct:description": _description(item, dept),
        "dct:type": concept("item-type", item.type.value),
        "cv:hasCompetentAuthority": ref("department", item.department),
        "tb:basicCode": item.basic_code,
        "tb:status": item.status,
    }
    if limit is not None:
        node["tb:promisedWorkingDays"] = limit.promised
        node["tb:legalWorkingDays"] = limit.legal
    _put(node, "tb:visits", item.visits)
    _put(node, "tb:notRecorded", [p for p in PARTS if getattr(item, p) is None])
    # A sub-item (办理项) and its main item: CPSV-AP keeps dct:isPartOf for the dcat:Dataset a
    # service is described in, so the main item names its sub-items with dct:hasPart, and both
    # name each other with cv:relatedService, the profile's link between public services.
    subs = [ref("item", child) for child in children.get(code, [])]
    _put(node, "dct:hasPart", subs)
    related = ([ref("item", item.parent)] if item.parent else []) + subs
    _put(node, "cv:relatedService", related)
    if item.parent:
        node["tb:mainItem"] = ref("item", item.parent)
    _put(
        node,
        "cv:hasParticipation",
        [
            {
                "@id": f"{uri}/participation/{dept}",
                "@type": "cv:Participation",
                "dct:identifier": f"{code}/participation/{dept}",
                "dct:description": _lang("协办部门", "Co-handling department"),
                "cv:role": concept("participation-role", "co-handler"),
                "cv:hasParticipant": ref("department", dept),
            }
            for dept in item.co_handlers
        ],
    )
    legal: list[dict[str, Any]] = []
    for n, basis in enumerate(item.legal_basis or (), start=1):
        entry: dict[str, Any] = {
            "@id": f"{uri}/legal-resource/{n}",
            "@type": "eli:LegalResource",
            "dct:title": _lang(basis.law),
        }
        _put(entry, "tb:article", basis.article)
        _put(entry, "dct:description", _lang(basis.text) if basis.text else None)
        legal.append(entry)
    _put(node, "cv:hasLegalResource", legal)
    _put(
        node,
        "cv:holdsRequirement",
        [
            {
                "@id": f"{uri}/requirement/{n}",
                "@type": "cv:Requirement",
                "dct:identifier": f"{code}/requirement/{n}",
                "dct:title": _lang(condition.zh, condition.en),
            }
            for n, condition in enumerate(item.conditions, start=1)
        ],
    )
    evidence: list[dict[str, Any]] = []
    for material in item.materials or ():
        entry = {
            "@id": f"{uri}/evidence/{material.code}",
            "@type": "cv:Evidence",
            "dct:identifier": material.code,
            "dct:title": _lang(material.name_zh, material.name_en),
            "tb:necessity": material.necessity.value,
            "tb:format": material.format.value,
            "tb:copies": material.copies,
            "tb:source": material.source.value,
        }
        _put(entry, "tb:sourceRef", material.source_ref)
        _put(entry, "tb:dataElement", [ref("element", el) for el in material.elements])
        evidence.append(entry)
    _put(node, "cpsv:hasInput", evidence)
    _put(
        node,
        "tb:formField",
        [
            {
                "@id": f"{uri}/form/{field.code}",
                "@type": "schema:PropertyValueSpecification",
                "schema:valueName": field.code,
                "schema:name": _lang(field.label_zh, field.label_en),
                "schema:valueRequired": field.required,
                "tb:dataElement": ref("element", field.element),
            }
            for field in item.form
        ],
    )
    _put(
        node,
        "tb:step",
        [
            {
                "@id": f"{uri}/step/{step.code}",
                "@type": "schema:HowToStep",
                "dct:identifier": step.code,
                "schema:position": n,
                "schema:name": _lang(step.name_zh, step.name_en),
                "tb:stepKind": step.kind.value,
                "tb:responsible": step.responsible,
                "tb:limitWorkingDays": step.limit_days,
            }
            for n, step in enumerate(item.steps or (), start=1)
        ],
    )
    outputs: list[dict[str, Any]] = []
    for output in item.outputs:
        entry = {
            "@id": f"{uri}/output/{output.code}",
            "@type": "cv:Output",
            "dct:identifier": output.code,
            "dct:title": _lang(output.name_zh, output.name_en),
            "dct:type": concept("output-kind", output.kind.value),
            "tb:eLicence": output.e_licence,
        }
        _put(entry, "tb:dataElement", [ref("element", el) for el in output.elements])
        outputs.append(entry)
    _put(node, "cpsv:produces", outputs)
    costs: list[dict[str, Any]] = []
    for n, fee in enumerate(item.fees, start=1):
        entry = {
            "@id": f"{uri}/cost/{n}",
            "@type": "cv:Cost",
            "dct:identifier": f"{code}/cost/{n}",
            "dct:description": _lang(fee.name_zh, fee.name_en),
            # The shape wants an xsd:double; its lexical form is the exact yuan amount, and the
            # exact integer fen stay in tb:amountFen.
            "cv:hasValue": {"@type": "xsd:double", "@value": _yuan(fee.amount_fen)},
            "cv:currency": {"@id": _EU_CURRENCY + "CNY"},
            "tb:amountFen": fee.amount_fen,
        }
        _put(entry, "tb:basis", fee.basis)
        costs.append(entry)
    _put(node, "cv:hasCost", costs)
    _put(
        node,
        "cv:hasChannel",
        [
            {
                "@id": f"{uri}/channel/{channel.value}",
                "@type": "cv:Channel",
                "dct:identifier": f"{code}/channel/{channel.value}",
                "dct:type": concept("channel", channel.value),
            }
            for channel in item.channels
        ],
    )
    return node


def write_jsonld(
    doc: CatalogDocument,
    path: Path,
    *,
    base_uri: str,
    departments: Mapping[str, CpsvDepartment | tuple[str, str]] | None = None,
    places: Mapping[str, CpsvPlace] | None = None,
    events: Sequence[CpsvEvent] = (),
) -> None:
    data = to_cpsv_jsonld(
        doc, base_uri=base_uri, departments=departments, places=places, events=events
    )
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    Path(path).write_text(text, encoding="utf-8", newline="")
