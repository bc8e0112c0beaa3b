"""The national key one-things of the demo county, each with its reduction ledger counted by hand.

The bundles are named as 国发〔2024〕3号 (附件《首批重点事项清单》) names them; their member items
are demo data (``src/tongban/demo/data``). Every figure below was counted by hand from the YAML and
the rules of ``tongban.bundles.compose`` (module docstring), not copied from the composer: a change
of the composer or of the data that changes a figure fails here, naming the bundle and the figure.

Notation in the comments: ``own`` is a member's limit less its own acceptance and delivery days;
``after = acceptance + Σ own along the longest path + delivery`` (the bundle's acceptance and
delivery take the shortest of the members' own); visits: one trip to submit, one to collect unless
every collecting member delivers by post or as an e-licence, plus each member's trips beyond two.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tongban.bundles import service as bundle_service
from tongban.bundles.compose import Ledger
from tongban.bundles.io import read_bundles
from tongban.catalog import io
from tongban.catalog import service as catalog_service
from tongban.demo.loader import BUNDLES_FILE, CATALOG_FILE, ORG_FILE
from tongban.org import service as org_service
from tongban.org.io import read_org

FIGURES = ("forms", "fields", "materials", "steps", "visits")
ACC, DEL, PAR = "BUNDLE#acceptance", "BUNDLE#delivery", "BUNDLE#parallel"
ID_CARD = "QX-GAJ-0001#CARD"  # the resident ID card, an e-licence of the demo catalogue


@dataclass(frozen=True)
class Expected:
    """A ledger counted by hand: (before, after) per figure, days as (legal, promised) pairs, and
    the removed lines as (figure, item, code, rule, source); days lines also carry their amounts
    as (figure, item, code, rule, source, legal, promised)."""

    forms: tuple[int, int]
    fields: tuple[int, int]
    materials: tuple[int, int]
    steps: tuple[int, int]
    visits: tuple[int, int]
    days_before: tuple[int, int]
    days_after: tuple[int, int]
    removed: set[tuple[str, ...]] = field(default_factory=set)
    days: set[tuple[object, ...]] = field(default_factory=set)


def one_form(keep: str, *folded: str) -> set[tuple[str, ...]]:
    return {("forms", code, code, "one_form", keep) for code in folded}


def window_steps(*steps: tuple[str, str, str]) -> set[tuple[str, ...]]:
    """(item, acceptance step, delivery step) of every member but the first one that has them."""
    out: set[tuple[str, ...]] = set()
    for item, acceptance, delivery in steps:
        if acceptance:
            out.add(("steps", item, acceptance, "single_window_acceptance", ACC))
        if delivery:
            out.add(("steps", item, delivery, "single_delivery", DEL))
    return out


def submit(*items: str) -> set[tuple[str, ...]]:
    return {("visits", i, f"{i}#submit", "single_window_visit", ACC) for i in items}


def collect(rule: str, *items: str) -> set[tuple[str, ...]]:
    return {("visits", i, f"{i}#collect", rule, DEL) for i in items}


def parallel(item: str, legal: int, promised: int) -> tuple[object, ...]:
    return ("days", item, item, "parallel_review", PAR, legal, promised)


def delivery_days(legal: int, promised: int) -> tuple[object, ...]:
    return ("days", "BUNDLE", DEL, "single_delivery", DEL, legal, promised)


def acceptance_days(legal: int, promised: int) -> tuple[object, ...]:
    return ("days", "BUNDLE", ACC, "single_window_acceptance", ACC, legal, promised)


# ------------------------------------------------------------------ 新生儿出生一件事

WJJ, GAJ, YBJ, RSJ = "QX-WJJ-0101", "QX-GAJ-0101", "QX-YBJ-0101", "QX-RSJ-0201"
BIRTHCERT, HUKOU = f"{WJJ}#BIRTHCERT", f"{GAJ}#HUKOU"

NEWBORN_FIELDS = {
    ("fields", GAJ, "name", "same_element", f"{WJJ}#mother_name"),
    ("fields", GAJ, "id_no", "same_element", f"{WJJ}#mother_id"),
    ("fields", GAJ, "child_name", "same_element", f"{WJJ}#child_name"),
    ("fields", GAJ, "child_birth_date", "same_element", f"{WJJ}#child_birth_date"),
    (
        "fields",
        YBJ,
        "child_name",
        "same_element",
        f"{WJJ}#child_name",
    ),  # first ancestor producing it
    ("fields", YBJ, "child_id_no", "member_output", HUKOU),
    ("fields", YBJ, "guardian_name", "same_element", f"{WJJ}#mother_name"),
}
NEWBORN_MATERIALS = {
    ("materials", WJJ, "M-ID", "e_licence", ID_CARD),
    ("materials", WJJ, "M-FATHER", "e_licence", ID_CARD),
    ("materials", GAJ, "M-BIRTHCERT", "member_output", BIRTHCERT),
    ("materials", GAJ, "M-HUKOU", "shared_data", "QX-GAJ"),
    ("materials", GAJ, "M-ID", "e_licence", ID_CARD),
    ("materials", YBJ, "M-HUKOU", "member_output", HUKOU),
    ("materials", YBJ, "M-ID", "e_licence", ID_CARD),
}

# Whole bundle. Legal: before 10+10+5+20 = 45; own WJJ 10−1 = 9, GAJ 10−1 = 9, YBJ 5−0 = 5,
# RSJ 20−2 = 18; longest path WJJ→GAJ→RSJ = 36; acceptance min(0,0,0,0) = 0, delivery
# min(1,1,0,2) = 0 → after 36; removed YBJ 5 (parallel) + delivery 1+1+0+2−0 = 4 → 45−9 = 36.
# Promised: 5+5+2+10 = 22; own 4, 4, 2, 8; path WJJ→GAJ→RSJ = 16; removed YBJ 2 + delivery 4.
# Visits: 1+1+1+2 = 5; one trip to submit; RSJ collects but posts the card → after 1.
NEWBORN = Expected(
    forms=(4, 1),
    fields=(5 + 6 + 4 + 5, 9),
    materials=(10, 2),
    steps=(16, 10),
    visits=(5, 1),
    days_before=(45, 22),
    days_after=(36, 16),
    removed=one_form(WJJ, GAJ, YBJ, RSJ)
    | NEWBORN_FIELDS
    | {
        ("fields", RSJ, "child_name", "same_element", f"{WJJ}#child_name"),
        ("fields", RSJ, "child_id_no", "member_output", HUKOU),
        ("fields", RSJ, "guardian_name", "same_element", f"{WJJ}#mother_name"),
        ("fields", RSJ, "phone", "same_element", f"{YBJ}#phone"),
    }
    | NEWBORN_MATERIALS
    | {("materials", RSJ, "M-HUKOU", "member_output", HUKOU)}
    | window_steps((GAJ, "S1", "S4"), (YBJ, "S1", "S4"), (RSJ, "S1", "S4"))
    | submit(GAJ, YBJ, RSJ)
    | collect("remote_delivery", RSJ),
    days={parallel(YBJ, 5, 2), delivery_days(4, 4)},
)

# needs_sscard = no: WJJ, GAJ, YBJ. Legal: before 25; own 9+9+5 = 23, all on the path;
# delivery min(1,1,0) = 0 → after 23; removed delivery 1+1+0 = 2. Promised: 12 → 4+4+2 = 10.
# Visits: 3 → one trip to submit, nobody collects → 1.
NEWBORN_NO_CARD = Expected(
    forms=(3, 1),
    fields=(15, 8),
    materials=(8, 1),
    steps=(12, 8),
    visits=(3, 1),
    days_before=(25, 12),
    days_after=(23, 10),
    removed=one_form(WJJ, GAJ, YBJ)
    | NEWBORN_FIELDS
    | NEWBORN_MATERIALS
    | window_steps((GAJ, "S1", "S4"), (YBJ, "S1", "S4"))
    | submit(GAJ, YBJ),
    days={delivery_days(2, 2)},
)

# ------------------------------------------------------------------ 教育入学一件事

ZRZY, ZJJ, JYJ = "QX-ZRZY-0201", "QX-ZJJ-0401", "QX-JYJ-0101"
ENROL_OWNED_LINES = {
    ("fields", JYJ, "guardian_name", "same_element", f"{ZRZY}#name"),  # the owner's name
    ("fields", JYJ, "guardian_id_no", "same_element", f"{ZRZY}#id_no"),
    ("fields", JYJ, "home_address", "same_element", f"{ZRZY}#property_address"),
    ("materials", ZRZY, "M-ID", "e_licence", ID_CARD),
    ("materials", JYJ, "M-HUKOU", "shared_data", "QX-GAJ"),
    ("materials", JYJ, "M-BIRTHCERT", "e_licence", BIRTHCERT),
    ("materials", JYJ, "M-PROPERTY", "member_output", f"{ZRZY}#PROOF"),
}

# Whole bundle (both housing members). Legal: before 3+5+15 = 23; own ZRZY 3, ZJJ 5−1 = 4,
# JYJ 15−1 = 14; JYJ waits for the slower ZJJ → path ZJJ→JYJ = 18; delivery min(0,1,1) = 0 →
# after 18; removed ZRZY 3 (parallel) + delivery 0+1+1 = 2. Promised: 1+3+10 = 14; own 1, 2, 9;
# path ZJJ→JYJ = 11; removed ZRZY 1 + delivery 2. Visits: 0+1+1 = 2 → one trip to submit = 1.
ENROLMENT = Expected(
    forms=(3, 1),
    fields=(3 + 4 + 7, 8),
    materials=(8, 1),
    steps=(10, 6),
    visits=(2, 1),
    days_before=(23, 14),
    days_after=(18, 11),
    removed=one_form(ZRZY, ZJJ, JYJ)
    | ENROL_OWNED_LINES
    | {
        ("fields", ZJJ, "name", "same_element", f"{ZRZY}#name"),
        ("fields", ZJJ, "id_no", "same_element", f"{ZRZY}#id_no"),
        ("fields", ZJJ, "property_address", "same_element", f"{ZRZY}#property_address"),
        ("materials", ZJJ, "M-ID", "e_licence", ID_CARD),
        ("materials", ZJJ, "M-CERT", "e_licence", "QX-ZRZY-0101#CERT"),
        ("materials", JYJ, "M-LEASE", "member_output", f"{ZJJ}#PROOF"),
    }
    | window_steps((ZJJ, "S1", "S3"), (JYJ, "S1", "S4"))
    | submit(JYJ),
    days={parallel(ZRZY, 3, 1), delivery_days(2, 2)},
)

# housing = owned: ZRZY, JYJ. The lease proof (conditional) stays asked: its producer, ZJJ, is
# not in this case's bundle. Legal: before 18; own 3 + 14 = 17; delivery min(0,1) = 0 → 17;
# removed delivery 1. Promised: 11 → 1 + 9 = 10. Visits: 0+1 = 1 → 1.
ENROLMENT_OWNED = Expected(
    forms=(2, 1),
    fields=(10, 7),
    materials=(5, 1),
    steps=(7, 5),
    visits=(1, 1),
    days_before=(18, 11),
    days_after=(17, 10),
    removed=one_form(ZRZY, JYJ) | ENROL_OWNED_LINES | window_steps((JYJ, "S1", "S4")),
    days={delivery_days(1, 1)},
)

# ------------------------------------------------------------------ 社保卡居民服务“一卡通”一件事

CARD, SETTLE, SUBSIDY = "QX-RSJ-0203", "QX-YBJ-0102", "QX-CZJ-0101"
ONE_CARD_LINES = {
    ("fields", SETTLE, "name", "same_element", f"{CARD}#name"),
    ("fields", SETTLE, "id_no", "same_element", f"{CARD}#id_no"),
    ("fields", SETTLE, "sscard_no", "member_output", f"{CARD}#CARD"),
    ("materials", CARD, "M-ID", "e_licence", ID_CARD),
    ("materials", CARD, "M-PHOTO", "shared_data", "QX-GAJ"),
    ("materials", SETTLE, "M-CARD", "member_output", f"{CARD}#CARD"),
}

# Whole bundle. Legal: before 20+3+5 = 28; own CARD 20−2 = 18, SETTLE 3, SUBSIDY 5; path
# CARD→SUBSIDY = 23; delivery min(2,0,0) = 0 → 23; removed SETTLE 3 + delivery 2. Promised:
# 10+1+3 = 14; own 8, 1, 3; path CARD→SUBSIDY = 11; removed SETTLE 1 + delivery 2.
# Visits: 2+0+1 = 3; one trip to submit; the card is posted → after 1.
ONE_CARD = Expected(
    forms=(3, 1),
    fields=(14, 7),
    materials=(5, 0),
    steps=(10, 6),
    visits=(3, 1),
    days_before=(28, 14),
    days_after=(23, 11),
    removed=one_form(CARD, SETTLE, SUBSIDY)
    | ONE_CARD_LINES
    | {
        ("fields", SUBSIDY, "name", "same_element", f"{CARD}#name"),
        ("fields", SUBSIDY, "id_no", "same_element", f"{CARD}#id_no"),
        ("fields", SUBSIDY, "sscard_no", "member_output", f"{CARD}#CARD"),
        ("fields", SUBSIDY, "bank_account", "member_output", f"{CARD}#CARD"),
        ("materials", SUBSIDY, "M-CARD", "member_output", f"{CARD}#CARD"),
        ("materials", SUBSIDY, "M-HUKOU", "shared_data", "QX-GAJ"),
    }
    | window_steps((SETTLE, "S1", "S3"), (SUBSIDY, "S1", "S3"))
    | submit(SUBSIDY)
    | collect("remote_delivery", CARD),
    days={parallel(SETTLE, 3, 1), delivery_days(2, 2)},
)

# receives_subsidy = no: CARD, SETTLE. Legal: before 23; path CARD→SETTLE 18+3 = 21; removed
# delivery 2. Promised: 11 → 8+1 = 9. Visits: 2 → 1 (the card is posted).
ONE_CARD_NO_SUBSIDY = Expected(
    forms=(2, 1),
    fields=(9, 6),
    materials=(3, 0),
    steps=(7, 5),
    visits=(2, 1),
    days_before=(23, 11),
    days_after=(21, 9),
    removed=one_form(CARD, SETTLE)
    | ONE_CARD_LINES
    | window_steps((SETTLE, "S1", "S3"))
    | collect("remote_delivery", CARD),
    days={delivery_days(2, 2)},
)

# ------------------------------------------------------------------ 退休一件事

PENSION, RETMED, HFUND = "QX-RSJ-0204", "QX-YBJ-0103", "QX-GJJ-0101"
PENSION_OUT = f"{PENSION}#DECISION"
RETIRE_LINES = {
    ("fields", RETMED, "name", "same_element", f"{PENSION}#name"),
    ("fields", RETMED, "id_no", "same_element", f"{PENSION}#id_no"),
    ("fields", RETMED, "retire_date", "same_element", "QX-RSJ-0204#retire_date"),
    ("materials", PENSION, "M-ID", "e_licence", ID_CARD),
    ("materials", PENSION, "M-RECORD", "shared_data", "QX-RSJ"),
    ("materials", PENSION, "M-CARD", "e_licence", "QX-RSJ-0203#CARD"),
    ("materials", RETMED, "M-DECISION", "member_output", PENSION_OUT),
    ("materials", RETMED, "M-ID", "e_licence", ID_CARD),
}

# Whole bundle. Legal: before 20+10+3 = 33; own PENSION 20−1 = 19, RETMED 10, HFUND 3; path
# PENSION→RETMED = 29; delivery min(1,0,0) = 0 → after 29; removed HFUND 3 + delivery 1.
# Promised: 10+5+1 = 16; own 9, 5, 1; path PENSION→RETMED = 14; removed HFUND 1 + delivery 1.
# Visits: 1+1+0 = 2 → one trip to submit = 1.
RETIREMENT = Expected(
    forms=(3, 1),
    fields=(12, 7),
    materials=(7, 1),
    steps=(11, 7),
    visits=(2, 1),
    days_before=(33, 16),
    days_after=(29, 14),
    removed=one_form(PENSION, RETMED, HFUND)
    | RETIRE_LINES
    | {
        ("fields", HFUND, "name", "same_element", f"{PENSION}#name"),
        ("fields", HFUND, "id_no", "same_element", f"{PENSION}#id_no"),
        ("materials", HFUND, "M-DECISION", "member_output", PENSION_OUT),
    }
    | window_steps((RETMED, "S1", "S3"), (HFUND, "S1", "S4"))
    | submit(RETMED),
    days={parallel(HFUND, 3, 1), delivery_days(1, 1)},
)

# has_housing_fund = no: PENSION, RETMED. Legal 30 → 19+10 = 29 (delivery 1 removed); promised
# 15 → 9+5 = 14. Visits 2 → 1.
RETIREMENT_NO_FUND = Expected(
    forms=(2, 1),
    fields=(8, 5),
    materials=(5, 0),
    steps=(7, 5),
    visits=(2, 1),
    days_before=(30, 15),
    days_after=(29, 14),
    removed=one_form(PENSION, RETMED)
    | RETIRE_LINES
    | window_steps((RETMED, "S1", "S3"))
    | submit(RETMED),
    days={delivery_days(1, 1)},
)

# ------------------------------------------------------------------ 身后一件事

DEATH, CANCEL, CREMATE, GRANT = "QX-WJJ-0102", "QX-GAJ-0103", "QX-MZJ-0301", "QX-RSJ-0206"
DEATHCERT = f"{DEATH}#DEATHCERT"
DEATH_LINES = {
    # The death certificate carries name, ID and date, but the certificate's own form asks them
    # of the applicant first: on the form already (same_element precedes member_output).
    *(("fields", item, f, "same_element", f"{DEATH}#{f}")
      for item in (CANCEL, CREMATE) for f in ("name", "id_no", "death_date")),
    ("fields", CANCEL, "agent_name", "same_element", f"{DEATH}#agent_name"),
    ("fields", CREMATE, "agent_name", "same_element", f"{DEATH}#agent_name"),
    ("materials", DEATH, "M-ID", "e_licence", ID_CARD),
    ("materials", DEATH, "M-AGENT", "e_licence", ID_CARD),
    ("materials", CANCEL, "M-DEATHCERT", "member_output", DEATHCERT),
    ("materials", CANCEL, "M-HUKOU", "shared_data", "QX-GAJ"),
    ("materials", CREMATE, "M-DEATHCERT", "member_output", DEATHCERT),
    ("materials", CREMATE, "M-AGENT", "e_licence", ID_CARD),
}  # fmt: skip

# Whole bundle. Legal: before 3+3+3+20 = 29; own DEATH 3, CANCEL 3, CREMATE 3−1 = 2, GRANT 20;
# GRANT waits for the slower CANCEL (6 > 5) → path DEATH→CANCEL→GRANT = 26; delivery
# min(0,0,1,0) = 0 → 26; removed CREMATE 2 + delivery 1. Promised: 1+1+2+10 = 14; own 1, 1, 1,
# 10; CANCEL and CREMATE both finish at 2, the first (CANCEL) is taken → 12; removed CREMATE 1
# + delivery 1. Visits: 1+1+2+1 = 5; one trip to submit, one to collect the cremation
# certificate in person (window only, not an e-licence) → 2.
AFTER_DEATH = Expected(
    forms=(4, 1),
    fields=(20, 8),
    materials=(9, 1),
    steps=(13, 7),
    visits=(5, 2),
    days_before=(29, 14),
    days_after=(26, 12),
    removed=one_form(DEATH, CANCEL, CREMATE, GRANT)
    | DEATH_LINES
    | {
        ("fields", GRANT, "name", "same_element", f"{DEATH}#name"),
        ("fields", GRANT, "id_no", "same_element", f"{DEATH}#id_no"),
        ("fields", GRANT, "agent_name", "same_element", f"{DEATH}#agent_name"),
        ("fields", GRANT, "relation", "same_element", f"{CANCEL}#relation"),
        ("materials", GRANT, "M-CANCEL", "member_output", f"{CANCEL}#CANCEL"),
        ("materials", GRANT, "M-CREMATION", "member_output", f"{CREMATE}#CREMATION"),
    }
    | window_steps((CANCEL, "S1", "S3"), (CREMATE, "S1", "S3"), (GRANT, "S1", "S4"))
    | submit(CANCEL, CREMATE, GRANT),
    days={parallel(CREMATE, 2, 1), delivery_days(1, 1)},
)

# insured_pension = no: DEATH, CANCEL, CREMATE. Legal: before 9; path DEATH→CANCEL 3+3 = 6;
# removed CREMATE 2 + delivery 1. Promised: 4; path DEATH→CANCEL 1+1 = 2 (CANCEL is first of the
# two finishing at 2); removed CREMATE 1 + delivery 1. Visits: 4 → submit 1 + collect 1 = 2.
AFTER_DEATH_UNINSURED = Expected(
    forms=(3, 1),
    fields=(14, 6),
    materials=(6, 0),
    steps=(9, 5),
    visits=(4, 2),
    days_before=(9, 4),
    days_after=(6, 2),
    removed=one_form(DEATH, CANCEL, CREMATE)
    | DEATH_LINES
    | window_steps((CANCEL, "S1", "S3"), (CREMATE, "S1", "S3"))
    | submit(CANCEL, CREMATE),
    days={parallel(CREMATE, 2, 1), delivery_days(1, 1)},
)

# ------------------------------------------------------------------ 开办餐饮店一件事

SOLE, FOOD, SIGN, FIRE = "QX-SCJ-0101", "QX-SCJ-0102", "QX-ZHZF-0101", "QX-XF-0101"
BL = f"{SOLE}#LICENCE"
FOOD_LINES = {
    # The sole trader's form asks name, representative and address (on the form already); the
    # credit code exists only once the registration issues it (produced).
    *(("fields", FOOD, f, "same_element", f"{SOLE}#{f}")
      for f in ("enterprise_name", "legal_rep", "business_address")),
    ("fields", FOOD, "uscc", "member_output", BL),
    ("fields", FOOD, "phone", "same_element", f"{SOLE}#phone"),
    ("materials", SOLE, "M-ID", "e_licence", ID_CARD),
    ("materials", FOOD, "M-BL", "member_output", BL),
}  # fmt: skip

# Whole bundle. Legal: before 3+20+5+10 = 38; no member has acceptance or delivery days, so own =
# limit; path SOLE→FOOD = 23; removed SIGN 5 + FIRE 10 (parallel). Promised: 1+5+3+5 = 14; FOOD
# and FIRE both finish at 6, FOOD (first) is on the path → 6; removed SIGN 3 + FIRE 5.
# Visits: 0+1+0+1 = 2 → one trip to submit = 1.
RESTAURANT = Expected(
    forms=(4, 1),
    fields=(21, 7),
    materials=(9, 5),
    steps=(17, 11),
    visits=(2, 1),
    days_before=(38, 14),
    days_after=(23, 6),
    removed=one_form(SOLE, FOOD, SIGN, FIRE)
    | FOOD_LINES
    | {
        *(("fields", item, f, "same_element", f"{SOLE}#{f}")
          for item in (SIGN, FIRE) for f in ("enterprise_name", "business_address")),
        *(("fields", item, "uscc", "member_output", BL) for item in (SIGN, FIRE)),
        ("fields", SIGN, "phone", "same_element", f"{SOLE}#phone"),
        ("fields", FIRE, "business_area", "same_element", f"{FOOD}#business_area"),
        ("fields", FIRE, "phone", "same_element", f"{SOLE}#phone"),
        ("materials", SIGN, "M-BL", "member_output", BL),
        ("materials", FIRE, "M-BL", "member_output", BL),
    }
    | window_steps((FOOD, "S1", "S5"), (SIGN, "S1", "S3"), (FIRE, "S1", "S5"))
    | submit(FIRE),
    days={parallel(SIGN, 5, 3), parallel(FIRE, 10, 5)},
)  # fmt: skip

# No sign, not a public venue: SOLE, FOOD. Legal 23 → 23, promised 6 → 6: nothing runs beside
# the path and no window days to save. Visits 1 → 1.
RESTAURANT_SMALL = Expected(
    forms=(2, 1),
    fields=(12, 7),
    materials=(5, 3),
    steps=(9, 7),
    visits=(1, 1),
    days_before=(23, 6),
    days_after=(23, 6),
    removed=one_form(SOLE, FOOD) | FOOD_LINES | window_steps((FOOD, "S1", "S5")),
)

# ------------------------------------------------------------------ 水电气网联合报装一件事

WATER, POWER, GAS, NET = "QX-WATER-0101", "QX-POWER-0101", "QX-GAS-0101", "QX-BROADBAND-0101"
CERT = "QX-ZRZY-0101#CERT"


def asked_again(item: str, *codes: str) -> set[tuple[str, ...]]:
    return {("fields", item, c, "same_element", f"{WATER}#{c}") for c in codes}


def licences(item: str, with_cert: bool = True) -> set[tuple[str, ...]]:
    out = {("materials", item, "M-ID", "e_licence", ID_CARD)}
    if with_cert:
        out.add(("materials", item, "M-CERT", "e_licence", CERT))
    return out


# Whole bundle: four independent members side by side. Legal: before 10+8+15+5 = 38; own WATER
# 10−1 = 9, POWER 8, GAS 15−1 = 14, NET 5; the path is GAS alone = 14; delivery min(1,0,1,0) = 0
# → 14; removed WATER 9 + POWER 8 + NET 5 + delivery 2 = 24. Promised: 5+4+8+2 = 19; own 4, 4, 7,
# 2; path GAS = 7; removed 4+4+2 + delivery 2 = 12. Visits: 1+1+2+0 = 4; one trip to submit, one
# for the gas (ignition at the window-only gas company) → 2.
UTILITIES = Expected(
    forms=(4, 1),
    fields=(16, 5),
    materials=(7, 0),
    steps=(15, 9),
    visits=(4, 2),
    days_before=(38, 19),
    days_after=(14, 7),
    removed=one_form(WATER, POWER, GAS, NET)
    | asked_again(POWER, "name", "id_no", "address", "phone")
    | asked_again(GAS, "name", "id_no", "address")
    | asked_again(NET, "name", "id_no", "address", "phone")
    | licences(WATER)
    | licences(POWER)
    | licences(GAS)
    | licences(NET, with_cert=False)
    | window_steps((POWER, "S1", "S4"), (GAS, "S1", "S4"), (NET, "S1", "S3"))
    | submit(POWER, GAS),
    days={parallel(WATER, 9, 4), parallel(POWER, 8, 4), parallel(NET, 5, 2), delivery_days(2, 2)},
)

# No gas, broadband: WATER, POWER, NET. Legal: before 23; path WATER = 9 (the longest own);
# delivery min(1,0,0) = 0; removed POWER 8 + NET 5 + delivery 1. Promised: 11; WATER and POWER
# both 4, WATER first → 4; removed POWER 4 + NET 2 + delivery 1. Visits 2 → 1.
UTILITIES_NO_GAS = Expected(
    forms=(3, 1),
    fields=(12, 4),
    materials=(5, 0),
    steps=(11, 7),
    visits=(2, 1),
    days_before=(23, 11),
    days_after=(9, 4),
    removed=one_form(WATER, POWER, NET)
    | asked_again(POWER, "name", "id_no", "address", "phone")
    | asked_again(NET, "name", "id_no", "address", "phone")
    | licences(WATER)
    | licences(POWER)
    | licences(NET, with_cert=False)
    | window_steps((POWER, "S1", "S4"), (NET, "S1", "S3"))
    | submit(POWER),
    days={parallel(POWER, 8, 4), parallel(NET, 5, 2), delivery_days(1, 1)},
)

# ------------------------------------------------------------------ 企业信息变更一件事

CHANGE, TAXCHG, SICHG, HFCHG = "QX-SCJ-0103", "QX-SWJ-0101", "QX-RSJ-0207", "QX-GJJ-0102"
NEW_BL = f"{CHANGE}#LICENCE"
BL_ELICENCE = "QX-SCJ-0001#LICENCE"  # the business licence, an e-licence of the demo catalogue
CHANGE_LINES = {
    # The change form itself asks every datum the new licence carries: on the form already.
    *(("fields", TAXCHG, f, "same_element", f"{CHANGE}#{f}")
      for f in ("enterprise_name", "uscc", "legal_rep", "business_address")),
    *(("fields", SICHG, f, "same_element", f"{CHANGE}#{f}")
      for f in ("enterprise_name", "uscc", "legal_rep")),
    ("fields", SICHG, "phone", "same_element", f"{CHANGE}#phone"),
    ("materials", CHANGE, "M-BL", "e_licence", BL_ELICENCE),
    ("materials", TAXCHG, "M-BL", "member_output", NEW_BL),
    ("materials", SICHG, "M-BL", "member_output", NEW_BL),
}  # fmt: skip

# Whole bundle: no acceptance or delivery days, so own = limit. Legal: before 3+3+5+5 = 16;
# SICHG and HFCHG both finish at 8, SICHG (first) is on the path → 8; removed TAXCHG 3 + HFCHG 5.
# Promised: 1+1+2+3 = 7; finishes 2, 3, 4 → path CHANGE→HFCHG = 4; removed TAXCHG 1 + SICHG 2.
# So SICHG is off the promised path only, HFCHG off the legal path only. Visits: all online, 0.
ENTERPRISE_CHANGE = Expected(
    forms=(4, 1),
    fields=(19, 7),
    materials=(5, 1),
    steps=(13, 7),
    visits=(0, 0),
    days_before=(16, 7),
    days_after=(8, 4),
    removed=one_form(CHANGE, TAXCHG, SICHG, HFCHG)
    | CHANGE_LINES
    | {
        *(("fields", HFCHG, f, "same_element", f"{CHANGE}#{f}")
          for f in ("enterprise_name", "uscc", "business_address")),
        ("fields", HFCHG, "contact_name", "same_element", f"{SICHG}#contact_name"),
        ("materials", HFCHG, "M-BL", "member_output", NEW_BL),
    }
    | window_steps((TAXCHG, "S1", "S3"), (SICHG, "S1", "S3"), (HFCHG, "S1", "S3")),
    days={parallel(TAXCHG, 3, 1), parallel(HFCHG, 5, 0), parallel(SICHG, 0, 2)},
)  # fmt: skip

# has_housing_fund = no: CHANGE, TAXCHG, SICHG. Legal 11 → CHANGE→SICHG 3+5 = 8, removed TAXCHG
# 3; promised 4 → 1+2 = 3, removed TAXCHG 1.
ENTERPRISE_CHANGE_NO_FUND = Expected(
    forms=(3, 1),
    fields=(15, 7),
    materials=(4, 1),
    steps=(10, 6),
    visits=(0, 0),
    days_before=(11, 4),
    days_after=(8, 3),
    removed=one_form(CHANGE, TAXCHG, SICHG)
    | CHANGE_LINES
    | window_steps((TAXCHG, "S1", "S3"), (SICHG, "S1", "S3")),
    days={parallel(TAXCHG, 3, 1)},
)

# ------------------------------------------------------------------ 企业注销登记一件事

CLEAR, CLOSE, SIOFF, HFOFF = "QX-SWJ-0102", "QX-SCJ-0104", "QX-RSJ-0208", "QX-GJJ-0103"
CLEARANCE, NOTICE = f"{CLEAR}#CLEARANCE", f"{CLOSE}#NOTICE"
CLOSE_LINES = {
    ("fields", CLOSE, "enterprise_name", "same_element", f"{CLEAR}#enterprise_name"),
    ("fields", CLOSE, "uscc", "same_element", f"{CLEAR}#uscc"),
    ("fields", CLOSE, "legal_rep", "same_element", f"{CLEAR}#legal_rep"),
    ("fields", CLOSE, "phone", "same_element", f"{CLEAR}#phone"),
    ("fields", SIOFF, "enterprise_name", "same_element", f"{CLEAR}#enterprise_name"),
    ("fields", SIOFF, "uscc", "same_element", f"{CLEAR}#uscc"),  # the first ancestor producing it
    ("materials", CLEAR, "M-BL", "e_licence", BL_ELICENCE),
    ("materials", CLOSE, "M-CLEAR", "member_output", CLEARANCE),
    ("materials", CLOSE, "M-BL", "e_licence", BL_ELICENCE),
    ("materials", SIOFF, "M-NOTICE", "member_output", NOTICE),
}

# Whole bundle: own = limit (no acceptance or delivery days). Legal: before 5+3+5+5 = 18;
# finishes CLEAR 5, CLOSE 8, SIOFF 13, HFOFF 13 → SIOFF (first) on the path = 13; removed HFOFF 5.
# Promised: 2+1+2+3 = 8; finishes 2, 3, 5, 6 → path CLEAR→CLOSE→HFOFF = 6; removed SIOFF 2.
# Visits: all online, 0.
DEREGISTRATION = Expected(
    forms=(4, 1),
    fields=(15, 7),
    materials=(6, 1),
    steps=(13, 7),
    visits=(0, 0),
    days_before=(18, 8),
    days_after=(13, 6),
    removed=one_form(CLEAR, CLOSE, SIOFF, HFOFF)
    | CLOSE_LINES
    | {
        ("fields", HFOFF, "enterprise_name", "same_element", f"{CLEAR}#enterprise_name"),
        ("fields", HFOFF, "uscc", "same_element", f"{CLEAR}#uscc"),
        ("materials", HFOFF, "M-NOTICE", "member_output", NOTICE),
    }
    | window_steps((CLOSE, "S1", "S4"), (SIOFF, "S1", "S3"), (HFOFF, "S1", "S3")),
    days={parallel(HFOFF, 5, 0), parallel(SIOFF, 0, 2)},
)

# has_housing_fund = no: a chain CLEAR→CLOSE→SIOFF, legal 5+3+5 = 13 and promised 2+1+2 = 5
# before and after: nothing runs beside it, no window days.
DEREGISTRATION_NO_FUND = Expected(
    forms=(3, 1),
    fields=(12, 6),
    materials=(5, 1),
    steps=(10, 6),
    visits=(0, 0),
    days_before=(13, 5),
    days_after=(13, 5),
    removed=one_form(CLEAR, CLOSE, SIOFF)
    | CLOSE_LINES
    | window_steps((CLOSE, "S1", "S4"), (SIOFF, "S1", "S3")),
)

# ------------------------------------------------------------------ 信用修复一件事

CONFIRM, CREDIT, ABNORMAL = "QX-ZHZF-0103", "QX-FGJ-0101", "QX-SCJ-0105"
CREDIT_LINES = {
    ("fields", CREDIT, "enterprise_name", "same_element", f"{CONFIRM}#enterprise_name"),
    ("fields", CREDIT, "uscc", "same_element", f"{CONFIRM}#uscc"),
    # the confirmation's own form asks the penalty's number: on the form already
    ("fields", CREDIT, "penalty_doc_no", "same_element", f"{CONFIRM}#penalty_doc_no"),
    ("fields", CREDIT, "phone", "same_element", f"{CONFIRM}#phone"),
    ("materials", CONFIRM, "M-BL", "e_licence", BL_ELICENCE),
    ("materials", CREDIT, "M-CONFIRM", "member_output", f"{CONFIRM}#CONFIRM"),
}

# Whole bundle. Order: CONFIRM and ABNORMAL (stage 1), then CREDIT (stage 2). Legal: 5+5+5 = 15;
# own = limit; path CONFIRM→CREDIT = 10; removed ABNORMAL 5. Promised: 3+3+4 = 10; path 3+4 = 7;
# removed ABNORMAL 3. ABNORMAL's report (enterprise name and code) stays asked: the business
# licence that carries the same data is removed as an e-licence, not kept. Visits: 1 → 1.
CREDIT_REPAIR = Expected(
    forms=(3, 1),
    fields=(13, 6),
    materials=(5, 3),
    steps=(11, 7),
    visits=(1, 1),
    days_before=(15, 10),
    days_after=(10, 7),
    removed=one_form(CONFIRM, ABNORMAL, CREDIT)
    | CREDIT_LINES
    | {
        ("fields", ABNORMAL, "enterprise_name", "same_element", f"{CONFIRM}#enterprise_name"),
        ("fields", ABNORMAL, "uscc", "same_element", f"{CONFIRM}#uscc"),
        ("fields", ABNORMAL, "phone", "same_element", f"{CONFIRM}#phone"),
    }
    | window_steps((ABNORMAL, "S1", "S4"), (CREDIT, "S1", "S4")),
    days={parallel(ABNORMAL, 5, 3)},
)

# listed_abnormal = no: CONFIRM→CREDIT, legal 10 and promised 7 before and after. Visits 1 → 1.
CREDIT_REPAIR_NOT_LISTED = Expected(
    forms=(2, 1),
    fields=(9, 5),
    materials=(4, 2),
    steps=(7, 5),
    visits=(1, 1),
    days_before=(10, 7),
    days_after=(10, 7),
    removed=one_form(CONFIRM, CREDIT) | CREDIT_LINES | window_steps((CREDIT, "S1", "S4")),
)

CASES: list[tuple[str, dict[str, str] | None, Expected]] = [
    ("newborn-birth", None, NEWBORN),
    ("newborn-birth", {"needs_sscard": "no"}, NEWBORN_NO_CARD),
    ("school-enrolment", None, ENROLMENT),
    ("school-enrolment", {"housing": "owned"}, ENROLMENT_OWNED),
    ("sscard-one-card", None, ONE_CARD),
    ("sscard-one-card", {"receives_subsidy": "no"}, ONE_CARD_NO_SUBSIDY),
    ("retirement", None, RETIREMENT),
    ("retirement", {"has_housing_fund": "no"}, RETIREMENT_NO_FUND),
    ("after-death", None, AFTER_DEATH),
    ("after-death", {"insured_pension": "no"}, AFTER_DEATH_UNINSURED),
    ("open-restaurant", None, RESTAURANT),
    ("open-restaurant", {"has_signboard": "no", "public_venue": "no"}, RESTAURANT_SMALL),
    ("utility-connection", None, UTILITIES),
    ("utility-connection", {"has_gas": "no", "has_broadband": "yes"}, UTILITIES_NO_GAS),
    ("enterprise-change", None, ENTERPRISE_CHANGE),
    ("enterprise-change", {"has_housing_fund": "no"}, ENTERPRISE_CHANGE_NO_FUND),
    ("enterprise-deregistration", None, DEREGISTRATION),
    ("enterprise-deregistration", {"has_housing_fund": "no"}, DEREGISTRATION_NO_FUND),
    ("credit-repair", None, CREDIT_REPAIR),
    ("credit-repair", {"listed_abnormal": "no"}, CREDIT_REPAIR_NOT_LISTED),
]


# ------------------------------------------------------------------ the check


@pytest.fixture(scope="module")
def demo(engine: Engine) -> Iterator[Session]:
    """The demo county's organisation, catalogue and bundles (no cases), rolled back after."""
    connection = engine.connect()
    outer = connection.begin()
    db = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        org_service.load_org(session=db, document=read_org(ORG_FILE))
        catalog_service.import_catalog(session=db, document=io.read_catalog(CATALOG_FILE))
        bundle_service.import_bundles(session=db, document=read_bundles(BUNDLES_FILE))
        yield db
    finally:
        db.close()
        outer.rollback()
        connection.close()


