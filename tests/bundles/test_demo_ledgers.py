"""The demo bundles' reduction ledgers, written out by hand (issue 10).

Every figure (before and after), the unified form's data elements, the materials still asked and
every removed line (figure, item, code, rule, source, amount, promised amount) were counted by
hand from ``src/tongban/demo/data/catalog.yaml`` and ``bundles.yaml`` with the rules of the module
docstring of ``tongban.bundles.compose`` (and ``docs/bundles.md``); the working is in the comments.
A change of the composer or of the demo data that changes a figure fails a test that names it.

Conventions read off the rules (the counts depend on them):

- Members run in dependency order, by stage then list order; a dependency on a member that does
  not apply is dropped.
- A field's element already asked by an earlier member is ``same_element`` (even when a member
  that runs before also produces it); otherwise ``member_output`` when an ancestor's output
  carries it (the first such ancestor in member order), otherwise it is asked.
- A material: ``member_output`` (``item_output`` from an ancestor), ``e_licence`` (an output
  marked ``e_licence`` of a published item), ``shared_data`` (a department of org.yaml); an
  ``item_output`` from a member that does not apply stays asked; then ``same_material``.
- Steps: each member's acceptance and delivery are merged; the first member's becomes the
  bundle's (``BUNDLE#acceptance``/``BUNDLE#delivery``, lane = lead department), the others are
  removed. An acceptance step without ``limit_days`` takes 0 days. When no member has a delivery
  step (disability-benefits) there is no ``BUNDLE#delivery`` and no delivery days line.
- Days: a member's own part = its limit − its own acceptance days − its own delivery days. After
  = bundle acceptance (min) + longest chain of own parts + bundle delivery (min). Where two
  branches are equally long the first member in order is on the critical path (the others are
  ``parallel_review``). A removed days line with 0 legal and 0 promised days is not listed.
- Visits: one submit trip, one collect trip (unless every collecting member delivers remotely),
  plus each member's trips beyond 2.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tongban.bundles import service as bundle_service
from tongban.bundles.compose import Ledger
from tongban.config import get_settings
from tongban.demo.loader import load_demo

Line = tuple[str, str, str, str, str, int, int]  # figure, item, code, rule, source, days, promised

ZJJ, SWJ, ZRZY = "QX-ZJJ-0201", "QX-SWJ-0001", "QX-ZRZY-0101"
WATER, POWER, GAS, BROADBAND = "QX-WATER-0001", "QX-POWER-0001", "QX-GAS-0001", "QX-BROADBAND-0001"
ZZB_RECRUIT, ZZB_OUT, ZZB_RETIRE = "QX-ZZB-0101", "QX-ZZB-0105", "QX-ZZB-0109"
BB_IN, BB_OUT = "QX-BB-0101", "QX-BB-0102"
SALARY, PENSION, MEDICAL, INJURY = "QX-RSJ-0101", "QX-RSJ-0102", "QX-YBJ-0001", "QX-RSJ-0103"
FUND, PAYROLL, SSCARD = "QX-GJJ-0001", "QX-CZJ-0001", "QX-RSJ-0104"
CHILD_MEDICAL, CHILD_SSCARD = "QX-YBJ-0002", "QX-RSJ-0105"
ID_CARD = "QX-GAJ-0001#CARD"  # e-licence (QX-GAJ-0001's output CARD, e_licence: true)
ACC, DEL, PAR = "BUNDLE#acceptance", "BUNDLE#delivery", "BUNDLE#parallel"


def form(item: str, kept: str) -> Line:
    return ("forms", item, item, "one_form", kept, 1, 0)


def same_field(item: str, code: str, first: str) -> Line:
    return ("fields", item, code, "same_element", first, 1, 0)


def produced_field(item: str, code: str, output: str) -> Line:
    return ("fields", item, code, "member_output", output, 1, 0)


def material(item: str, code: str, rule: str, source: str) -> Line:
    return ("materials", item, code, rule, source, 1, 0)


def acceptance_step(item: str, code: str = "S1") -> Line:
    return ("steps", item, code, "single_window_acceptance", ACC, 1, 0)


def delivery_step(item: str, code: str) -> Line:
    return ("steps", item, code, "single_delivery", DEL, 1, 0)


def submit_trip(item: str) -> Line:
    return ("visits", item, f"{item}#submit", "single_window_visit", ACC, 1, 0)


def parallel(item: str, legal: int, promised: int) -> Line:
    return ("days", item, item, "parallel_review", PAR, legal, promised)


def window_days(legal: int, promised: int) -> Line:
    return ("days", "BUNDLE", ACC, "single_window_acceptance", ACC, legal, promised)


def delivery_days(legal: int, promised: int) -> Line:
    return ("days", "BUNDLE", DEL, "single_delivery", DEL, legal, promised)


@dataclass(frozen=True)
class Expected:
    code: str
    answers: dict[str, str] | None  # None: the whole bundle (every member)
    lead: str
    figures: dict[str, int]
    elements: set[str]
    materials: set[str]
    removed: set[Line] = field(default_factory=set)
    #: the bundle's own single-window steps (no delivery when no member has a delivery step)
    window: frozenset[str] = frozenset({ACC, DEL})


def figures(
    forms: tuple[int, int],
    fields: tuple[int, int],
    materials: tuple[int, int],
    steps: tuple[int, int],
    visits: tuple[int, int],
    days_legal: tuple[int, int],
    days_promised: tuple[int, int],
) -> dict[str, int]:
    """Each figure as (before, after), by name."""
    pairs = {
        "forms": forms,
        "fields": fields,
        "materials": materials,
        "steps": steps,
        "visits": visits,
        "days.legal": days_legal,
        "days.promised": days_promised,
    }
    out: dict[str, int] = {}
    for name, (before, after) in pairs.items():
        out[f"{name}.before"] = before
        out[f"{name}.after"] = after
    return out


# ================================================================ property-transfer
#
# Members (bundles.yaml) in order: QX-ZJJ-0201 (stage 1), QX-SWJ-0001 (2, after ZJJ),
# QX-ZRZY-0101 (3, after ZJJ and SWJ), then the stage-4 utilities after ZRZY in list order:
# WATER, POWER, GAS (has_gas=yes), TV (has_tv=yes), BROADBAND (has_broadband=yes).
# Ancestors: SWJ {ZJJ}; ZRZY {ZJJ, SWJ}; every utility {ZJJ, SWJ, ZRZY}.
# Outputs: ZJJ#CONTRACT {CONTRACT_NO, TRANSFER_PRICE, NAME, TRANSFEROR_NAME, PROPERTY_ADDRESS};
# SWJ#VOUCHER {TAX_VOUCHER_NO, DEED_TAX, NAME, ID_NO, PROPERTY_ADDRESS}; ZRZY#CERT (e-licence)
# {PROPERTY_CERT_NO, NAME, ID_NO, PROPERTY_UNIT_NO, PROPERTY_ADDRESS, PROPERTY_AREA,
# PROPERTY_USE, CO_OWNERSHIP}.
#
# Fields (answers gas=yes, tv=no, broadband=yes):
#   ZJJ  9: name id_no phone transferor_name transferor_id_no property_address property_cert_no
#           property_area transfer_price — all asked (9 unified)
#   SWJ  9: name id_no phone property_address property_area transfer_price = same_element (ZJJ);
#           property_unit_no asked (10); contract_no: CONTRACT_NO from ZJJ#CONTRACT = member_output;
#           transfer_reason asked (11)
#   ZRZY 19: same_element: name id_no phone transferor_name transferor_id_no property_address
#           property_cert_no property_area transfer_price (ZJJ), property_unit_no transfer_reason
#           (SWJ) = 11; contract_no member_output ZJJ#CONTRACT; asked: id_type address
#           marital_status property_use co_ownership agent_name agent_id_no (18)
#   WATER 9: 6 same_element (transferor_name name id_no phone property_address property_cert_no,
#           all ZJJ); asked water_account_no bank_name bank_account (21)
#   POWER 9: 6 same (ZJJ); power_account_no asked (22); bank_name bank_account same (WATER)
#   GAS   9: 6 same (ZJJ); gas_account_no asked (23); bank_name bank_account same (WATER)
#   BROADBAND 7: 6 same (ZJJ); broadband_account asked (24)
#   before 9+9+19+9+9+9+7 = 71; removed 7+12+6+8+8+6 = 47; after 24.
# Forms: 7 members with a form → 1; 6 one_form (into ZJJ's).
# Materials:
#   ZJJ  4: M-ID, M-ID2 e_licence GAJ-0001#CARD; M-CERT e_licence ZRZY-0101#CERT (the seller's
#           certificate); M-CONTRACT asked
#   SWJ  4: M-CONTRACT member_output ZJJ#CONTRACT; M-ID e_licence; M-MARRIAGE shared_data QX-MZJ;
#           M-HOMES shared_data QX-ZRZY
#   ZRZY 7: M-ID, M-ID2, M-OLDCERT (ZRZY-0101#CERT) e_licence; M-CONTRACT member_output
#           ZJJ#CONTRACT; M-TAX member_output SWJ#VOUCHER; M-MARRIAGE shared_data QX-MZJ;
#           M-PROXY asked
#   WATER 4: M-ID e_licence; M-CERT member_output ZRZY#CERT; M-OLD shared_data QX-ZRZY;
#           M-DEBIT asked {BANK_NAME, BANK_ACCOUNT, ACCOUNT_HOLDER}
#   POWER 3: M-ID e_licence; M-CERT member_output; M-DEBIT same_material (WATER#M-DEBIT)
#   GAS   4: M-ID e_licence; M-CERT member_output; M-PLEDGE asked; M-DEBIT same_material
#   BROADBAND 3: M-ID e_licence; M-CERT member_output; M-AGREE asked
#   before 4+4+7+4+3+4+3 = 29; after 5; removed 24.
# Steps: ZJJ 3 (S1 acc, no delivery), SWJ 4 (S1 acc … S4 del), ZRZY 5 (S1 acc … S5 del),
#   WATER 4 (S4 del), POWER 3 (S3 del), GAS 4 (S4 del), BROADBAND 4 (S4 del) = 27; acceptance:
#   ZJJ's S1 becomes the bundle's, 6 removed; delivery: SWJ's S4 becomes the bundle's, 5 removed;
#   after 27 − 11 = 16 (14 own steps + 2 window steps).
# Visits: 1+1+1+2+1+1+1 = 8; one submit trip (6 single_window_visit); WATER (visits 2) collects
#   in person (channels window, online; its output is no e-licence): one collect trip; after 2.
# Days (legal/promised; own = limit − acceptance − delivery days):
#   ZJJ 5/1 (acc 0) own 5/1; SWJ 5/1 (acc 0, del 0) own 5/1; ZRZY 30/5 (acc 1, del 1) own 28/3;
#   WATER 5/3 (acc 1) own 4/2; POWER 5/2 (acc 1) own 4/1; GAS 5/3 (acc 1) own 4/2;
#   BROADBAND 3/2 (acc 1) own 2/1.
#   Bundle acceptance min(0,0,1,…) = 0; bundle delivery min(0,1,0,…) = 0.
#   before legal 5+5+30+5+5+5+3 = 58, promised 1+1+5+3+2+3+2 = 17.
#   after legal 0 + 5 + 5 + 28 + max(4,4,4,2)=4 (WATER, first) + 0 = 42;
#         promised 0 + 1 + 1 + 3 + max(2,1,2,1)=2 (WATER, first) + 0 = 7.
#   parallel_review: POWER 4/1, GAS 4/2, BROADBAND 2/1; single_window_acceptance saves
#   0+0+1+1+1+1+1 − 0 = 5/5; single_delivery saves 0+1+0+0+0+0 − 0 = 1/1.
#   Check: 58 − 10 − 5 − 1 = 42; 17 − 4 − 5 − 1 = 7.
#
# All answers "no": members ZJJ, SWJ, ZRZY, WATER, POWER.
#   fields 9+9+19+9+9 = 55, removed 7+12+6+8 = 33, after 22; forms 5 → 1 (4 one_form);
#   materials 4+4+7+4+3 = 22, after 3, removed 19; steps 3+4+5+4+3 = 19, removed 4 acceptance +
#   3 delivery, after 12; visits 1+1+1+2+1 = 6 → 2 (4 submit trips removed);
#   days legal 5+5+30+5+5 = 50 → 5+5+28+4 = 42 (WATER first of the tie); promised
#   1+1+5+3+2 = 12 → 1+1+3+2 = 7; parallel_review POWER 4/1; window acceptance 1+1+1 = 3/3;
#   delivery 1/1. Check: 50 − 4 − 3 − 1 = 42; 12 − 1 − 3 − 1 = 7.

_PT_COMMON_FIELDS: set[Line] = {
    same_field(SWJ, "name", f"{ZJJ}#name"),
    same_field(SWJ, "id_no", f"{ZJJ}#id_no"),
    same_field(SWJ, "phone", f"{ZJJ}#phone"),
    same_field(SWJ, "property_address", f"{ZJJ}#property_address"),
    same_field(SWJ, "property_area", f"{ZJJ}#property_area"),
    same_field(SWJ, "transfer_price", f"{ZJJ}#transfer_price"),
    produced_field(SWJ, "contract_no", f"{ZJJ}#CONTRACT"),
    same_field(ZRZY, "name", f"{ZJJ}#name"),
    same_field(ZRZY, "id_no", f"{ZJJ}#id_no"),
    same_field(ZRZY, "phone", f"{ZJJ}#phone"),
    same_field(ZRZY, "transferor_name", f"{ZJJ}#transferor_name"),
    same_field(ZRZY, "transferor_id_no", f"{ZJJ}#transferor_id_no"),
    same_field(ZRZY, "property_address", f"{ZJJ}#property_address"),
    same_field(ZRZY, "property_unit_no", f"{SWJ}#property_unit_no"),
    same_field(ZRZY, "property_cert_no", f"{ZJJ}#property_cert_no"),
    same_field(ZRZY, "property_area", f"{ZJJ}#property_area"),
    same_field(ZRZY, "transfer_reason", f"{SWJ}#transfer_reason"),
    same_field(ZRZY, "transfer_price", f"{ZJJ}#transfer_price"),
    produced_field(ZRZY, "contract_no", f"{ZJJ}#CONTRACT"),
    same_field(WATER, "transferor_name", f"{ZJJ}#transferor_name"),
    same_field(WATER, "name", f"{ZJJ}#name"),
    same_field(WATER, "id_no", f"{ZJJ}#id_no"),
    same_field(WATER, "phone", f"{ZJJ}#phone"),
    same_field(WATER, "property_address", f"{ZJJ}#property_address"),
    same_field(WATER, "property_cert_no", f"{ZJJ}#property_cert_no"),
    same_field(POWER, "transferor_name", f"{ZJJ}#transferor_name"),
    same_field(POWER, "name", f"{ZJJ}#name"),
    same_field(POWER, "id_no", f"{ZJJ}#id_no"),
    same_field(POWER, "phone", f"{ZJJ}#phone"),
    same_field(POWER, "property_address", f"{ZJJ}#property_address"),
    same_field(POWER, "property_cert_no", f"{ZJJ}#property_cert_no"),
    same_field(POWER, "bank_name", f"{WATER}#bank_name"),
    same_field(POWER, "bank_account", f"{WATER}#bank_account"),
}
_PT_GAS_BROADBAND_FIELDS: set[Line] = {
    same_field(GAS, "transferor_name", f"{ZJJ}#transferor_name"),
    same_field(GAS, "name", f"{ZJJ}#name"),
    same_field(GAS, "id_no", f"{ZJJ}#id_no"),
    same_field(GAS, "phone", f"{ZJJ}#phone"),
    same_field(GAS, "property_address", f"{ZJJ}#property_address"),
    same_field(GAS, "property_cert_no", f"{ZJJ}#property_cert_no"),
    same_field(GAS, "bank_name", f"{WATER}#bank_name"),
    same_field(GAS, "bank_account", f"{WATER}#bank_account"),
    same_field(BROADBAND, "transferor_name", f"{ZJJ}#transferor_name"),
    same_field(BROADBAND, "name", f"{ZJJ}#name"),
    same_field(BROADBAND, "id_no", f"{ZJJ}#id_no"),
    same_field(BROADBAND, "phone", f"{ZJJ}#phone"),
    same_field(BROADBAND, "property_address", f"{ZJJ}#property_address"),
    same_field(BROADBAND, "property_cert_no", f"{ZJJ}#property_cert_no"),
}
_PT_COMMON_MATERIALS: set[Line] = {
    material(ZJJ, "M-ID", "e_licence", ID_CARD),
    material(ZJJ, "M-ID2", "e_licence", ID_CARD),
    material(ZJJ, "M-CERT", "e_licence", f"{ZRZY}#CERT"),
    material(SWJ, "M-CONTRACT", "member_output", f"{ZJJ}#CONTRACT"),
    material(SWJ, "M-ID", "e_licence", ID_CARD),
    material(SWJ, "M-MARRIAGE", "shared_data", "QX-MZJ"),
    material(SWJ, "M-HOMES", "shared_data", "QX-ZRZY"),
    material(ZRZY, "M-ID", "e_licence", ID_CARD),
    material(ZRZY, "M-ID2", "e_licence", ID_CARD),
    material(ZRZY, "M-OLDCERT", "e_licence", f"{ZRZY}#CERT"),
    material(ZRZY, "M-CONTRACT", "member_output", f"{ZJJ}#CONTRACT"),
    material(ZRZY, "M-TAX", "member_output", f"{SWJ}#VOUCHER"),
    material(ZRZY, "M-MARRIAGE", "shared_data", "QX-MZJ"),
    material(WATER, "M-ID", "e_licence", ID_CARD),
    material(WATER, "M-CERT", "member_output", f"{ZRZY}#CERT"),
    material(WATER, "M-OLD", "shared_data", "QX-ZRZY"),
    material(POWER, "M-ID", "e_licence", ID_CARD),
    material(POWER, "M-CERT", "member_output", f"{ZRZY}#CERT"),
    material(POWER, "M-DEBIT", "same_material", f"{WATER}#M-DEBIT"),
}
_PT_ELEMENTS_ALL_NO = {
    "DE.NAME",
    "DE.ID_NO",
    "DE.PHONE",
    "DE.TRANSFEROR_NAME",
    "DE.TRANSFEROR_ID_NO",
    "DE.PROPERTY_ADDRESS",
    "DE.PROPERTY_CERT_NO",
    "DE.PROPERTY_AREA",
    "DE.TRANSFER_PRICE",
    "DE.PROPERTY_UNIT_NO",
    "DE.TRANSFER_REASON",
    "DE.ID_TYPE",
    "DE.ADDRESS",
    "DE.MARITAL_STATUS",
    "DE.PROPERTY_USE",
    "DE.CO_OWNERSHIP",
    "DE.AGENT_NAME",
    "DE.AGENT_ID_NO",
    "DE.WATER_ACCOUNT_NO",
    "DE.BANK_NAME",
    "DE.BANK_ACCOUNT",
    "DE.POWER_ACCOUNT_NO",
}

PROPERTY_GAS_BROADBAND = Expected(
    code="property-transfer",
    answers={"has_gas": "yes", "has_tv": "no", "has_broadband": "yes"},
    lead="QX-ZRZY",
    figures=figures(
        forms=(7, 1),
        fields=(71, 24),
        materials=(29, 5),
        steps=(27, 16),
        visits=(8, 2),
        days_legal=(58, 42),
        days_promised=(17, 7),
    ),
    elements=_PT_ELEMENTS_ALL_NO | {"DE.GAS_ACCOUNT_NO", "DE.BROADBAND_ACCOUNT"},
    materials={
        f"{ZJJ}#M-CONTRACT",
        f"{ZRZY}#M-PROXY",
        f"{WATER}#M-DEBIT",
        f"{GAS}#M-PLEDGE",
        f"{BROADBAND}#M-AGREE",
    },
    removed={
        *(form(m, ZJJ) for m in (SWJ, ZRZY, WATER, POWER, GAS, BROADBAND)),
        *_PT_COMMON_FIELDS,
        *_PT_GAS_BROADBAND_FIELDS,
        *_PT_COMMON_MATERIALS,
        material(GAS, "M-ID", "e_licence", ID_CARD),
        material(GAS, "M-CERT", "member_output", f"{ZRZY}#CERT"),
        material(GAS, "M-DEBIT", "same_material", f"{WATER}#M-DEBIT"),
        material(BROADBAND, "M-ID", "e_licence", ID_CARD),
        material(BROADBAND, "M-CERT", "member_output", f"{ZRZY}#CERT"),
        acceptance_step(SWJ),
        acceptance_step(ZRZY),
        acceptance_step(WATER),
        acceptance_step(POWER),
        acceptance_step(GAS),
        acceptance_step(BROADBAND),
        delivery_step(ZRZY, "S5"),
        delivery_step(WATER, "S4"),
        delivery_step(POWER, "S3"),
        delivery_step(GAS, "S4"),
        delivery_step(BROADBAND, "S4"),
        submit_trip(SWJ),
        submit_trip(ZRZY),
        submit_trip(WATER),
        submit_trip(POWER),
        submit_trip(GAS),
        submit_trip(BROADBAND),
        parallel(POWER, 4, 1),
        parallel(GAS, 4, 2),
        parallel(BROADBAND, 2, 1),
        window_days(5, 5),
        delivery_days(1, 1),
    },
)

PROPERTY_ALL_NO = Expected(
    code="property-transfer",
    answers={"has_gas": "no", "has_tv": "no", "has_broadband": "no"},
    lead="QX-ZRZY",
    figures=figures(
        forms=(5, 1),
        fields=(55, 22),
        materials=(22, 3),
        steps=(19, 12),
        visits=(6, 2),
        days_legal=(50, 42),
        days_promised=(12, 7),
    ),
    elements=_PT_ELEMENTS_ALL_NO,
    materials={f"{ZJJ}#M-CONTRACT", f"{ZRZY}#M-PROXY", f"{WATER}#M-DEBIT"},
    removed={
        *(form(m, ZJJ) for m in (SWJ, ZRZY, WATER, POWER)),
        *_PT_COMMON_FIELDS,
        *_PT_COMMON_MATERIALS,
        acceptance_step(SWJ),
        acceptance_step(ZRZY),
        acceptance_step(WATER),
        acceptance_step(POWER),
        delivery_step(ZRZY, "S5"),
        delivery_step(WATER, "S4"),
        delivery_step(POWER, "S3"),
        submit_trip(SWJ),
        submit_trip(ZRZY),
        submit_trip(WATER),
        submit_trip(POWER),
        parallel(POWER, 4, 1),
        window_days(3, 3),
        delivery_days(1, 1),
    },
)

# ================================================================ civil-servant-career
#
# Every ZZB item's form (12 fields): name id_no gender birth_date phone unit_name unit_uscc
# personnel_event effective_date post_name rank estab_type. Acceptance steps all take 1 day.
# Outputs: ZZB-0101#APPROVAL, ZZB-0105#FILING, ZZB-0109#APPROVAL {NAME, ID_NO, PERSONNEL_EVENT,
# UNIT_NAME, POST_NAME, RANK, EFFECTIVE_DATE}; BB-0101#NOTICE, BB-0102#NOTICE {NAME, ID_NO,
# UNIT_NAME, UNIT_USCC, ESTAB_TYPE, EFFECTIVE_DATE}; RSJ-0101#SALARY {NAME, ID_NO, SALARY_GRADE,
# MONTHLY_SALARY, EFFECTIVE_DATE}; RSJ-0102#ENROL {…, CONTRIB_BASE, …}; YBJ-0001#ENROL;
# RSJ-0104#CARD (e-licence).
#
# --- event=recruitment, has_children=yes: 11 members, in order
#   ZZB-0101; BB-0101 (after ZZB-0101); RSJ-0101 (after BB-0101); RSJ-0102, YBJ-0001, RSJ-0103,
#   GJJ-0001 (each after BB-0101 and RSJ-0101); CZJ-0001 (after RSJ-0101); RSJ-0104 (after
#   RSJ-0102); YBJ-0002 (after YBJ-0001); RSJ-0105 (after RSJ-0104).
# Fields:
#   ZZB-0101 12 asked (12)
#   BB-0101 11: all same_element (ZZB-0101)
#   RSJ-0101 13: 11 same (name … rank); work_start_date, salary_grade asked (14)
#   RSJ-0102 10: 9 same (name … effective_date); contrib_base asked (15): no ancestor's output
#               (ZZB-0101, BB-0101, RSJ-0101) carries CONTRIB_BASE
#   YBJ-0001 11: 9 same + contrib_base same (RSJ-0102); medical_ins_type asked (16)
#   RSJ-0103 10: 9 same + contrib_base same (RSJ-0102)
#   GJJ-0001 10: 7 same (name id_no phone unit_name unit_uscc personnel_event effective_date);
#               hf_base hf_rate hf_account asked (19)
#   CZJ-0001 9: 6 same (name id_no phone unit_name personnel_event effective_date);
#               monthly_salary member_output RSJ-0101#SALARY; bank_name bank_account asked (21)
#   RSJ-0104 7: name id_no gender phone same (ZZB-0101), bank_name same (CZJ-0001);
#               ethnicity, address asked (23)
#   YBJ-0002 8: name id_no phone same; bank_account same (CZJ-0001); child_name child_id_no
#               child_birth_date relation asked (27)
#   RSJ-0105 7: name id_no phone same (ZZB-0101); child_name child_id_no relation same
#               (YBJ-0002); address same (RSJ-0104)
#   before 12+11+13+10+11+10+10+9+7+8+7 = 108; removed 11+11+9+10+10+7+7+5+4+7 = 81; after 27.
# Forms 11 → 1.
# Materials:
#   ZZB-0101 5: M-FORM M-ASSESS M-MEDICAL M-DEGREE asked; M-ID e_licence
#   BB-0101 4: M-RECRUIT member_output ZZB-0101#APPROVAL; M-TRANSFER (ZZB-0102#APPROVAL, not a
#              member here) asked; M-PLAN asked; M-ID e_licence
#   RSJ-0101 4: M-PERSONNEL shared_data QX-ZZB; M-NOTICE member_output BB-0101#NOTICE; M-FORM
#              asked; M-ID e_licence
#   RSJ-0102, YBJ-0001, GJJ-0001 2 each: M-EST shared_data QX-BB; M-SALARY member_output
#              RSJ-0101#SALARY
#   RSJ-0103 1: M-EST shared_data QX-BB
#   CZJ-0001 2: M-SALARY member_output RSJ-0101#SALARY; M-BANK asked
#   RSJ-0104 2: M-ID e_licence; M-PHOTO shared_data QX-GAJ
#   YBJ-0002 2: M-HUKOU shared_data QX-GAJ; M-BIRTH asked
#   RSJ-0105 3: M-HUKOU shared_data QX-GAJ; M-ID e_licence; M-PHOTO asked (the applicant's own,
#              RSJ-0104's was shared, so no same_material)
#   before 5+4+4+2+2+1+2+2+2+2+3 = 29; after 10; removed 19.
# Steps: ZZB-0101 5, BB-0101 4 (S4 del), RSJ-0101 4, RSJ-0102 4, YBJ-0001 4, RSJ-0103 4,
#   GJJ 3, CZJ 3, RSJ-0104 4 (S4 del), YBJ-0002 2, RSJ-0105 3 (S3 del) = 40; acceptance: 10
#   removed; delivery: BB-0101's becomes the bundle's, RSJ-0104 S4 and RSJ-0105 S3 removed;
#   after 28 (26 own + 2).
# Visits: ZZB-0101 1, RSJ-0101 1, RSJ-0104 1, the rest 0 = 3; one submit trip, nobody collects;
#   after 1 (RSJ-0101, RSJ-0104 single_window_visit).
# Days (own legal/promised): ZZB-0101 20/10 −1 = 19/9; BB-0101 10/5 −1−1 = 8/3; RSJ-0101 20/10
#   −1 = 19/9; RSJ-0102, YBJ-0001, RSJ-0103 10/5 −1 = 9/4; GJJ, CZJ 5/3 −1 = 4/2; RSJ-0104
#   20/10 −1−2 = 17/7; YBJ-0002 5/1 −1 = 4/0; RSJ-0105 20/10 −1−2 = 17/7. Bundle acceptance 1,
#   delivery min(1,2,2) = 1.
#   before legal 20+10+20+10+10+10+5+5+20+5+20 = 135, promised 10+5+10+5+5+5+3+3+10+1+10 = 67.
#   critical chain ZZB-0101 → BB-0101 → RSJ-0101 → RSJ-0102 → RSJ-0104 → RSJ-0105:
#   legal 1+19+8+19+9+17+17+1 = 91 (YBJ branch 9+4, RSJ-0103 9, GJJ 4, CZJ 4 are shorter than
#   9+17+17); promised 1+9+3+9+4+7+7+1 = 41.
#   parallel_review: YBJ-0001 9/4, RSJ-0103 9/4, GJJ 4/2, CZJ 4/2, YBJ-0002 4/0; window
#   acceptance 11−1 = 10/10; delivery 1+2+2−1 = 4/4.
#   Check: 135 − 30 − 10 − 4 = 91; 67 − 12 − 10 − 4 = 41.
#
# --- event=retirement, has_children=no: 8 members, in order
#   ZZB-0109; BB-0102 (after ZZB-0109); RSJ-0101 (after ZZB-0109); RSJ-0102, YBJ-0001, RSJ-0103,
#   GJJ-0001 (after BB-0102, RSJ-0101); CZJ-0001 (after RSJ-0101, BB-0102).
# Fields: ZZB-0109 12 asked; BB-0102 10 same; RSJ-0101 11 same + work_start_date, salary_grade
#   (14); RSJ-0102 9 same + contrib_base (15); YBJ-0001 10 same + medical_ins_type (16);
#   RSJ-0103 10 same; GJJ 7 same + hf_base hf_rate hf_account (19); CZJ 6 same + monthly_salary
#   member_output RSJ-0101#SALARY + bank_name bank_account (21).
#   before 12+10+13+10+11+10+10+9 = 85; removed 10+11+9+10+10+7+7 = 64; after 21. Forms 8 → 1.
# Materials: ZZB-0109 3: M-FORM, M-FILE asked, M-ID e_licence; BB-0102 1: M-PERSONNEL
#   shared_data QX-ZZB; RSJ-0101 4: M-PERSONNEL shared_data QX-ZZB, M-NOTICE (BB-0101#NOTICE, not
#   a member here) asked, M-FORM asked, M-ID e_licence; RSJ-0102, YBJ-0001, GJJ: M-EST
#   shared_data QX-BB + M-SALARY member_output RSJ-0101#SALARY; RSJ-0103: M-EST shared_data;
#   CZJ: M-SALARY member_output, M-BANK asked.
#   before 3+1+4+2+2+1+2+2 = 17; after 5; removed 12.
# Steps: ZZB-0109 4, BB-0102 3 (S3 del), RSJ-0101 4, RSJ-0102 4, YBJ 4, RSJ-0103 4, GJJ 3,
#   CZJ 3 = 29; 7 acceptance removed; BB-0102's delivery is the only one (becomes the bundle's);
#   after 22 (20 own + 2).
# Visits: ZZB-0109 1, RSJ-0101 1 → 2; after 1 (RSJ-0101 single_window_visit).
# Days own: ZZB-0109 19/9; BB-0102 10/3 −1−1 = 8/1; RSJ-0101 19/9; RSJ-0102, YBJ, RSJ-0103 9/4;
#   GJJ, CZJ 4/2. Bundle acceptance 1, delivery 1 (BB-0102's only).
#   before legal 20+10+20+10+10+10+5+5 = 90, promised 10+3+10+5+5+5+3+3 = 44.
#   critical ZZB-0109 → RSJ-0101 (19 > BB-0102's 8) → RSJ-0102 (first of the 9-day tie):
#   legal 1+19+19+9+1 = 49; promised 1+9+9+4+1 = 24.
#   parallel_review: BB-0102 8/1, YBJ-0001 9/4, RSJ-0103 9/4, GJJ 4/2, CZJ 4/2; window
#   acceptance 8−1 = 7/7; delivery 1−1 = 0 (no line).
#   Check: 90 − 34 − 7 = 49; 44 − 13 − 7 = 24.
#
# --- event=transfer_out, has_children=no: 7 members, in order
#   ZZB-0105; BB-0102 (after ZZB-0105); RSJ-0102, YBJ-0001, RSJ-0103, GJJ-0001, CZJ-0001 (each
#   after BB-0102 only: RSJ-0101 does not apply to a transfer out).
# Fields: ZZB-0105 12 asked; BB-0102 10 same; RSJ-0102 9 same + contrib_base (13); YBJ 10 same +
#   medical_ins_type (14); RSJ-0103 10 same; GJJ 7 same + hf_base hf_rate hf_account (17); CZJ 6
#   same + monthly_salary asked (no ancestor produces MONTHLY_SALARY) + bank_name bank_account
#   (20). before 12+10+10+11+10+10+9 = 72; removed 10+9+10+10+7+6 = 52; after 20. Forms 7 → 1.
# Materials: ZZB-0105 2: M-FORM, M-REQUEST asked; BB-0102 1: M-PERSONNEL shared_data QX-ZZB;
#   RSJ-0102 2: M-EST shared_data QX-BB, M-SALARY (RSJ-0101#SALARY, not a member) asked;
#   YBJ-0001 2, GJJ 2: M-EST shared_data, M-SALARY same_material (RSJ-0102#M-SALARY); RSJ-0103
#   1: M-EST shared_data; CZJ 2: M-SALARY same_material (RSJ-0102#M-SALARY), M-BANK asked.
#   before 2+1+2+2+1+2+2 = 12; after 4; removed 8.
# Steps: ZZB-0105 4, BB-0102 3, RSJ-0102 4, YBJ 4, RSJ-0103 4, GJJ 3, CZJ 3 = 25; 6 acceptance
#   removed; BB-0102's delivery is the only one; after 19 (17 own + 2).
# Visits: ZZB-0105 1, the rest 0 → 1; after 1; nothing removed.
# Days own: ZZB-0105 19/9; BB-0102 8/1; RSJ-0102, YBJ, RSJ-0103 9/4; GJJ, CZJ 4/2.
#   before legal 20+10+10+10+10+5+5 = 70, promised 10+3+5+5+5+3+3 = 34.
#   critical ZZB-0105 → BB-0102 → RSJ-0102 (first of the 9-day tie): legal 1+19+8+9+1 = 38;
#   promised 1+9+1+4+1 = 16.
#   parallel_review: YBJ-0001 9/4, RSJ-0103 9/4, GJJ 4/2, CZJ 4/2; window acceptance 7−1 = 6/6;
#   delivery 0 (no line). Check: 70 − 26 − 6 = 38; 34 − 12 − 6 = 16.

_ZZB_FIELDS = (
    "name",
    "id_no",
    "gender",
    "birth_date",
    "phone",
    "unit_name",
    "unit_uscc",
    "personnel_event",
    "effective_date",
    "post_name",
    "rank",
    "estab_type",
)
_ZZB_ELEMENTS = {
    "DE.NAME",
    "DE.ID_NO",
    "DE.GENDER",
    "DE.BIRTH_DATE",
    "DE.PHONE",
    "DE.UNIT_NAME",
    "DE.UNIT_USCC",
    "DE.PERSONNEL_EVENT",
    "DE.EFFECTIVE_DATE",
    "DE.POST_NAME",
    "DE.RANK",
    "DE.ESTAB_TYPE",
}


def same_as_zzb(item: str, zzb: str, codes: tuple[str, ...]) -> set[Line]:
    """Fields of ``item`` already asked by the ZZB item's form (same field codes there)."""
    assert set(codes) <= set(_ZZB_FIELDS)
    return {same_field(item, c, f"{zzb}#{c}") for c in codes}


