"""Catalogue search speed (decision 0005): ``search_p95_ms`` at 100,000 items, next to the old
substring search (the "peer": ``LIKE '%text%'`` over names and codes, sorted by code) on the
same data in the same run.

Standalone (``bench/catalog_io.py`` is another benchmark's): it migrates a fresh SQLite file (or
the PostgreSQL database named by ``--pg URL``), writes one county with 40 departments and
``--items`` published items (names built from real item words, the style of a county list:
"居民身份证申领", "个体工商户设立登记", …, each with three materials), builds the index
(``index_s``), then runs the queries a citizen types (Chinese, pinyin, initials, a code, a
synonym) as anonymous through ``catalog.service.search_items`` (first page of 50 and the total),
and the peer's query. Prints ``name value`` lines.

Run: ``.venv/bin/python bench/catalog_search.py`` (100,000 items) or ``--items 10000``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, insert, or_, select
from sqlalchemy.orm import Session

from tongban.catalog import repository, service
from tongban.catalog.models import ItemVersion, Material, ServiceItem
from tongban.catalog.search import index as search_index
from tongban.db import make_engine
from tongban.migrate import upgrade
from tongban.org.models import Department, Jurisdiction

OBJECTS = [
    "居民身份证",
    "营业执照",
    "社会保险",
    "户籍",
    "残疾人证",
    "食品经营许可证",
    "建设工程规划许可证",
    "机动车驾驶证",
    "出生医学证明",
    "婚姻登记",
    "不动产权证书",
    "税务登记",
    "医师执业证书",
    "道路运输证",
    "排污许可证",
    "取水许可",
    "烟草专卖零售许可证",
    "民办学校办学许可",
    "护士执业",
    "特种设备使用登记",
]
ACTIONS = [
    "申领",
    "换领",
    "补领",
    "注销",
    "变更",
    "首次登记",
    "延续",
    "核发",
    "备案",
    "查询",
    "开具",
]
PREFIXES = [
    "",
    "",
    "",
    "临时",
    "个体工商户",
    "企业",
    "外商投资企业",
    "农村",
    "城镇职工",
    "税收居民",
]
MATERIALS = [
    "居民身份证复印件",
    "申请表",
    "营业执照副本",
    "户口簿",
    "授权委托书",
    "照片",
    "证明材料",
]
QUERIES = [
    "身份证",
    "shenfenzheng",
    "sfz",
    "营业执照",
    "社保",
    "残疾",
    "许可证",
    "户口迁移",
    "yingyezhizhao",
    "食品经营",
    "补领",
    "QX-D03-000123",
    "登记 变更",
    "%",
    "不存在的事项",
]


def build(session: Session, items: int, rng: random.Random) -> None:
    county = Jurisdiction(
        code="990123", name_zh="清溪县", name_en="Qingxi", level="county", path="/990123/"
    )
    session.add(county)
    session.flush()
    departments = [
        Department(
            code=f"QX-D{i:02d}",
            name_zh=f"清溪县第{i}局",
            name_en=f"Bureau {i}",
            jurisdiction_id=county.id,
        )
        for i in range(40)
    ]
    session.add_all(departments)
    session.flush()
    for start in range(0, items, 5000):
        batch = range(start, min(start + 5000, items))
        codes = [f"QX-D{n % 40:02d}-{n:06d}" for n in batch]
        session.execute(
            insert(ServiceItem), [{"implementation_code": c, "basic_code": "B." + c} for c in codes]
        )
        ids = dict(
            session.execute(
                select(ServiceItem.implementation_code, ServiceItem.id).where(
                    ServiceItem.implementation_code.in_(codes)
                )
            ).all()
        )
        versions = []
        for n, code in zip(batch, codes, strict=True):
            name = rng.choice(PREFIXES) + rng.choice(OBJECTS) + rng.choice(ACTIONS)
            versions.append(
                {
                    "item_id": ids[code],
                    "version_no": 1,
                    "status": "published",
                    "name_zh": name,
                    "name_en": f"Item {n}",
                    "item_type": "public_service",
                    "department_id": departments[n % 40].id,
                    "legal_limit_days": 20,
                    "promised_limit_days": 5,
                    "channels": [],
                    "conditions": [],
                    "fees": [],
                    "lock_version": 1,
                }
            )
        session.execute(insert(ItemVersion), versions)
        vids = list(
            session.scalars(
                select(ItemVersion.id).where(ItemVersion.item_id.in_(list(ids.values())))
            )
        )
        session.execute(
            insert(Material),
            [
                {
                    "version_id": v,
                    "position": p,
                    "code": f"M{p}",
                    "name_zh": rng.choice(MATERIALS),
                    "name_en": "",
                    "necessity": "required",
                    "format": "paper",
                    "source": "applicant",
                    "element_codes": [],
                }
                for v in vids
                for p in range(3)
            ],
        )


def peer(session: Session, text: str) -> None:
    """The search before decision 0005, as ``repository.search_latest`` ran it."""
    latest = (
        select(ItemVersion.item_id, func.max(ItemVersion.version_no).label("v"))
        .where(ItemVersion.status == "published")
        .group_by(ItemVersion.item_id)
        .subquery()
    )
    needle = f"%{text.lower()}%"
    query = (
        select(ItemVersion, ServiceItem.implementation_code)
        .join(
            latest,
            (latest.c.item_id == ItemVersion.item_id) & (latest.c.v == ItemVersion.version_no),
        )
        .join(ServiceItem, ServiceItem.id == ItemVersion.item_id)
        .where(
            or_(
                func.lower(ItemVersion.name_zh).like(needle),
                func.lower(ItemVersion.name_en).like(needle),
                func.lower(ServiceItem.implementation_code).like(needle),
                func.lower(ServiceItem.basic_code).like(needle),
            )
        )
    )
    session.scalar(select(func.count()).select_from(query.subquery()))
    session.execute(query.order_by(ServiceItem.implementation_code).limit(50)).all()


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pg", default="", help="a PostgreSQL URL of an empty database")
    args = parser.parse_args()
    url = args.pg or f"sqlite:///{Path(tempfile.mkdtemp()) / 'search.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    rng = random.Random(11)
    with Session(engine) as session:
        started = time.perf_counter()
        build(session, args.items, rng)
        session.commit()
        print(f"build_s {time.perf_counter() - started:.1f}")
        started = time.perf_counter()
        count = search_index.reindex(session)
        session.commit()
        print(f"index_s {time.perf_counter() - started:.1f}  ({count} versions)")
    with Session(engine) as session:
        service.parsed_query(session, "warm")  # the pinyin syllable table, once
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(args.rounds):
        for text in QUERIES:
            with Session(engine) as session:
                started = time.perf_counter()
                rows, total = service.search_items(
                    session=session, principal=None, flt=repository.ItemFilter(text=text, limit=50)
                )
                ours.append(time.perf_counter() - started)
                started = time.perf_counter()
                peer(session, text)
                theirs.append(time.perf_counter() - started)
    with Session(engine) as session:
        for text in QUERIES:
            rows, total = service.search_items(
                session=session, principal=None, flt=repository.ItemFilter(text=text, limit=3)
            )
            print(f"  {text!r}: {total} found, first {[r.version.name_zh for r in rows]}")
    print(f"items {args.items}")
    print(f"search_p95_ms {p95(ours):.1f}")
    print(f"search_median_ms {statistics.median(ours) * 1000:.1f}")
    print(f"peer_substring_p95_ms {p95(theirs):.1f}")
    print(f"peer_substring_median_ms {statistics.median(theirs) * 1000:.1f}")


if __name__ == "__main__":
    main()
