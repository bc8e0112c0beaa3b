"""The demo county's data files: they validate, and their cross-references hold."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

import tongban
from tongban.auth.models import Role
from tongban.catalog.completeness import item_gaps
from tongban.catalog.models import ElementType, MaterialSource, Validator
from tongban.catalog.schemas import CatalogDocument, ItemIn
from tongban.kit.ids import parent_division_code, validate_uscc
from tongban.org.schemas import JurisdictionIn, OrgDocument

DATA = Path(tongban.__file__).parent / "demo" / "data"
COUNTY = "990123"
LEVEL_UNITS = {"township", "village", "county", "applicant"}
MODULES = {"decision", "approval", "grassroots", "enforcement", "resources", "evaluation"}
REQUIRED_COUNTY_DEPARTMENTS = {
    "QX-BB", "QX-ZZB", "QX-RSJ", "QX-YBJ", "QX-GJJ", "QX-ZRZY", "QX-ZJJ", "QX-CL", "QX-MZJ",
    "QX-CZJ", "QX-JXJ", "QX-SCJ", "QX-YJJ", "QX-STHJ", "QX-XF", "QX-GAJ", "QX-SWJ", "QX-DATA",
    "QX-ZHZF", "QX-WJJ", "QX-TJJ", "QX-WATER", "QX-POWER", "QX-GAS", "QX-TV", "QX-BROADBAND",
}  # fmt: skip


def _load(name: str) -> Any:
    with (DATA / name).open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def org() -> OrgDocument:
    return OrgDocument.model_validate(_load("org.yaml"))


@pytest.fixture(scope="module")
def catalog() -> CatalogDocument:
    return CatalogDocument.model_validate(_load("catalog.yaml"))


@pytest.fixture(scope="module")
def departments(org: OrgDocument) -> dict[str, str]:
    """Department code -> jurisdiction code."""
    return {d.code: d.jurisdiction for d in org.departments}


@pytest.fixture(scope="module")
def items(catalog: CatalogDocument) -> dict[str, ItemIn]:
    return {i.implementation_code: i for i in catalog.items}


def _walk(nodes: list[JurisdictionIn]) -> list[tuple[JurisdictionIn, JurisdictionIn | None]]:
    out: list[tuple[JurisdictionIn, JurisdictionIn | None]] = []

    def visit(node: JurisdictionIn, parent: JurisdictionIn | None) -> None:
        out.append((node, parent))
        for child in node.children:
            visit(child, node)

    for node in nodes:
        visit(node, None)
    return out


def _county(org: OrgDocument) -> JurisdictionIn:
    return next(node for node, _ in _walk(org.jurisdictions) if node.code == COUNTY)


# ------------------------------------------------------------------ organisation


def test_files_declare_their_formats() -> None:
    assert _load("org.yaml")["format"] == "tongban-org/1"
    assert _load("catalog.yaml")["format"] == "tongban-catalog/1"


def test_jurisdiction_tree_is_province_city_county(org: OrgDocument) -> None:
    assert [j.code for j in org.jurisdictions] == ["990000"]
    province = org.jurisdictions[0]
    assert province.name_zh == "明江省"
    city = next(c for c in province.children if c.code == "990100")
    assert city.name_zh == "云州市"
    county = next(c for c in city.children if c.code == COUNTY)
    assert county.name_zh == "青溪县"


def test_every_jurisdiction_is_a_direct_subdivision_of_its_parent(org: OrgDocument) -> None:
    walked = _walk(org.jurisdictions)
    codes = [node.code for node, _ in walked]
    assert len(codes) == len(set(codes))
    for node, parent in walked:
        expected = parent.code if parent else None
        assert parent_division_code(node.code) == expected, node.code


def test_county_has_townships_with_villages(org: OrgDocument) -> None:
    townships = _county(org).children
    assert len(townships) >= 9
    assert all(len(t.code) == 9 for t in townships)
    assert any(t.name_zh.endswith("街道") for t in townships)
    assert any(t.name_zh.endswith(("镇", "乡")) for t in townships)
    for township in townships:
        assert 2 <= len(township.children) <= 3, township.code
        assert all(len(v.code) == 12 for v in township.children)


def test_departments_are_unique_and_placed_in_known_jurisdictions(org: OrgDocument) -> None:
    codes = [d.code for d in org.departments]
    assert len(codes) == len(set(codes))
    known = {node.code for node, _ in _walk(org.jurisdictions)}
    assert {d.jurisdiction for d in org.departments} <= known


def test_county_departments(departments: dict[str, str]) -> None:
    county = {code for code, jurisdiction in departments.items() if jurisdiction == COUNTY}
    assert len(county) >= 18
    assert county >= REQUIRED_COUNTY_DEPARTMENTS
    above = [code for code, jurisdiction in departments.items() if len(jurisdiction) == 6]
    assert len([c for c in above if departments[c] in ("990000", "990100")]) >= 2


def test_each_township_has_one_service_office(org: OrgDocument) -> None:
    townships = {t.code for t in _county(org).children}
    offices = Counter(d.jurisdiction for d in org.departments if d.jurisdiction in townships)
    assert set(offices) == townships
    assert set(offices.values()) == {1}
    assert "990123001" == next(
        d.jurisdiction for d in org.departments if d.code == "QX-T001-OFFICE"
    )


def test_department_usccs_carry_valid_check_characters(org: OrgDocument) -> None:
    usccs = [d.uscc for d in org.departments if d.uscc is not None]
    for value in usccs:
        validate_uscc(value)
    assert len(usccs) == len(set(usccs))


def test_six_modules_cover_every_county_department(
    org: OrgDocument, departments: dict[str, str]
) -> None:
    assert {m.code for m in org.modules} == MODULES
    membership: Counter[str] = Counter()
    for module in org.modules:
        assert module.description_zh, module.code
        assert module.description_en, module.code
        assert len(module.departments) >= 3, module.code
        assert set(module.departments) <= set(departments), module.code
        membership.update(module.departments)
    county = {code for code, jurisdiction in departments.items() if jurisdiction == COUNTY}
    assert county <= set(membership)
    assert len([code for code in county if membership[code] >= 2]) >= 8


def test_every_role_has_a_demo_user(org: OrgDocument) -> None:
    roles = {grant.role for user in org.users for grant in user.grants}
    assert roles == set(Role)
    assert {user.password for user in org.users} == {"demo-pass-2026"}
    names = [user.username for user in org.users]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    ("username", "role", "jurisdiction", "department"),
    [
        ("reform", Role.REFORM_OFFICE, COUNTY, None),
        ("reform.city", Role.REFORM_OFFICE, "990100", None),
        ("officer.rsj", Role.OFFICER, COUNTY, "QX-RSJ"),
        ("officer.zjj", Role.OFFICER, COUNTY, "QX-ZJJ"),
        ("officer.ybj", Role.OFFICER, COUNTY, "QX-YBJ"),
        ("officer.cl", Role.OFFICER, COUNTY, "QX-CL"),
        ("officer.jxj", Role.OFFICER, COUNTY, "QX-JXJ"),
        ("township.t001", Role.TOWNSHIP_WORKER, "990123001", "QX-T001-OFFICE"),
        ("committee.jxj", Role.COMMITTEE_MEMBER, COUNTY, "QX-JXJ"),
        ("data.admin", Role.DATA_ADMIN, COUNTY, "QX-DATA"),
        ("observer", Role.OBSERVER, COUNTY, None),
        ("sysadmin", Role.SYSADMIN, "990000", None),
    ],
)
def test_named_demo_users(
    org: OrgDocument, username: str, role: Role, jurisdiction: str, department: str | None
) -> None:
    user = next(u for u in org.users if u.username == username)
    assert [(g.role, g.jurisdiction, g.department) for g in user.grants] == [
        (role, jurisdiction, department)
    ]


def test_front_desk_sits_in_a_service_centre(org: OrgDocument) -> None:
    user = next(u for u in org.users if u.username == "frontdesk")
    (grant,) = user.grants
    assert grant.role is Role.FRONT_DESK
    assert grant.jurisdiction == COUNTY
    assert grant.department in ("QX-DATA", "QX-ZWFW")


def test_user_grants_name_known_places(org: OrgDocument, departments: dict[str, str]) -> None:
    known = {node.code for node, _ in _walk(org.jurisdictions)}
    for user in org.users:
        for grant in user.grants:
            assert grant.jurisdiction in known, user.username
            if grant.department is not None:
                assert grant.department in departments, user.username


# ------------------------------------------------------------------ catalogue


def test_catalogue_sizes(catalog: CatalogDocument) -> None:
    assert 60 <= len(catalog.elements) <= 100
    assert len(catalog.items) >= 48
    codes = [i.implementation_code for i in catalog.items]
    assert len(codes) == len(set(codes))
    elements = [e.code for e in catalog.elements]
    assert len(elements) == len(set(elements))
    # the data_element table keeps codes in 32 characters
    assert max(len(code) for code in elements) <= 32


def test_elements_use_the_right_validators(catalog: CatalogDocument) -> None:
    by_code = {e.code: e for e in catalog.elements}
    assert by_code["DE.ID_NO"].validator is Validator.RESIDENT_ID
    assert by_code["DE.USCC"].validator is Validator.USCC
    assert by_code["DE.PHONE"].validator is Validator.PHONE
    assert by_code["DE.BIRTH_DATE"].validator is Validator.DATE
    assert by_code["DE.DISABILITY_GRADE"].type is ElementType.ENUM
    assert by_code["DE.DISABILITY_GRADE"].allowed_values == ["一级", "二级", "三级", "四级"]
    assert by_code["DE.HOUSEHOLD_INCOME"].type is ElementType.MONEY
    for element in catalog.elements:
        if element.type is ElementType.MONEY:
            assert element.validator is Validator.MONEY_FEN, element.code
        if element.type is ElementType.DATE:
            assert element.validator is Validator.DATE, element.code


def test_authoritative_sources(catalog: CatalogDocument) -> None:
    source = {e.code: e.source_department for e in catalog.elements}
    assert source["DE.ID_NO"] == "QX-GAJ"
    assert source["DE.PROPERTY_CERT_NO"] == "QX-ZRZY"
    assert source["DE.DISABILITY_CERT_NO"] == "QX-CL"
    assert source["DE.USCC"] == "QX-SCJ"
    assert source["DE.HOUSEHOLD_INCOME"] in ("QX-MZJ", "QX-SWJ")
    assert source["DE.INDUSTRIAL_OUTPUT"] == "QX-TJJ"


def test_every_department_in_the_catalogue_exists(
    catalog: CatalogDocument, departments: dict[str, str]
) -> None:
    for element in catalog.elements:
        if element.source_department is not None:
            assert element.source_department in departments, element.code
    for item in catalog.items:
        where = item.implementation_code
        assert item.department in departments, where
        assert set(item.co_handlers) <= set(departments), where
        assert item.department not in item.co_handlers, where
        for step in item.steps or ():
            assert step.responsible in departments or step.responsible in LEVEL_UNITS, where
        for material in item.materials or ():
            if material.source is MaterialSource.SHARED_DATA:
                assert material.source_ref in departments, (where, material.code)


def test_every_referenced_element_exists(catalog: CatalogDocument) -> None:
    known = {e.code for e in catalog.elements}
    used: set[str] = set()
    for item in catalog.items:
        for form_field in item.form:
            used.add(form_field.element)
        for material in item.materials or ():
            used.update(material.elements)
        for output in item.outputs:
            used.update(output.elements)
    assert used <= known
    # and almost every element is used somewhere
    assert len(known - used) <= 5


def test_parents_come_earlier_and_are_main_items(catalog: CatalogDocument) -> None:
    seen: set[str] = set()
    children = 0
    for item in catalog.items:
        if item.parent is not None:
            assert item.parent in seen, item.implementation_code
            children += 1
        seen.add(item.implementation_code)
    parents = {i.parent for i in catalog.items if i.parent}
    assert all(
        next(i for i in catalog.items if i.implementation_code == p).parent is None for p in parents
    )
    assert children >= 10
    assert len(parents) >= 3


def test_item_output_sources_name_real_outputs(items: dict[str, ItemIn]) -> None:
    count = 0
    for item in items.values():
        for material in item.materials or ():
            if material.source is not MaterialSource.ITEM_OUTPUT:
                continue
            code, _, output = material.source_ref.partition("#")
            assert code in items, (item.implementation_code, material.source_ref)
            assert code != item.implementation_code
            if output:
                assert output in {o.code for o in items[code].outputs}, material.source_ref
            count += 1
    assert count >= 10


def test_published_items_can_be_published(catalog: CatalogDocument) -> None:
    for item in catalog.items:
        assert item.status == "published"
        assert item.steps, item.implementation_code
        if item.type.value not in ("public_service", "other"):
            assert item.legal_basis, item.implementation_code


def test_step_limits_fit_the_legal_time_limit(catalog: CatalogDocument) -> None:
    for item in catalog.items:
        total = sum(step.limit_days for step in item.steps)
        assert total <= item.time_limit.legal, item.implementation_code
        assert 0 <= item.visits <= 3, item.implementation_code


# ------------------------------------------------------------------ the paper's scenarios


def _by_name(catalog: CatalogDocument, *words: str) -> list[ItemIn]:
    return [i for i in catalog.items if all(w in i.name_zh for w in words)]


def test_property_transfer_registration_issues_an_e_certificate(catalog: CatalogDocument) -> None:
    (main,) = _by_name(catalog, "不动产转移登记")
    assert main.parent is None
    (reg,) = [
        i for i in catalog.items if i.parent == main.implementation_code and "买卖" in i.name_zh
    ]
    assert reg.department == "QX-ZRZY"
    assert "QX-SWJ" in reg.co_handlers
    assert any(o.e_licence and o.kind.value == "certificate" for o in reg.outputs)
    assert any(f.element == "DE.PROPERTY_CERT_NO" for f in reg.form)


@pytest.mark.parametrize(
    ("word", "department"),
    [
        ("用水", "QX-WATER"),
        ("用电", "QX-POWER"),
        ("燃气", "QX-GAS"),
        ("电视", "QX-TV"),
        ("宽带", "QX-BROADBAND"),
    ],
)
def test_utility_transfer_rides_on_the_registration(
    catalog: CatalogDocument, items: dict[str, ItemIn], word: str, department: str
) -> None:
    (utility,) = _by_name(catalog, word, "过户")
    assert utility.department == department
    assert 6 <= len(utility.form) <= 9
    assert 3 <= len(utility.materials) <= 5
    assert 2 <= len(utility.steps) <= 4
    assert 1 <= utility.visits <= 2
    kinds = [s.kind.value for s in utility.steps]
    assert kinds[0] == "acceptance"
    assert kinds[-1] == "delivery"
    # the new certificate comes from the registration item's output
    from_registration = [
        m
        for m in utility.materials
        if m.source is MaterialSource.ITEM_OUTPUT and m.source_ref.startswith("QX-ZRZY-")
    ]
    assert from_registration
    registration = items[from_registration[0].source_ref.partition("#")[0]]
    known = {f.element for f in registration.form}
    for output in registration.outputs:
        known.update(output.elements)
    overlap = [f for f in utility.form if f.element in known]
    assert len(overlap) >= len(utility.form) // 2
    assert sum(m.source is not MaterialSource.APPLICANT for m in utility.materials) >= 2


def test_disability_benefits(catalog: CatalogDocument) -> None:
    benefits = [i for i in catalog.items if i.department == "QX-CL" or "残疾" in i.name_zh]
    assert len(benefits) >= 6
    assert {i.department for i in benefits} >= {"QX-CL", "QX-MZJ", "QX-RSJ", "QX-JYJ"}
    paying = [i for i in benefits if any(o.kind.value == "payment" for o in i.outputs)]
    assert len(paying) >= 6
    for item in paying:
        assert any(s.kind.value == "payment" for s in item.steps), item.implementation_code
        assert any(
            m.source is MaterialSource.E_LICENCE and m.source_ref == "QX-CL-0001#CERT"
            for m in item.materials
        ), item.implementation_code
    township_checks = [
        i
        for i in paying
        if any(
            s.kind.value == "onsite_verification" and s.responsible == "township" for s in i.steps
        )
    ]
    assert len(township_checks) >= 2
    uses_assistance = [
        i
        for i in benefits
        if any(
            m.source_ref == "QX-MZJ" and "DE.ASSISTANCE_STATUS" in m.elements
            for m in i.materials or ()
        )
    ]
    assert uses_assistance


def test_infrastructure_handover(catalog: CatalogDocument) -> None:
    (handover,) = _by_name(catalog, "基础设施", "移交")
    assert handover.department == "QX-ZJJ"
    assert handover.co_handlers
    kinds = [s.kind.value for s in handover.steps]
    assert {"onsite_verification", "e_signature", "delivery"} <= set(kinds)
    assert kinds.index("onsite_verification") < kinds.index("e_signature")
    assert any("竣工" in m.name_zh for m in handover.materials)


def test_technical_renovation_award_keeps_its_collective_decision(catalog: CatalogDocument) -> None:
    (award,) = _by_name(catalog, "技术改造", "奖补")
    assert award.department == "QX-JXJ"
    assert "QX-CZJ" in award.co_handlers
    steps = {(s.kind.value, s.responsible) for s in award.steps}
    assert ("collective_decision", "QX-JXJ") in steps
    assert ("onsite_verification", "township") in steps
    assert any(kind == "automatic_check" for kind, _ in steps)
    assert any(kind == "payment" for kind, _ in steps)


def test_inspections_of_one_restaurant_by_several_departments(catalog: CatalogDocument) -> None:
    inspections = [i for i in catalog.items if i.type.value == "administrative_inspection"]
    departments = {i.department for i in inspections}
    assert len(departments) >= 4
    assert {"QX-SCJ", "QX-XF", "QX-STHJ", "QX-YJJ"} <= departments
    assert all("餐饮" in i.name_zh for i in inspections)
    assert all(i.visits == 0 for i in inspections)


def test_civil_servant_career(catalog: CatalogDocument) -> None:
    events = [i for i in catalog.items if i.parent == "QX-ZZB-0100"]
    names = " ".join(i.name_zh for i in events)
    for event in ("录用", "调任", "转任", "职务职级", "调出", "辞去公职", "辞退", "开除", "退休"):
        assert event in names, event
    assert len(events) == 9
    businesses = [
        i
        for i in catalog.items
        if i.department in {"QX-BB", "QX-RSJ", "QX-YBJ", "QX-GJJ", "QX-CZJ"}
        and "残疾" not in i.name_zh
    ]
    assert len(businesses) >= 10
    text = " ".join(i.name_zh for i in businesses)
    for business in ("入编", "出编", "工资", "养老保险", "医疗保险", "工伤保险", "公积金", "一卡通",
                     "社会保障卡", "子女"):  # fmt: skip
        assert business in text, business
    assert len(events) + len(businesses) >= 12


def test_the_demo_catalogue_is_complete_but_for_its_headings(catalog: CatalogDocument) -> None:
    """Every demo item records what its type needs; the only ones that leave their materials out
    are main items whose sub-items are what one applies for (headings)."""
    parents = {i.parent for i in catalog.items if i.parent}
    incomplete = {i.implementation_code: item_gaps(i) for i in catalog.items if item_gaps(i)}
    assert set(incomplete) <= parents, incomplete
    assert all(gaps == ["materials"] for gaps in incomplete.values()), incomplete
    assert len(incomplete) >= 3