_NINE = (
    "name",
    "id_no",
    "gender",
    "birth_date",
    "phone",
    "unit_name",
    "unit_uscc",
    "personnel_event",
    "effective_date",
)
_SEVEN = ("name", "id_no", "phone", "unit_name", "unit_uscc", "personnel_event", "effective_date")
_SIX = ("name", "id_no", "phone", "unit_name", "personnel_event", "effective_date")
_BB_OUT_FIELDS = (*_NINE[:7], "estab_type", "personnel_event", "effective_date")


def _career_tail_fields(zzb: str) -> set[Line]:
    """RSJ-0102, YBJ-0001, RSJ-0103, GJJ-0001, CZJ-0001: the same in every event (the
    contribution base first asked by RSJ-0102)."""
    return {
        *same_as_zzb(PENSION, zzb, _NINE),
        *same_as_zzb(MEDICAL, zzb, _NINE),
        same_field(MEDICAL, "contrib_base", f"{PENSION}#contrib_base"),
        *same_as_zzb(INJURY, zzb, _NINE),
        same_field(INJURY, "contrib_base", f"{PENSION}#contrib_base"),
        *same_as_zzb(FUND, zzb, _SEVEN),
        *same_as_zzb(PAYROLL, zzb, _SIX),
    }


def _steps_and_days_common() -> set[Line]:
    return {
        acceptance_step(PENSION),
        acceptance_step(MEDICAL),
        acceptance_step(INJURY),
        acceptance_step(FUND),
        acceptance_step(PAYROLL),
        parallel(MEDICAL, 9, 4),
        parallel(INJURY, 9, 4),
        parallel(FUND, 4, 2),
        parallel(PAYROLL, 4, 2),
    }


