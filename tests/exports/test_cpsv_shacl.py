"""The CPSV-AP export of the demo county (catalogue and one-thing bundles) validates against the
official CPSV-AP 3.2.0 SHACL shapes, used unchanged from ``../shared/standards``.

The shapes and the vocabulary are SEMIC's files (``releases/3.2.0/shacl`` and ``releases/3.2.0/rdf``
of the CPSV-AP repository); the test skips if they are not on this machine
(``TONGBAN_CPSV_AP_SHAPES`` names another folder holding the two files)."""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tongban.demo.loader import load_demo

pyshacl = pytest.importorskip("pyshacl")
rdflib = pytest.importorskip("rdflib")

#: ../shared/standards beside the project (the checkout's parent), or TONGBAN_CPSV_AP_SHAPES
STANDARDS = Path(
    os.environ.get(
        "TONGBAN_CPSV_AP_SHAPES",
        Path(__file__).resolve().parents[3] / "shared" / "standards" / "cpsv-ap-3.2.0",
    )
)
SHAPES = STANDARDS / "cpsv-ap-SHACL.ttl"
VOCABULARY = STANDARDS / "cpsv-ap.ttl"
SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")
BASE = "https://zwfw.example.gov.cn/qx/"
#: IRIs of the export that are not ours: the EU currency authority table
FOREIGN = ("http://publications.europa.eu/resource/authority/currency",)
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


