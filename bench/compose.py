"""Composition speed: a synthetic bundle of 60 items, 600 form fields and 200 materials.

Prints the time per composition of the pure composer (``compose_pure_ms``) and of the whole
service path that loads the published items from SQLite and composes them (``compose_ms``, the
figure the target of under 100 ms applies to). Run alone: ``.venv/bin/python bench/compose.py``;
``--quick`` runs in well under a minute.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from tongban.bundles import service as bundle_service  # noqa: E402
from tongban.bundles.compose import ElementInfo, Member, compose  # noqa: E402
from tongban.bundles.schemas import BundleIn  # noqa: E402
from tongban.catalog import service as catalog_service  # noqa: E402
from tongban.catalog.schemas import CatalogDocument, ItemIn  # noqa: E402
from tongban.db import make_engine, set_engine  # noqa: E402
from tongban.migrate import upgrade  # noqa: E402
from tongban.org import service as org_service  # noqa: E402
from tongban.org.schemas import OrgDocument  # noqa: E402

ITEMS, FIELDS_PER_ITEM, ELEMENTS = 60, 10, 150
MATERIALS = 200


def synthetic(seed: int = 7) -> tuple[dict[str, Any], list[dict[str, Any]], BundleIn]:
    rng = random.Random(seed)
    departments = [f"D{i:02d}" for i in range(12)]
    org = {
        "jurisdictions": [{"code": "990000", "name_zh": "省", "name_en": "P"}],
        "departments": [
            {"code": d, "name_zh": d, "name_en": d, "jurisdiction": "990000"} for d in departments
        ],
    }
    elements = [
        {"code": f"E{i:03d}", "name_zh": f"数据元{i}", "name_en": f"Element {i}"}
        for i in range(ELEMENTS)
    ]
    items = []
    materials_left = MATERIALS
    for n in range(ITEMS):
        code = f"BENCH-{n:03d}"
        dept = departments[n % len(departments)]
        chosen = rng.sample(range(ELEMENTS), FIELDS_PER_ITEM)
        count = materials_left // (ITEMS - n)
        materials_left -= count
        sources = ["applicant", "applicant", "shared_data", "e_licence", "item_output"]
        materials = []
        for m in range(count):
            source = rng.choice(sources if n else sources[:4])
            ref = {
                "shared_data": dept,
                "e_licence": "BENCH-000#OUT",  # an e-licence type that exists (BENCH-000 issues it)
                "item_output": f"BENCH-{rng.randrange(n) if n else 0:03d}#OUT",
            }.get(source, "")
            materials.append(
                {
                    "code": f"M{m}",
                    "name_zh": f"材料{rng.randrange(120)}",
                    "name_en": "m",
                    "source": source,
                    "source_ref": ref,
                    "elements": [f"E{e:03d}" for e in rng.sample(range(ELEMENTS), 2)],
                }
            )
        items.append(
            {
                "implementation_code": code,
                "basic_code": code,
                "name_zh": code,
                "name_en": code,
                "type": "public_service",
                "department": dept,
                "form": [
                    {
                        "code": f"F{i}",
                        "label_zh": f"字段{e}",
                        "label_en": "f",
                        "element": f"E{e:03d}",
                    }
                    for i, e in enumerate(chosen)
                ],
                "materials": materials,
                "steps": [
                    {
                        "code": "S1",
                        "kind": "acceptance",
                        "name_zh": "受理",
                        "name_en": "a",
                        "responsible": dept,
                        "limit_days": 1,
                    },
                    {
                        "code": "S2",
                        "kind": "review",
                        "name_zh": "审查",
                        "name_en": "r",
                        "responsible": dept,
                        "limit_days": 3,
                    },
                    {
                        "code": "S3",
                        "kind": "delivery",
                        "name_zh": "送达",
                        "name_en": "d",
                        "responsible": dept,
                        "limit_days": 1,
                    },
                ],
                "outputs": [
                    {
                        "code": "OUT",
                        "name_zh": "结果",
                        "name_en": "o",
                        "kind": "certificate",
                        "e_licence": n == 0,
                        "elements": [f"E{e:03d}" for e in rng.sample(range(ELEMENTS), 3)],
                    }
                ],
                "time_limit": {"legal": 10, "promised": 5},
                "visits": rng.randrange(3),
            }
        )
    members = []
    for n in range(ITEMS):
        deps = sorted({f"BENCH-{rng.randrange(n):03d}" for _ in range(min(n, 2))}) if n else []
        members.append({"item": f"BENCH-{n:03d}", "stage": 1 + n // 10, "depends_on": deps})
    bundle = BundleIn.model_validate(
        {
            "code": "bench",
            "name_zh": "基准",
            "name_en": "bench",
            "kind": "life_event",
            "lead_department": departments[0],
            "members": members,
        }
    )
    return org | {"elements": elements}, items, bundle


def timed(fn: Any, repeat: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (under a minute)")
    args = parser.parse_args()
    repeat = 20 if args.quick else 100
    org, items, bundle = synthetic()
    pure_items = {i["implementation_code"]: ItemIn.model_validate(i) for i in items}
    infos = {e["code"]: ElementInfo(e["code"], e["name_zh"], "string") for e in org["elements"]}
    members = [Member(pure_items[m.item], m.stage, tuple(m.depends_on)) for m in bundle.members]
    fields = sum(len(i.form) for i in pure_items.values())
    materials = sum(len(i.materials) for i in pure_items.values())
    print(f"bundle: {len(members)} items, {fields} fields, {materials} materials")

    pure = timed(lambda: compose(members, elements=infos), repeat)

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.sqlite3")
        upgrade(engine)
        set_engine(engine)
        from sqlalchemy.orm import Session

        with Session(engine) as session:
            org_service.load_org(
                session=session,
                document=OrgDocument.model_validate(
                    {k: v for k, v in org.items() if k != "elements"}
                ),
            )
            catalog_service.import_catalog(
                session=session,
                document=CatalogDocument.model_validate(
                    {"elements": org["elements"], "items": items}
                ),
            )
            session.commit()
            full = timed(
                lambda: bundle_service.compose_definition(session=session, bundle=bundle), repeat
            )
        engine.dispose()

    ledger = compose(members, elements=infos)
    print(
        f"ledger: fields {ledger.before.fields} -> {ledger.after.fields}, "
        f"materials {ledger.before.materials} -> {ledger.after.materials}, "
        f"steps {ledger.before.steps} -> {ledger.after.steps}"
    )
    print(f"compose_pure_ms: {statistics.median(pure):.2f}")
    print(f"compose_ms: {statistics.median(full):.2f}")
    print(f"compose_p95_ms: {sorted(full)[int(len(full) * 0.95) - 1]:.2f}")
    print("target_ms: 100")


if __name__ == "__main__":
    main()
