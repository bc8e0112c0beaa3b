"""The catalogue as EU CPSV-AP 3.x JSON-LD.

The one-thing events (``CpsvEvent``) are handed in by the caller: the bundles domain makes them,
and the catalogue does not import it (the export is assembled in ``tongban.exports``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from tongban.catalog.schemas import CatalogDocument, ItemIn
from tongban.kit import money

_EU_CURRENCY: Final = "http://publications.europa.eu/resource/authority/currency/"


def _lang(zh: str, en: str = "") -> list[dict[str, str]]:
    out = [{"@language": "zh", "@value": zh}]
    if en:
        out.append({"@language": "en", "@value": en})
    return out


def _yuan(amount_fen: int) -> str:
    """Fen as an exact yuan decimal string: 1250 → "12.50"."""
    return money.yuan_decimal(amount_fen)


def _put(node: dict[str, Any], key: str, value: Any) -> None:
    if value not in (None, "", [], {}):
        node[key] = value


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
    departments: Mapping[str, tuple[str, str]] | None = None,
    events: Sequence[CpsvEvent] = (),
    base_uri: str = "https://tongban.example/",
) -> dict[str, Any]:
    """The catalogue as CPSV-AP 3.x JSON-LD: a ``@graph`` of ``cpsv:PublicService`` items, the
    ``cv:PublicOrganisation``s they name (labelled from ``departments[code] = (zh, en)``), the
    data elements as a ``skos:ConceptScheme``, and the one-thing ``events`` as
    ``cv:LifeEvent``/``cv:BusinessEvent`` that the services name with ``cv:isGroupedBy``.
    Property names follow CPSV-AP 3.2.0; what CPSV-AP has no term for is in the ``tb:``
    namespace (``<base_uri>ns#``)."""
    base = base_uri if base_uri.endswith("/") else base_uri + "/"
    departments = departments or {}
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
        return {"@id": f"{base}vocab/{vocab}/{value}"}

    scheme = f"{base}element"
    graph: list[dict[str, Any]] = [
        {
            "@id": scheme,
            "@type": "skos:ConceptScheme",
            "dct:title": _lang("数据元", "Data elements"),
        }
    ]
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

    for code in sorted(org_codes):
        org: dict[str, Any] = {
            "@id": f"{base}department/{code}",
            "@type": "cv:PublicOrganisation",
            "dct:identifier": code,
        }
        if code in departments:
            name_zh, name_en = departments[code]
            org["skos:prefLabel"] = _lang(name_zh, name_en)
        graph.append(org)

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

    for item in doc.items:
        service = _service(item, base, ref, concept, children)
        _put(service, "cv:isGroupedBy", grouped_by.get(item.implementation_code))
        graph.append(service)
    return {"@context": context, "@graph": graph}


def _service(
    item: ItemIn,
    base: str,
    ref: Callable[[str, str], dict[str, str]],
    concept: Callable[[str, str], dict[str, str]],
    children: Mapping[str, list[str]],
) -> dict[str, Any]:
    code = item.implementation_code
    uri = f"{base}item/{code}"
    limit = item.time_limit
    node: dict[str, Any] = {
        "@id": uri,
        "@type": "cpsv:PublicService",
        "dct:identifier": code,
        "dct:title": _lang(item.name_zh, item.name_en),
        "dct:type": concept("item-type", item.type.value),
        "cv:hasCompetentAuthority": ref("department", item.department),
        "cv:processingTime": {"@type": "xsd:duration", "@value": f"P{limit.promised}D"},
        "tb:processingTimeUnit": "working-day",
        "tb:processingTimeNote": _lang(
            "办理时限按工作日计算，不含法定节假日。",
            "Processing time is counted in working days, excluding public holidays.",
        ),
        "tb:promisedWorkingDays": limit.promised,
        "tb:legalWorkingDays": limit.legal,
        "tb:basicCode": item.basic_code,
        "tb:status": item.status,
        "tb:visits": item.visits,
    }
    _put(node, "dct:description", _lang(item.description) if item.description else None)
    if item.parent:
        node["dct:isPartOf"] = ref("item", item.parent)
    _put(node, "dct:hasPart", [ref("item", child) for child in children.get(code, [])])
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
    for n, basis in enumerate(item.legal_basis, start=1):
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
    for material in item.materials:
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
            for n, step in enumerate(item.steps, start=1)
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
            "cv:hasValue": {"@type": "xsd:decimal", "@value": _yuan(fee.amount_fen)},
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
    departments: Mapping[str, tuple[str, str]] | None = None,
    events: Sequence[CpsvEvent] = (),
    base_uri: str = "https://tongban.example/",
) -> None:
    data = to_cpsv_jsonld(doc, departments=departments, events=events, base_uri=base_uri)
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    Path(path).write_text(text, encoding="utf-8", newline="")