CAREER_RECRUITMENT = Expected(
    code="civil-servant-career",
    answers={"event": "recruitment", "has_children": "yes"},
    lead="QX-ZZB",
    figures=figures(
        forms=(11, 1),
        fields=(108, 27),
        materials=(29, 10),
        steps=(40, 28),
        visits=(3, 1),
        days_legal=(135, 91),
        days_promised=(67, 41),
    ),
    elements=_ZZB_ELEMENTS
    | {
        "DE.WORK_START_DATE",
        "DE.SALARY_GRADE",
        "DE.CONTRIB_BASE",
        "DE.MEDICAL_INS_TYPE",
        "DE.HF_BASE",
        "DE.HF_RATE",
        "DE.HF_ACCOUNT",
        "DE.BANK_NAME",
        "DE.BANK_ACCOUNT",
        "DE.ETHNICITY",
        "DE.ADDRESS",
        "DE.CHILD_NAME",
        "DE.CHILD_ID_NO",
        "DE.CHILD_BIRTH_DATE",
        "DE.RELATION",
    },
    materials={
        f"{ZZB_RECRUIT}#M-FORM",
        f"{ZZB_RECRUIT}#M-ASSESS",
        f"{ZZB_RECRUIT}#M-MEDICAL",
        f"{ZZB_RECRUIT}#M-DEGREE",
        f"{BB_IN}#M-TRANSFER",
        f"{BB_IN}#M-PLAN",
        f"{SALARY}#M-FORM",
        f"{PAYROLL}#M-BANK",
        f"{CHILD_MEDICAL}#M-BIRTH",
        f"{CHILD_SSCARD}#M-PHOTO",
    },
    removed={
        *(
            form(m, ZZB_RECRUIT)
            for m in (
                BB_IN,
                SALARY,
                PENSION,
                MEDICAL,
                INJURY,
                FUND,
                PAYROLL,
                SSCARD,
                CHILD_MEDICAL,
                CHILD_SSCARD,
            )
        ),
        # fields
        *same_as_zzb(BB_IN, ZZB_RECRUIT, (*_NINE[:7], "estab_type", *_NINE[7:], "post_name")),
        *same_as_zzb(SALARY, ZZB_RECRUIT, (*_NINE, "post_name", "rank")),
        *_career_tail_fields(ZZB_RECRUIT),
        produced_field(PAYROLL, "monthly_salary", f"{SALARY}#SALARY"),
        *same_as_zzb(SSCARD, ZZB_RECRUIT, ("name", "id_no", "gender", "phone")),
        same_field(SSCARD, "bank_name", f"{PAYROLL}#bank_name"),
        *same_as_zzb(CHILD_MEDICAL, ZZB_RECRUIT, ("name", "id_no", "phone")),
        same_field(CHILD_MEDICAL, "bank_account", f"{PAYROLL}#bank_account"),
        *same_as_zzb(CHILD_SSCARD, ZZB_RECRUIT, ("name", "id_no", "phone")),
        same_field(CHILD_SSCARD, "child_name", f"{CHILD_MEDICAL}#child_name"),
        same_field(CHILD_SSCARD, "child_id_no", f"{CHILD_MEDICAL}#child_id_no"),
        same_field(CHILD_SSCARD, "relation", f"{CHILD_MEDICAL}#relation"),
        same_field(CHILD_SSCARD, "address", f"{SSCARD}#address"),
        # materials
        material(ZZB_RECRUIT, "M-ID", "e_licence", ID_CARD),
        material(BB_IN, "M-RECRUIT", "member_output", f"{ZZB_RECRUIT}#APPROVAL"),
        material(BB_IN, "M-ID", "e_licence", ID_CARD),
        material(SALARY, "M-PERSONNEL", "shared_data", "QX-ZZB"),
        material(SALARY, "M-NOTICE", "member_output", f"{BB_IN}#NOTICE"),
        material(SALARY, "M-ID", "e_licence", ID_CARD),
        material(PENSION, "M-EST", "shared_data", "QX-BB"),
        material(PENSION, "M-SALARY", "member_output", f"{SALARY}#SALARY"),
        material(MEDICAL, "M-EST", "shared_data", "QX-BB"),
        material(MEDICAL, "M-SALARY", "member_output", f"{SALARY}#SALARY"),
        material(INJURY, "M-EST", "shared_data", "QX-BB"),
        material(FUND, "M-EST", "shared_data", "QX-BB"),
        material(FUND, "M-SALARY", "member_output", f"{SALARY}#SALARY"),
        material(PAYROLL, "M-SALARY", "member_output", f"{SALARY}#SALARY"),
        material(SSCARD, "M-ID", "e_licence", ID_CARD),
        material(SSCARD, "M-PHOTO", "shared_data", "QX-GAJ"),
        material(CHILD_MEDICAL, "M-HUKOU", "shared_data", "QX-GAJ"),
        material(CHILD_SSCARD, "M-HUKOU", "shared_data", "QX-GAJ"),
        material(CHILD_SSCARD, "M-ID", "e_licence", ID_CARD),
        # steps
        acceptance_step(BB_IN),
        acceptance_step(SALARY),
        acceptance_step(SSCARD),
        acceptance_step(CHILD_MEDICAL),
        acceptance_step(CHILD_SSCARD),
        delivery_step(SSCARD, "S4"),
        delivery_step(CHILD_SSCARD, "S3"),
        # visits
        submit_trip(SALARY),
        submit_trip(SSCARD),
        # days
        *_steps_and_days_common(),
        parallel(CHILD_MEDICAL, 4, 0),
        window_days(10, 10),
        delivery_days(4, 4),
    },
)

