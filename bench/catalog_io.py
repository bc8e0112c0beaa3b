"""Catalogue files the size of a province (issue 11, point 6): a synthetic catalogue of 100,000
items (``--quick``: 5,000) as YAML and as XLSX, validated, imported and exported by the
``tongban catalog`` commands, each in a process of its own.

Prints per format ``validate_s``, ``import_s``, ``export_s`` (wall time of the command) and
``peak_rss_mb`` (the largest peak resident memory of the three processes, from ``wait4``), and
the figures of a zip-bomb-like workbook (a small file whose sheet inflates to about 190 MB),
which must be refused quickly and with bounded memory. Targets on the reference machine (2 cores):
validate, import and export each under 60 s and under 500 MB.

Run alone from the project root: ``.venv/bin/python bench/catalog_io.py [--quick]``. Imports go
into a fresh SQLite database; with ``--pg URL`` (by default ``TONGBAN_TEST_DATABASE_URL`` in a
``--quick`` run) the YAML import and export also run on PostgreSQL (the database's ``public``
schema is dropped and recreated first).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

DEPARTMENTS = 300
ELEMENTS = 400
TYPES = ("administrative_licence", "public_service", "administrative_confirmation", "other")
LAWS = ("《中华人民共和国行政许可法》", "《社会保险法》", "《公司法》", "《道路交通安全法》")


# --------------------------------------------------------------------------------------------
# The synthetic data
# --------------------------------------------------------------------------------------------


def departments() -> list[str]:
    return [f"D{i:03d}" for i in range(DEPARTMENTS)]


def org_document() -> dict[str, Any]:
    counties = [f"99{i:02d}00" for i in range(1, 11)]
    return {
        "format": "tongban-org/1",
        "jurisdictions": [
            {
                "code": "990000",
                "name_zh": "基准省",
                "name_en": "Bench province",
                "children": [
                    {"code": c, "name_zh": f"县{c}", "name_en": f"County {c}"} for c in counties
                ],
            }
        ],
        "departments": [
            {
                "code": d,
                "name_zh": f"部门{d}",
                "name_en": f"Department {d}",
                "jurisdiction": counties[i % len(counties)],
            }
            for i, d in enumerate(departments())
        ],
    }


def elements() -> list[dict[str, Any]]:
    depts = departments()
    return [
        {
            "code": f"E{i:04d}",
            "name_zh": f"数据元{i}",
            "name_en": f"Element {i}",
            **({"source_department": depts[i % len(depts)]} if i % 5 == 0 else {}),
        }
        for i in range(ELEMENTS)
    ]


def item(n: int, rng: random.Random) -> dict[str, Any]:
    """One item as the file holds it: a legal basis, conditions, 2–4 materials (one of them
    another item's output now and then), 3–6 form fields, three steps, an output."""
    depts = departments()
    dept = depts[n % len(depts)]
    code = f"{dept}-{n:07d}"
    kind = TYPES[n % len(TYPES)]
    materials: list[dict[str, Any]] = []
    for m in range(rng.randint(2, 4)):
        material: dict[str, Any] = {
            "code": f"M{m + 1}",
            "name_zh": f"申请材料{rng.randrange(500)}（原件）",
            "name_en": f"Material {m + 1}",
            "elements": [f"E{e:04d}" for e in rng.sample(range(ELEMENTS), 2)],
        }
        if m == 1 and n > 10 and n % 7 == 0:
            source = depts[(n - 7) % len(depts)]
            material |= {"source": "item_output", "source_ref": f"{source}-{n - 7:07d}#OUT"}
        elif m == 2 and n % 3 == 0:
            material |= {"source": "shared_data", "source_ref": depts[(n + 1) % len(depts)]}
        materials.append(material)
    form = [
        {
            "code": f"F{i + 1}",
            "label_zh": f"字段{e}",
            "label_en": f"Field {e}",
            "element": f"E{e:04d}",
            **({"required": False} if i % 3 == 2 else {}),
        }
        for i, e in enumerate(rng.sample(range(ELEMENTS), rng.randint(3, 6)))
    ]
    steps = [
        {"code": "S1", "kind": "acceptance", "name_zh": "受理", "name_en": "Acceptance"},
        {"code": "S2", "kind": "review", "name_zh": "审查", "name_en": "Review"},
        {"code": "S3", "kind": "delivery", "name_zh": "送达", "name_en": "Delivery"},
    ]
    for step, days in zip(steps, (1, rng.randint(2, 10), 1), strict=True):
        step |= {"responsible": dept, "limit_days": days}
    return {
        "implementation_code": code,
        "basic_code": f"B{n % 5000:06d}",
        "status": "draft" if n % 10 == 9 else "published",
        "name_zh": f"第{n}号事项的办理（{dept}）",
        "name_en": f"Service item number {n}",
        "type": kind,
        "department": dept,
        **({"co_handlers": [depts[(n + 3) % len(depts)]]} if n % 4 == 0 else {}),
        "description": f"办理第{n}号事项的说明。",
        "legal_basis": [{"law": LAWS[n % len(LAWS)], "article": f"第{1 + n % 90}条"}],
        "conditions": [{"zh": "申请人具有完全民事行为能力", "en": "The applicant is of age"}],
        "materials": materials,
        "form": form,
        "steps": steps,
        "time_limit": {"legal": 20, "promised": 10},
        "channels": ["window", "online"],
        "outputs": [
            {
                "code": "OUT",
                "name_zh": "办理结果",
                "name_en": "Result",
                "kind": "certificate",
                "elements": [f"E{e:04d}" for e in rng.sample(range(ELEMENTS), 2)],
            }
        ],
        "visits": n % 3,
    }


def items(count: int) -> Any:
    rng = random.Random(11)
    for n in range(count):
        yield item(n, rng)


def write_yaml(path: Path, count: int) -> None:
    """The catalogue as YAML, one item at a time, by the exporter's own writer (the same text
    as PyYAML's, ten times faster)."""
    from tongban.catalog.io.yamlfmt import write_sections

    with path.open("w", encoding="utf-8") as fh:
        write_sections(fh, elements(), items(count))


def write_xlsx(path: Path, count: int) -> None:
    """The catalogue as a workbook of the import format, written row by row."""
    from openpyxl import Workbook

    from tongban.catalog.io.xlsx import _CHILD_SHEETS, SHEETS, _sheet_columns

    wb = Workbook(write_only=True)
    sheets = {name: wb.create_sheet(name) for name in SHEETS}
    for name, ws in sheets.items():
        ws.append([col for col, _ in _sheet_columns(name)])

    def cell(value: Any) -> Any:
        if isinstance(value, list):
            return "|".join(value) if value else None
        return value

    for element in elements():
        sheets["elements"].append([cell(element.get(col)) for col, _ in _sheet_columns("elements")])
    for row in items(count):
        values = []
        for col, _ in _sheet_columns("items"):
            if col.startswith("time_limit_"):
                values.append(row["time_limit"][col.removeprefix("time_limit_")])
            else:
                values.append(cell(row.get(col)))
        sheets["items"].append(values)
        for sheet, (field, columns, scalar) in _CHILD_SHEETS.items():
            for k, entry in enumerate(row.get(field, [])):
                out = [row["implementation_code"], k + 1]
                if scalar is not None:
                    out.append(entry)
                else:
                    out.extend(cell(entry.get(col)) for col, _ in columns)
                sheets[sheet].append(out)
    wb.save(path)


def write_bomb(path: Path, inflated_mb: int = 190) -> None:
    """A valid-looking workbook whose ``items`` sheet inflates to about ``inflated_mb`` MB of
    the same row repeated (the issue's file: 0.76 MB on disk, 190 MB inflated)."""
    from openpyxl import Workbook

    from tongban.catalog.io.xlsx import SHEETS, _sheet_columns

    wb = Workbook(write_only=True)
    for name in SHEETS:
        ws = wb.create_sheet(name)
        ws.append([col for col, _ in _sheet_columns(name)])
    wb.save(path)
    header = "".join(
        f'<c r="{chr(65 + i)}1" t="inlineStr"><is><t>{col}</t></is></c>'
        for i, (col, _) in enumerate(_sheet_columns("items"))
    )
    row = '<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>X</t></is></c></row>'
    with zipfile.ZipFile(path) as src:
        parts = {info.filename: src.read(info) for info in src.infolist()}
    target = "xl/worksheets/sheet2.xml"  # "items", the second sheet
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for name, content in parts.items():
            if name != target:
                dst.writestr(name, content)
        with dst.open(target, "w") as fh:
            fh.write(
                b'<?xml version="1.0" encoding="UTF-8"?>'
                b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                b"<sheetData>" + f'<row r="1">{header}</row>'.encode()
            )
            size, r = 0, 2
            limit = inflated_mb * 1024 * 1024
            while size < limit:
                chunk = "".join(row.format(r=r + k) for k in range(1000)).encode()
                fh.write(chunk)
                size += len(chunk)
                r += 1000
            fh.write(b"</sheetData></worksheet>")


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------


def run(
    args: list[str],
    db_url: str,
    *,
    expect: int | None = 0,
    limit_mb: int | None = None,
    timeout: float | None = None,
) -> tuple[float, float, str]:
    """``tongban <args>`` in a process of its own: wall seconds, peak RSS (MB), its output
    (ending with ``[exit N]`` when ``expect`` is None). ``limit_mb`` caps the process's address
    space, ``timeout`` its time (it is killed): the zip bomb must not take the machine down."""
    env = os.environ | {
        "TONGBAN_DATABASE_URL": db_url,
        "PYTHONPATH": str(ROOT / "src"),
        "COLUMNS": "200",
    }
    code = "import sys; from tongban.cli.main import app; app(sys.argv[1:], prog_name='tongban')"

    def cap() -> None:
        if limit_mb is not None:
            size = limit_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (size, size))

    start = time.perf_counter()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            [sys.executable, "-c", code, *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=cap,
        )
        timer = threading.Timer(timeout, proc.kill) if timeout else None
        if timer is not None:
            timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        if timer is not None:
            timer.cancel()
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        out = log.read().decode("utf-8", "replace")
    if expect is None:
        return seconds, usage.ru_maxrss / 1024, f"{out}\n[exit {proc.returncode}]"
    if proc.returncode != expect:
        raise SystemExit(f"tongban {' '.join(args)}: exit {proc.returncode}\n{out[-4000:]}")
    return seconds, usage.ru_maxrss / 1024, out