def _compose(demo: Session, code: str, answers: dict[str, str] | None) -> Ledger:
    return bundle_service.compose_bundle(
        session=demo, principal=None, code=code, answers=answers, as_system=True
    )


def _removed(ledger: Ledger) -> tuple[set[tuple[str, ...]], set[tuple[object, ...]]]:
    lines = {
        (figure, r.item, r.code, r.rule, r.source)
        for figure in FIGURES
        for r in ledger.removed[figure]
    }
    days = {
        ("days", r.item, r.code, r.rule, r.source, r.amount, r.amount_promised)
        for r in ledger.removed["days"]
    }
    return lines, days


def _case_id(code: str, answers: dict[str, str] | None) -> str:
    return (
        code
        + "-"
        + ("whole" if answers is None else ",".join(f"{k}={v}" for k, v in answers.items()))
    )


@pytest.mark.parametrize(
    ("code", "answers", "expected"), CASES, ids=[_case_id(c, a) for c, a, _ in CASES]
)
def test_national_one_thing_ledger_matches_the_hand_count(
    demo: Session, code: str, answers: dict[str, str] | None, expected: Expected
) -> None:
    ledger = _compose(demo, code, answers)
    for figure in FIGURES:
        got = (getattr(ledger.before, figure), getattr(ledger.after, figure))
        assert got == getattr(expected, figure), f"{code}: {figure}"
    for i, kind in enumerate(("legal", "promised")):
        assert ledger.before.days[kind] == expected.days_before[i], f"{code}: days {kind} before"
        assert ledger.after.days[kind] == expected.days_after[i], f"{code}: days {kind} after"
    lines, days = _removed(ledger)
    for figure in FIGURES:
        want = {line for line in expected.removed if line[0] == figure}
        have = {line for line in lines if line[0] == figure}
        assert have == want, f"{code}: removed {figure}"
    assert days == expected.days, f"{code}: removed days"
    # and the hand count is consistent with itself: before − Σ removed = after
    for figure in FIGURES:
        before, after = getattr(expected, figure)
        amounts = sum(r.amount for r in ledger.removed[figure])
        assert before - amounts == after, f"{code}: {figure} does not add up"
    assert not ledger.conflicts, f"{code}: {ledger.conflicts}"


def test_every_national_one_thing_passes_its_lints(demo: Session) -> None:
    for code in dict.fromkeys(c for c, _, _ in CASES):
        bundle = bundle_service.get_bundle(session=demo, principal=None, code=code, as_system=True)
        assert bundle_service.lint(session=demo, bundle=bundle.bundle) == [], code