CAREER_RETIREMENT = Expected(
    code="civil-servant-career",
    answers={"event": "retirement", "has_children": "no"},
    lead="QX-ZZB",
    figures=figures(
        forms=(8, 1),
        fields=(85, 21),
        materials=(17, 5),
        steps=(29, 22),
        visits=(2, 1),
        days_legal=(90, 49),
        days_promised=(44, 24),
    ),
    elements=_ZZB_ELEMENTS
    | {
        "DE.WORK_START_DATE",
        "DE.SALARY_GRADE",
        "DE.CONTRIB_BASE",
        "DE.MEDICAL_INS_TYPE",
        "DE.HF_BASE",
        "DE.HF_RATE",
        "DE.HF_ACCOUNT",
        "DE.BANK_NAME",
        "DE.BANK_ACCOUNT",
    },
    materials={
        f"{ZZB_RETIRE}#M-FORM",
        f"{ZZB_RETIRE}#M-FILE",
        f"{SALARY}#M-NOTICE",
        f"{SALARY}#M-FORM",
        f"{PAYROLL}#M-BANK",
    },
    removed={
        *(form(m, ZZB_RETIRE) for m in (BB_OUT, SALARY, PENSION, MEDICAL, INJURY, FUND, PAYROLL)),
        # fields
        *same_as_zzb(BB_OUT, ZZB_RETIRE, _BB_OUT_FIELDS),
        *same_as_zzb(SALARY, ZZB_RETIRE, (*_NINE, "post_name", "rank")),
        *_career_tail_fields(ZZB_RETIRE),
        produced_field(PAYROLL, "monthly_salary", f"{SALARY}#SALARY"),
        # materials
        material(ZZB_RETIRE, "M-ID", "e_licence", ID_CARD),
        material(BB_OUT, "M-PERSONNEL", "shared_data", "QX-ZZB"),
        material(SALARY, "M-PERSONNEL", "shared_data", "QX-ZZB"),
        material(SALARY, "M-ID", "e_licence", ID_CARD),
        material(PENSION, "M-EST", "shared_data", "QX-BB"),
        material(PENSION, "M-SALARY", "member_output", f"{SALARY}#SALARY"),
        material(MEDICAL, "M-EST", "shared_data", "QX-BB"),
        material(MEDICAL, "M-SALARY", "member_output", f"{SALARY}#SALARY"),
        material(INJURY, "M-EST", "shared_data", "QX-BB"),
        material(FUND, "M-EST", "shared_data", "QX-BB"),
        material(FUND, "M-SALARY", "member_output", f"{SALARY}#SALARY"),
        material(PAYROLL, "M-SALARY", "member_output", f"{SALARY}#SALARY"),
        # steps
        acceptance_step(BB_OUT),
        acceptance_step(SALARY),
        # visits
        submit_trip(SALARY),
        # days
        *_steps_and_days_common(),
        parallel(BB_OUT, 8, 1),
        window_days(7, 7),
    },
)