@pytest.fixture
def demo_client(
    client: TestClient, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    from tongban.config import get_settings

    monkeypatch.setenv("TONGBAN_UPLOAD_DIR", str(tmp_path / "uploads"))
    monkeypatch.setenv("TONGBAN_PUBLIC_BASE_URL", BASE.rstrip("/"))
    get_settings.cache_clear()
    load_demo(session=session)
    session.commit()
    yield client
    monkeypatch.undo()
    get_settings.cache_clear()


def _grouped(report: rdflib.Graph) -> list[tuple[int, str, str, str]]:
    """The results as (count, source shape, result path, a message), most frequent first: one
    group per shape, path and constraint (the messages name each focus node)."""
    counts: Counter[tuple[str, str, str]] = Counter()
    sample: dict[tuple[str, str, str], str] = {}
    for result in report.subjects(rdflib.RDF.type, SH.ValidationResult):
        shape = str(report.value(result, SH.sourceShape)).rsplit("#", 1)[-1].split("/", 1)[0]
        path = str(report.value(result, SH.resultPath))
        component = str(report.value(result, SH.sourceConstraintComponent)).rsplit("#", 1)[-1]
        key = (shape, path, component)
        counts[key] += 1
        sample.setdefault(key, str(report.value(result, SH.resultMessage)))
    return [(n, key[0], key[1], sample[key]) for key, n in counts.most_common()]


def _shacl_report(data: Any) -> tuple[bool, int, str]:
    shapes = rdflib.Graph().parse(SHAPES, format="turtle")
    vocabulary = rdflib.Graph().parse(VOCABULARY, format="turtle")
    # inference="none": the shapes check explicit types (sh:class) and SEMIC's validator checks the
    # data as it is published. The vocabulary goes in as the ontology graph, so its
    # rdfs:subClassOf axioms are in the graph validated: by SHACL's definition of a class
    # instance, a cv:LifeEvent is then a cv:Event and a cv:PublicOrganisation an org:Organization
    # and a foaf:Agent, and their shapes apply, without entailing anything the data does not say.
    # (The vocabulary declares no rdfs:domain or rdfs:range, so "rdfs" would add only those
    # superclass types, and gives the same report; "none" keeps the test faster.)
    conforms, report, _text = pyshacl.validate(
        data,
        shacl_graph=shapes,
        ont_graph=vocabulary,
        inference="none",
        abort_on_first=False,
        allow_warnings=False,
        meta_shacl=False,
        advanced=False,
    )
    grouped = _grouped(report)
    total = sum(n for n, *_ in grouped)
    lines = "\n".join(f"{n:5}  {shape}  {path}  {message}" for n, shape, path, message in grouped)
    return bool(conforms), total, lines


@pytest.mark.skipif(not SHAPES.exists(), reason=f"no CPSV-AP 3.2.0 shapes in {STANDARDS}")
def test_demo_export_conforms_to_cpsv_ap_shacl(demo_client: TestClient) -> None:
    response = demo_client.get("/api/v1/catalog/export", params={"format": "cpsv-jsonld"})
    assert response.status_code == 200
    data = rdflib.Graph().parse(data=response.text, format="json-ld")
    assert len(data) > 1000  # the demo county, not an empty graph
    conforms, total, lines = _shacl_report(data)
    assert conforms, f"{total} SHACL results:\n{lines}"
    assert total == 0


@pytest.mark.skipif(not SHAPES.exists(), reason=f"no CPSV-AP 3.2.0 shapes in {STANDARDS}")
def test_a_real_county_list_with_its_gaps_conforms(client: TestClient, session: Session) -> None:
    """National codes, Chinese names only, no materials, limits or steps: still a valid CPSV-AP
    description, and no Chinese text is offered as English."""
    import yaml

    from tests.catalog.test_real_county_list import GUANG_AN, LIST
    from tests.factories import make_org
    from tongban.catalog import service as catalog_service
    from tongban.catalog.schemas import CatalogDocument
    from tongban.org import service as org_service
    from tongban.org.schemas import OrgDocument

    make_org(session)
    org_service.load_org(session=session, document=OrgDocument.model_validate(GUANG_AN))
    catalog_service.import_catalog(
        session=session, document=CatalogDocument.model_validate(yaml.safe_load(LIST))
    )
    session.commit()
    response = client.get(
        "/api/v1/catalog/export", params={"format": "cpsv-jsonld", "jurisdiction": "511602"}
    )
    assert response.status_code == 200
    data = rdflib.Graph().parse(data=response.text, format="json-ld")
    services = set(
        data.subjects(rdflib.RDF.type, rdflib.URIRef("http://purl.org/vocab/cpsv#PublicService"))
    )
    assert len(services) == 6
    conforms, total, lines = _shacl_report(data)
    assert conforms, f"{total} SHACL results:\n{lines}"
    tagged_en = [
        str(o) for o in data.objects() if isinstance(o, rdflib.Literal) and o.language == "en"
    ]
    assert [t for t in tagged_en if CJK.search(t)] == []


def test_public_base_url_setting() -> None:
    from pydantic import ValidationError

    from tongban.config import Settings

    assert Settings(public_base_url="https://zwfw.example.gov.cn/qx").public_base() == (
        "https://zwfw.example.gov.cn/qx/"
    )
    assert Settings(public_base_url="", host="127.0.0.1", port=8080).public_base() == (
        "http://127.0.0.1:8080/"
    )
    for bad in ("zwfw.example.gov.cn", "ftp://x/", "https://x/?a=1", "https://x/#f"):
        with pytest.raises(ValidationError):
            Settings(public_base_url=bad)


def test_demo_export_uses_the_public_base_url_and_honest_language_tags(
    demo_client: TestClient,
) -> None:
    response = demo_client.get("/api/v1/catalog/export", params={"format": "cpsv-jsonld"})
    assert "tongban.example" not in response.text
    data = rdflib.Graph().parse(data=response.text, format="json-ld")
    subjects = {str(s) for s in data.subjects() if isinstance(s, rdflib.URIRef)}
    assert subjects
    assert all(s.startswith((BASE, *FOREIGN)) for s in subjects), sorted(
        s for s in subjects if not s.startswith((BASE, *FOREIGN))
    )[:5]
    literals = [o for o in data.objects() if isinstance(o, rdflib.Literal)]
    tagged_en = [str(o) for o in literals if o.language == "en"]
    assert tagged_en
    assert [t for t in tagged_en if CJK.search(t)] == []
    assert {o.language for o in literals if o.language} == {"zh", "en"}
    # Working days are never passed off as calendar-day durations.
    assert not list(data.objects(None, rdflib.URIRef("http://data.europa.eu/m8g/processingTime")))