def fresh_pg(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def prepare(db_url: str, org: Path) -> None:
    run(["db", "upgrade"], db_url)
    run(["org", "import", str(org)], db_url)


def measure(label: str, path: Path, db_url: str, out_dir: Path) -> dict[str, float]:
    suffix = path.suffix.lstrip(".")
    figures: dict[str, float] = {}
    for op, args in (
        ("validate", ["catalog", "validate", str(path)]),
        ("import", ["catalog", "import", str(path)]),
        (
            "export",
            ["catalog", "export", "-f", suffix, "-o", str(out_dir / f"out-{label}.{suffix}")],
        ),
    ):
        seconds, rss, _ = run(args, db_url)
        figures[f"{op}_s"] = seconds
        figures[f"{op}_rss_mb"] = rss
        print(f"  {label} {op}: {seconds:.1f} s, {rss:.0f} MB", file=sys.stderr, flush=True)
    figures["peak_rss_mb"] = max(v for k, v in figures.items() if k.endswith("_rss_mb"))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5,000 items (a minute or two)")
    parser.add_argument("--items", type=int, help="how many items (default 100,000)")
    parser.add_argument("--pg", help="a PostgreSQL URL for the YAML import and export too")
    parser.add_argument("--only", choices=("yaml", "xlsx", "bomb"), action="append")
    args = parser.parse_args()
    count = args.items or (5_000 if args.quick else 100_000)
    pg = args.pg or (os.environ.get("TONGBAN_TEST_DATABASE_URL") if args.quick else None)
    only = set(args.only or ("yaml", "xlsx", "bomb"))

    import yaml

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="tongban-bench-") as tmp_name:
        tmp = Path(tmp_name)
        org = tmp / "org.yaml"
        org.write_text(yaml.safe_dump(org_document(), allow_unicode=True), encoding="utf-8")
        start = time.perf_counter()
        yaml_file, xlsx_file, bomb = tmp / "catalog.yaml", tmp / "catalog.xlsx", tmp / "bomb.xlsx"
        if "yaml" in only:
            write_yaml(yaml_file, count)
        if "xlsx" in only:
            write_xlsx(xlsx_file, count)
        if "bomb" in only:
            write_bomb(bomb)
        print(f"generated in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
        print(f"items: {count}")
        for label, path in (("yaml", yaml_file), ("xlsx", xlsx_file)):
            if label not in only:
                continue
            print(f"{label}_file_mb: {path.stat().st_size / 1e6:.1f}")
            db_url = f"sqlite:///{tmp}/{label}.sqlite3"
            prepare(db_url, org)
            results[label] = measure(label, path, db_url, tmp)
        if pg and "yaml" in only:
            fresh_pg(pg)
            prepare(pg, org)
            results["yaml_pg"] = measure("yaml_pg", yaml_file, pg, tmp)
        if "bomb" in only:
            with zipfile.ZipFile(bomb) as archive:
                inflated = sum(info.file_size for info in archive.infolist())
            print(f"bomb_file_mb: {bomb.stat().st_size / 1e6:.2f}")
            print(f"bomb_inflated_mb: {inflated / 1e6:.0f}")
            db_url = f"sqlite:///{tmp}/bomb.sqlite3"
            prepare(db_url, org)
            seconds, rss, out = run(
                ["catalog", "validate", str(bomb)], db_url, expect=None, limit_mb=3000, timeout=300
            )
            lines = out.strip().splitlines()
            print(f"bomb_message: {lines[0] if len(lines) > 1 else ''} {lines[-1]}")
            results["bomb"] = {"validate_s": seconds, "peak_rss_mb": rss}

    for label, figures in results.items():
        for key in ("validate_s", "import_s", "export_s", "peak_rss_mb"):
            if key in figures:
                print(f"{label}_{key}: {figures[key]:.1f}")
    print("target: validate_s, import_s, export_s < 60; peak_rss_mb < 500")


if __name__ == "__main__":
    main()