CAREER_TRANSFER_OUT = Expected(
    code="civil-servant-career",
    answers={"event": "transfer_out", "has_children": "no"},
    lead="QX-ZZB",
    figures=figures(
        forms=(7, 1),
        fields=(72, 20),
        materials=(12, 4),
        steps=(25, 19),
        visits=(1, 1),
        days_legal=(70, 38),
        days_promised=(34, 16),
    ),
    elements=_ZZB_ELEMENTS
    | {
        "DE.CONTRIB_BASE",
        "DE.MEDICAL_INS_TYPE",
        "DE.HF_BASE",
        "DE.HF_RATE",
        "DE.HF_ACCOUNT",
        "DE.MONTHLY_SALARY",
        "DE.BANK_NAME",
        "DE.BANK_ACCOUNT",
    },
    materials={
        f"{ZZB_OUT}#M-FORM",
        f"{ZZB_OUT}#M-REQUEST",
        f"{PENSION}#M-SALARY",
        f"{PAYROLL}#M-BANK",
    },
    removed={
        *(form(m, ZZB_OUT) for m in (BB_OUT, PENSION, MEDICAL, INJURY, FUND, PAYROLL)),
        # fields
        *same_as_zzb(BB_OUT, ZZB_OUT, _BB_OUT_FIELDS),
        *_career_tail_fields(ZZB_OUT),
        # materials
        material(BB_OUT, "M-PERSONNEL", "shared_data", "QX-ZZB"),
        material(PENSION, "M-EST", "shared_data", "QX-BB"),
        material(MEDICAL, "M-EST", "shared_data", "QX-BB"),
        material(MEDICAL, "M-SALARY", "same_material", f"{PENSION}#M-SALARY"),
        material(INJURY, "M-EST", "shared_data", "QX-BB"),
        material(FUND, "M-EST", "shared_data", "QX-BB"),
        material(FUND, "M-SALARY", "same_material", f"{PENSION}#M-SALARY"),
        material(PAYROLL, "M-SALARY", "same_material", f"{PENSION}#M-SALARY"),
        # steps
        acceptance_step(BB_OUT),
        # days
        *_steps_and_days_common(),
        window_days(6, 6),
    },
)

# ================================================================ disability-benefits
#
# Members (bundles.yaml), no depends_on, all stage 1, so they run side by side in list order:
# QX-MZJ-0201 困难残疾人生活补贴 (low_income=yes), QX-MZJ-0202 重度残疾人护理补贴 (grade1/2),
# QX-CL-0002 残疾儿童康复救助 (age_group=child), QX-CL-0003 辅助器具适配补贴 (needs_aids=yes),
# QX-CL-0004 自主就业创业补贴 (working_age), QX-CL-0005 家庭无障碍改造
# (needs_home_modification=yes), QX-JYJ-0001 残疾学生教育资助 (student), QX-RSJ-0301
# 重度残疾人养老保险费代缴 (grade1/2 and working_age). Every member has a `when`: a set of
# answers must answer all five questions. No ancestors, so no member_output anywhere.
# Sources: QX-CL-0001#CERT (残疾人证), QX-GAJ-0001#CARD, QX-SCJ-0001#LICENCE, QX-ZRZY-0101#CERT are
# outputs marked e_licence; QX-GAJ, QX-MZJ, QX-JYJ, QX-RSJ are departments of org.yaml.
#
# Per member (fields; materials; steps; legal/promised; acceptance days; visits):
#   MZJ-0201 10: name id_no phone hukou_address disability_cert_no disability_type
#            disability_grade assistance_status bank_name bank_account;
#            4: M-DISABILITY e_licence CL-0001#CERT, M-HUKOU shared QX-GAJ, M-ASSIST shared
#            QX-MZJ, M-BANK (BANK_NAME BANK_ACCOUNT ACCOUNT_HOLDER, no source) asked;
#            5 steps (S1 acc 2, no delivery); 20/15 → own 18/13; visits 1
#   MZJ-0202 10: the 7 core (name … disability_grade), agent_name (optional), bank_name
#            bank_account; 3: M-DISABILITY e_licence, M-HUKOU shared QX-GAJ, M-BANK;
#            5 steps (S1 acc 2); 20/15 → 18/13; visits 1
#   CL-0002  9: child_name child_id_no child_birth_date name id_no relation phone rehab_program
#            disability_cert_no (optional); 4: M-DISABILITY e_licence, M-DIAG (CHILD_NAME
#            DISABILITY_TYPE) asked, M-HUKOU shared QX-GAJ, M-ID e_licence GAJ-0001#CARD;
#            4 steps (S1 acc 2); 20/10 → 18/8; visits 1
#   CL-0003  10: the 7 core, aid_device, bank_name bank_account; 5: M-DISABILITY e_licence,
#            M-ASSIST shared QX-MZJ, M-ASSESS (NAME AID_DEVICE) asked, M-INVOICE (AID_DEVICE
#            SUBSIDY_AMOUNT) asked, M-BANK; 4 steps (S1 acc 2); 20/15 → 18/13; visits 1
#   CL-0004  12: the 7 core, enterprise_name uscc business_address, bank_name bank_account;
#            4: M-DISABILITY e_licence, M-BL e_licence SCJ-0001#LICENCE, M-PREMISES
#            (BUSINESS_ADDRESS) asked, M-BANK; 5 steps (S1 acc 2); 30/20 → 28/18; visits 1
#   CL-0005  8: the 7 core, property_address; 3: M-DISABILITY e_licence, M-HOME e_licence
#            ZRZY-0101#CERT, M-NEEDS (NAME DISABILITY_TYPE) asked; 5 steps (S1 acc 2; S5 is a
#            notification, not a delivery); 30/20 → 28/18; visits 1
#   JYJ-0001 11: the 7 core, school_name school_stage, bank_name bank_account; 4: M-DISABILITY
#            e_licence, M-SCHOOL shared QX-JYJ, M-HUKOU shared QX-GAJ, M-BANK; 4 steps (S1 acc
#            3); 30/20 → 27/17; visits 1
#   RSJ-0301 4: name id_no disability_cert_no disability_grade; 2: M-DISABILITY e_licence,
#            M-INSURED shared QX-RSJ; 4 steps (S1 automatic_check: no acceptance step);
#            20/10 → own 20/10; visits 0 (免申即享)
# No member has a delivery step: no BUNDLE#delivery, no single_delivery line, no collect trip.
# M-BANK carries the same elements everywhere: the first member's is asked, the others are
# same_material. M-DISABILITY is an e_licence line in every member (a material removed by a
# source rule is not kept, so it is never same_material).
#
# --- the whole bundle (answers None): all 8 members
# Fields: MZJ-0201 10 asked (10); MZJ-0202 9 same (MZJ-0201), agent_name asked (11); CL-0002
#   name id_no phone disability_cert_no same (4), child_name child_id_no child_birth_date
#   relation rehab_program asked (16); CL-0003 9 same, aid_device asked (17); CL-0004 9 same,
#   enterprise_name uscc business_address asked (20); CL-0005 7 same, property_address asked
#   (21); JYJ-0001 9 same, school_name school_stage asked (23); RSJ-0301 4 same.
#   before 10+10+9+10+12+8+11+4 = 74; removed 9+4+9+9+7+9+4 = 51; after 23.
# Forms 8 → 1 (7 one_form into MZJ-0201).
# Materials: before 4+3+4+5+4+3+4+2 = 29; asked MZJ-0201#M-BANK, CL-0002#M-DIAG,
#   CL-0003#M-ASSESS, CL-0003#M-INVOICE, CL-0004#M-PREMISES, CL-0005#M-NEEDS = 6; removed 23:
#   e_licence 8 M-DISABILITY + CL-0002 M-ID + CL-0004 M-BL + CL-0005 M-HOME = 11; shared_data
#   MZJ-0201 M-HUKOU M-ASSIST, MZJ-0202 M-HUKOU, CL-0002 M-HUKOU, CL-0003 M-ASSIST, JYJ M-SCHOOL
#   M-HUKOU, RSJ M-INSURED = 8; same_material M-BANK of MZJ-0202, CL-0003, CL-0004, JYJ = 4.
# Steps: 5+5+4+4+5+5+4+4 = 36; MZJ-0201's S1 becomes BUNDLE#acceptance, 6 acceptance steps
#   removed (RSJ-0301 has none); after 30 (29 own + 1).
# Visits: 7 → 1 (6 single_window_visit: all but MZJ-0201 and RSJ-0301).
# Days: before legal 20+20+20+20+30+30+30+20 = 190, promised 15+15+10+15+20+20+20+10 = 125.
#   Bundle acceptance min(2,2,2,2,2,2,3) = 2. Own legal 18 18 18 18 28 28 27 20: CL-0004 and
#   CL-0005 tie at 28, CL-0004 (first) is the critical path: after 2 + 28 = 30; promised own
#   13 13 8 13 18 18 17 10: CL-0004 again, 2 + 18 = 20.
#   parallel_review MZJ-0201 18/13, MZJ-0202 18/13, CL-0002 18/8, CL-0003 18/13, CL-0005 28/18,
#   JYJ 27/17, RSJ-0301 20/10 (Σ 147/92); window acceptance 6·2+3 − 2 = 13/13.
#   Check: 190 − 147 − 13 = 30; 125 − 92 − 13 = 20.
#
# --- grade1, low_income=yes, child, needs_aids=yes, needs_home_modification=yes:
#   MZJ-0201, MZJ-0202, CL-0002, CL-0003, CL-0005 (CL-0004, JYJ, RSJ-0301 drop out)
# Fields: 10+10+9+10+8 = 47; removed 9+4+9+7 = 29; after 18. Forms 5 → 1.
# Materials: 4+3+4+5+3 = 19; asked MZJ-0201#M-BANK, CL-0002#M-DIAG, CL-0003#M-ASSESS,
#   CL-0003#M-INVOICE, CL-0005#M-NEEDS = 5; removed 14 (e_licence 5 + M-ID + M-HOME = 7;
#   shared_data 5; same_material M-BANK of MZJ-0202, CL-0003 = 2).
# Steps: 5+5+4+4+5 = 23; 4 acceptance removed; after 19. Visits 5 → 1 (4 submit trips).
# Days: before legal 20+20+20+20+30 = 110, promised 15+15+10+15+20 = 75; acceptance 2;
#   critical CL-0005 (28/18): after 30/20. parallel_review MZJ-0201 18/13, MZJ-0202 18/13,
#   CL-0002 18/8, CL-0003 18/13 (Σ 72/47); window acceptance 5·2 − 2 = 8/8.
#   Check: 110 − 72 − 8 = 30; 75 − 47 − 8 = 20.
#
# --- grade2, low_income=no, working_age, needs_aids=no, needs_home_modification=no:
#   MZJ-0202, CL-0004, RSJ-0301 (the first member is MZJ-0202: its form and fields are kept)
# Fields: MZJ-0202 10 asked; CL-0004 9 same (MZJ-0202), enterprise_name uscc business_address
#   asked (13); RSJ-0301 4 same. before 10+12+4 = 26; removed 13; after 13. Forms 3 → 1.
# Materials: 3+4+2 = 9; asked MZJ-0202#M-BANK, CL-0004#M-PREMISES; removed 7 (e_licence 3
#   M-DISABILITY + M-BL; shared_data MZJ-0202 M-HUKOU, RSJ M-INSURED; same_material
#   CL-0004#M-BANK → MZJ-0202#M-BANK).
# Steps: 5+5+4 = 14; CL-0004's S1 removed; after 13. Visits 1+1+0 = 2 → 1.
# Days: before legal 20+30+20 = 70, promised 15+20+10 = 45; acceptance min(2,2) = 2; critical
#   CL-0004 (28/18 > RSJ-0301 20/10 > MZJ-0202 18/13): after 30/20. parallel_review MZJ-0202
#   18/13, RSJ-0301 20/10; window acceptance 4 − 2 = 2/2.
#   Check: 70 − 38 − 2 = 30; 45 − 23 − 2 = 20.
#
# --- grade3, low_income=no, student, needs_aids=no, needs_home_modification=no: JYJ-0001 alone
# Fields 11 → 11, forms 1 → 1, nothing merged. Materials 4 → 1 (M-DISABILITY e_licence,
#   M-SCHOOL and M-HUKOU shared_data; M-BANK asked). Steps 4 → 4 (its S1 becomes the bundle's,
#   limit 3). Visits 1 → 1. Days 30/20 → 3 + 27 = 30, 3 + 17 = 20: no days line (the window
#   saves 3 − 3 = 0).

MZJ_LIVING, MZJ_CARE = "QX-MZJ-0201", "QX-MZJ-0202"
CL_CHILD, CL_AIDS, CL_WORK, CL_HOME = "QX-CL-0002", "QX-CL-0003", "QX-CL-0004", "QX-CL-0005"
JYJ_STUDENT, RSJ_PENSION = "QX-JYJ-0001", "QX-RSJ-0301"
DISABILITY_CERT = "QX-CL-0001#CERT"  # e-licence (QX-CL-0001's output CERT)

_DB_CORE = (
    "name",
    "id_no",
    "phone",
    "hukou_address",
    "disability_cert_no",
    "disability_type",
    "disability_grade",
)
_DB_BANK = ("bank_name", "bank_account")
_DB_CORE_ELEMENTS = {
    "DE.NAME",
    "DE.ID_NO",
    "DE.PHONE",
    "DE.HUKOU_ADDRESS",
    "DE.DISABILITY_CERT_NO",
    "DE.DISABILITY_TYPE",
    "DE.DISABILITY_GRADE",
    "DE.BANK_NAME",
    "DE.BANK_ACCOUNT",
}
_DB_CHILD_ELEMENTS = {
    "DE.CHILD_NAME",
    "DE.CHILD_ID_NO",
    "DE.CHILD_BIRTH_DATE",
    "DE.RELATION",
    "DE.REHAB_PROGRAM",
}
_DB_WORK_ELEMENTS = {"DE.ENTERPRISE_NAME", "DE.USCC", "DE.BUSINESS_ADDRESS"}


def same_as(item: str, first: str, codes: tuple[str, ...]) -> set[Line]:
    """Fields of ``item`` already asked by ``first`` (the same field codes there)."""
    return {same_field(item, c, f"{first}#{c}") for c in codes}


def cert(item: str) -> Line:
    return material(item, "M-DISABILITY", "e_licence", DISABILITY_CERT)


def hukou(item: str) -> Line:
    return material(item, "M-HUKOU", "shared_data", "QX-GAJ")


def bank(item: str, first: str) -> Line:
    return material(item, "M-BANK", "same_material", f"{first}#M-BANK")


DISABILITY_WHOLE = Expected(
    code="disability-benefits",
    answers=None,
    lead="QX-CL",
    window=frozenset({ACC}),
    figures=figures(
        forms=(8, 1),
        fields=(74, 23),
        materials=(29, 6),
        steps=(36, 30),
        visits=(7, 1),
        days_legal=(190, 30),
        days_promised=(125, 20),
    ),
    elements=_DB_CORE_ELEMENTS
    | _DB_CHILD_ELEMENTS
    | _DB_WORK_ELEMENTS
    | {
        "DE.ASSISTANCE_STATUS",
        "DE.AGENT_NAME",
        "DE.AID_DEVICE",
        "DE.PROPERTY_ADDRESS",
        "DE.SCHOOL_NAME",
        "DE.SCHOOL_STAGE",
    },
    materials={
        f"{MZJ_LIVING}#M-BANK",
        f"{CL_CHILD}#M-DIAG",
        f"{CL_AIDS}#M-ASSESS",
        f"{CL_AIDS}#M-INVOICE",
        f"{CL_WORK}#M-PREMISES",
        f"{CL_HOME}#M-NEEDS",
    },
    removed={
        *(
            form(m, MZJ_LIVING)
            for m in (MZJ_CARE, CL_CHILD, CL_AIDS, CL_WORK, CL_HOME, JYJ_STUDENT, RSJ_PENSION)
        ),
        # fields
        *same_as(MZJ_CARE, MZJ_LIVING, (*_DB_CORE, *_DB_BANK)),
        *same_as(CL_CHILD, MZJ_LIVING, ("name", "id_no", "phone", "disability_cert_no")),
        *same_as(CL_AIDS, MZJ_LIVING, (*_DB_CORE, *_DB_BANK)),
        *same_as(CL_WORK, MZJ_LIVING, (*_DB_CORE, *_DB_BANK)),
        *same_as(CL_HOME, MZJ_LIVING, _DB_CORE),
        *same_as(JYJ_STUDENT, MZJ_LIVING, (*_DB_CORE, *_DB_BANK)),
        *same_as(
            RSJ_PENSION, MZJ_LIVING, ("name", "id_no", "disability_cert_no", "disability_grade")
        ),
        # materials
        *(
            cert(m)
            for m in (
                MZJ_LIVING,
                MZJ_CARE,
                CL_CHILD,
                CL_AIDS,
                CL_WORK,
                CL_HOME,
                JYJ_STUDENT,
                RSJ_PENSION,
            )
        ),
        material(CL_CHILD, "M-ID", "e_licence", ID_CARD),
        material(CL_WORK, "M-BL", "e_licence", "QX-SCJ-0001#LICENCE"),
        material(CL_HOME, "M-HOME", "e_licence", f"{ZRZY}#CERT"),
        hukou(MZJ_LIVING),
        material(MZJ_LIVING, "M-ASSIST", "shared_data", "QX-MZJ"),
        hukou(MZJ_CARE),
        hukou(CL_CHILD),
        material(CL_AIDS, "M-ASSIST", "shared_data", "QX-MZJ"),
        material(JYJ_STUDENT, "M-SCHOOL", "shared_data", "QX-JYJ"),
        hukou(JYJ_STUDENT),
        material(RSJ_PENSION, "M-INSURED", "shared_data", "QX-RSJ"),
        *(bank(m, MZJ_LIVING) for m in (MZJ_CARE, CL_AIDS, CL_WORK, JYJ_STUDENT)),
        # steps
        *(acceptance_step(m) for m in (MZJ_CARE, CL_CHILD, CL_AIDS, CL_WORK, CL_HOME, JYJ_STUDENT)),
        # visits
        *(submit_trip(m) for m in (MZJ_CARE, CL_CHILD, CL_AIDS, CL_WORK, CL_HOME, JYJ_STUDENT)),
        # days: CL-0004 is the critical path (first of the 28-day tie with CL-0005)
        parallel(MZJ_LIVING, 18, 13),
        parallel(MZJ_CARE, 18, 13),
        parallel(CL_CHILD, 18, 8),
        parallel(CL_AIDS, 18, 13),
        parallel(CL_HOME, 28, 18),
        parallel(JYJ_STUDENT, 27, 17),
        parallel(RSJ_PENSION, 20, 10),
        window_days(13, 13),
    },
)

DISABILITY_CHILD = Expected(
    code="disability-benefits",
    answers={
        "grade": "grade1",
        "low_income": "yes",
        "age_group": "child",
        "needs_aids": "yes",
        "needs_home_modification": "yes",
    },
    lead="QX-CL",
    window=frozenset({ACC}),
    figures=figures(
        forms=(5, 1),
        fields=(47, 18),
        materials=(19, 5),
        steps=(23, 19),
        visits=(5, 1),
        days_legal=(110, 30),
        days_promised=(75, 20),
    ),
    elements=_DB_CORE_ELEMENTS
    | _DB_CHILD_ELEMENTS
    | {"DE.ASSISTANCE_STATUS", "DE.AGENT_NAME", "DE.AID_DEVICE", "DE.PROPERTY_ADDRESS"},
    materials={
        f"{MZJ_LIVING}#M-BANK",
        f"{CL_CHILD}#M-DIAG",
        f"{CL_AIDS}#M-ASSESS",
        f"{CL_AIDS}#M-INVOICE",
        f"{CL_HOME}#M-NEEDS",
    },
    removed={
        *(form(m, MZJ_LIVING) for m in (MZJ_CARE, CL_CHILD, CL_AIDS, CL_HOME)),
        # fields
        *same_as(MZJ_CARE, MZJ_LIVING, (*_DB_CORE, *_DB_BANK)),
        *same_as(CL_CHILD, MZJ_LIVING, ("name", "id_no", "phone", "disability_cert_no")),
        *same_as(CL_AIDS, MZJ_LIVING, (*_DB_CORE, *_DB_BANK)),
        *same_as(CL_HOME, MZJ_LIVING, _DB_CORE),
        # materials
        *(cert(m) for m in (MZJ_LIVING, MZJ_CARE, CL_CHILD, CL_AIDS, CL_HOME)),
        material(CL_CHILD, "M-ID", "e_licence", ID_CARD),
        material(CL_HOME, "M-HOME", "e_licence", f"{ZRZY}#CERT"),
        hukou(MZJ_LIVING),
        material(MZJ_LIVING, "M-ASSIST", "shared_data", "QX-MZJ"),
        hukou(MZJ_CARE),
        hukou(CL_CHILD),
        material(CL_AIDS, "M-ASSIST", "shared_data", "QX-MZJ"),
        bank(MZJ_CARE, MZJ_LIVING),
        bank(CL_AIDS, MZJ_LIVING),
        # steps
        *(acceptance_step(m) for m in (MZJ_CARE, CL_CHILD, CL_AIDS, CL_HOME)),
        # visits
        *(submit_trip(m) for m in (MZJ_CARE, CL_CHILD, CL_AIDS, CL_HOME)),
        # days: CL-0005 (28/18) is the critical path
        parallel(MZJ_LIVING, 18, 13),
        parallel(MZJ_CARE, 18, 13),
        parallel(CL_CHILD, 18, 8),
        parallel(CL_AIDS, 18, 13),
        window_days(8, 8),
    },
)

DISABILITY_WORKING_AGE = Expected(
    code="disability-benefits",
    answers={
        "grade": "grade2",
        "low_income": "no",
        "age_group": "working_age",
        "needs_aids": "no",
        "needs_home_modification": "no",
    },
    lead="QX-CL",
    window=frozenset({ACC}),
    figures=figures(
        forms=(3, 1),
        fields=(26, 13),
        materials=(9, 2),
        steps=(14, 13),
        visits=(2, 1),
        days_legal=(70, 30),
        days_promised=(45, 20),
    ),
    elements=_DB_CORE_ELEMENTS | _DB_WORK_ELEMENTS | {"DE.AGENT_NAME"},
    materials={f"{MZJ_CARE}#M-BANK", f"{CL_WORK}#M-PREMISES"},
    removed={
        form(CL_WORK, MZJ_CARE),
        form(RSJ_PENSION, MZJ_CARE),
        # fields
        *same_as(CL_WORK, MZJ_CARE, (*_DB_CORE, *_DB_BANK)),
        *same_as(
            RSJ_PENSION, MZJ_CARE, ("name", "id_no", "disability_cert_no", "disability_grade")
        ),
        # materials
        *(cert(m) for m in (MZJ_CARE, CL_WORK, RSJ_PENSION)),
        material(CL_WORK, "M-BL", "e_licence", "QX-SCJ-0001#LICENCE"),
        hukou(MZJ_CARE),
        material(RSJ_PENSION, "M-INSURED", "shared_data", "QX-RSJ"),
        bank(CL_WORK, MZJ_CARE),
        # steps
        acceptance_step(CL_WORK),
        # visits
        submit_trip(CL_WORK),
        # days: CL-0004 (28/18) is the critical path
        parallel(MZJ_CARE, 18, 13),
        parallel(RSJ_PENSION, 20, 10),
        window_days(2, 2),
    },
)

DISABILITY_STUDENT = Expected(
    code="disability-benefits",
    answers={
        "grade": "grade3",
        "low_income": "no",
        "age_group": "student",
        "needs_aids": "no",
        "needs_home_modification": "no",
    },
    lead="QX-CL",
    window=frozenset({ACC}),
    figures=figures(
        forms=(1, 1),
        fields=(11, 11),
        materials=(4, 1),
        steps=(4, 4),
        visits=(1, 1),
        days_legal=(30, 30),
        days_promised=(20, 20),
    ),
    elements=_DB_CORE_ELEMENTS | {"DE.SCHOOL_NAME", "DE.SCHOOL_STAGE"},
    materials={f"{JYJ_STUDENT}#M-BANK"},
    removed={
        cert(JYJ_STUDENT),
        material(JYJ_STUDENT, "M-SCHOOL", "shared_data", "QX-JYJ"),
        hukou(JYJ_STUDENT),
    },
)

SCENARIOS = {
    "property-gas-broadband": PROPERTY_GAS_BROADBAND,
    "property-all-no": PROPERTY_ALL_NO,
    "career-recruitment": CAREER_RECRUITMENT,
    "career-retirement": CAREER_RETIREMENT,
    "career-transfer-out": CAREER_TRANSFER_OUT,
    "disability-whole": DISABILITY_WHOLE,
    "disability-child": DISABILITY_CHILD,
    "disability-working-age": DISABILITY_WORKING_AGE,
    "disability-student": DISABILITY_STUDENT,
}
FIGURE_NAMES = list(PROPERTY_ALL_NO.figures)


# ---------------------------------------------------------------- composing the demo, once


@pytest.fixture(scope="module")
def ledgers(
    engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Ledger]]:
    """The composer's ledger of every scenario, from the demo loaded once (rolled back after)."""
    uploads: Path = tmp_path_factory.mktemp("ledger-uploads")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TONGBAN_UPLOAD_DIR", str(uploads))
        get_settings.cache_clear()
        connection = engine.connect()
        outer = connection.begin()
        session = Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            load_demo(session=session)
            session.commit()
            yield {
                name: bundle_service.compose_bundle(
                    session=session,
                    principal=None,
                    code=e.code,
                    answers=None if e.answers is None else dict(e.answers),
                    as_system=True,
                )
                for name, e in SCENARIOS.items()
            }
        finally:
            session.close()
            outer.rollback()
            connection.close()
    get_settings.cache_clear()


def actual_figures(ledger: Ledger) -> dict[str, int]:
    out: dict[str, int] = {}
    for name in ("forms", "fields", "materials", "steps", "visits"):
        out[f"{name}.before"] = getattr(ledger.before, name)
        out[f"{name}.after"] = getattr(ledger.after, name)
    for kind in ("legal", "promised"):
        out[f"days.{kind}.before"] = ledger.before.days[kind]
        out[f"days.{kind}.after"] = ledger.after.days[kind]
    return out


def actual_lines(ledger: Ledger, figure: str) -> set[Line]:
    return {
        (figure, r.item, r.code, r.rule, r.source, r.amount, r.amount_promised)
        for r in ledger.removed[figure]
    }


def _cases(names: list[str]) -> list[Any]:
    return [pytest.param(s, f, id=f"{s}:{f}") for s in SCENARIOS for f in names]


# ---------------------------------------------------------------- the tests


@pytest.mark.parametrize(("scenario", "figure"), _cases(FIGURE_NAMES))
def test_figure(ledgers: dict[str, Ledger], scenario: str, figure: str) -> None:
    expected = SCENARIOS[scenario].figures[figure]
    got = actual_figures(ledgers[scenario])[figure]
    assert got == expected, f"{scenario}: figure {figure} is {got}, counted by hand {expected}"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_unified_elements(ledgers: dict[str, Ledger], scenario: str) -> None:
    got = [f.element for f in ledgers[scenario].fields]
    assert len(got) == len(set(got)), f"{scenario}: an element is asked twice on the form"
    assert set(got) == SCENARIOS[scenario].elements, f"{scenario}: the unified form's elements"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_unified_material_codes(ledgers: dict[str, Ledger], scenario: str) -> None:
    got = {m.code for m in ledgers[scenario].materials}
    assert got == SCENARIOS[scenario].materials, f"{scenario}: the materials still asked"


@pytest.mark.parametrize(
    ("scenario", "figure"),
    _cases(["forms", "fields", "materials", "steps", "visits", "days"]),
)
def test_removed_lines(ledgers: dict[str, Ledger], scenario: str, figure: str) -> None:
    expected = {line for line in SCENARIOS[scenario].removed if line[0] == figure}
    got = actual_lines(ledgers[scenario], figure)
    assert len(got) == len(ledgers[scenario].removed[figure]), f"{scenario}: duplicate {figure}"
    assert got == expected, (
        f"{scenario}: removed {figure}: missing {sorted(expected - got)}, "
        f"unexpected {sorted(got - expected)}"
    )


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_lead_department_owns_the_window_steps(
    ledgers: dict[str, Ledger], scenario: str
) -> None:
    window = {s.code: s for s in ledgers[scenario].steps if s.item is None}
    assert set(window) == SCENARIOS[scenario].window, f"{scenario}: the bundle's own steps"
    for step in window.values():
        assert step.responsible == "single_window", f"{scenario}: {step.code} responsible"
        assert step.lane == SCENARIOS[scenario].lead, f"{scenario}: {step.code} lane"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_hand_count_adds_up(scenario: str) -> None:
    """The hand count itself: before − Σ removed = after, for every figure."""
    e = SCENARIOS[scenario]
    for name in ("forms", "fields", "materials", "steps", "visits"):
        removed = sum(line[5] for line in e.removed if line[0] == name)
        assert e.figures[f"{name}.before"] - removed == e.figures[f"{name}.after"], name
    days = [line for line in e.removed if line[0] == "days"]
    for kind, removed in (
        ("legal", sum(d[5] for d in days)),
        ("promised", sum(d[6] for d in days)),
    ):
        before, after = e.figures[f"days.{kind}.before"], e.figures[f"days.{kind}.after"]
        assert before - removed == after, f"days.{kind}"
