"""The ``tongban`` command as a new user runs it: the demo county on a fresh SQLite file, then
the catalogue and bundle commands against it. Each command runs in its own process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "tongban.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if ok:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("cli")
    env = {
        **os.environ,
        "TONGBAN_DATABASE_URL": f"sqlite:///{folder / 'demo.sqlite3'}",
        "TONGBAN_PASSWORD_PROFILE": "cheapest",
        "COLUMNS": "200",
    }
    first = run(env, "demo", "--no-serve")
    assert "reform" in first.stdout
    assert "demo-pass-2026" in first.stdout
    # Loading the demo again changes nothing and does not fail.
    run(env, "demo", "--no-serve")
    env["TB_FOLDER"] = str(folder)
    return env


def test_catalogue_round_trips_through_yaml_and_xlsx(demo_env: dict[str, str]) -> None:
    folder = Path(demo_env["TB_FOLDER"])
    for fmt, name in (("yaml", "a.yaml"), ("xlsx", "a.xlsx")):
        first, second = folder / name, folder / ("b." + fmt)
        run(demo_env, "catalog", "export", "--format", fmt, "-o", str(first))
        imported = run(demo_env, "catalog", "import", str(first))
        assert "0 versions created" in imported.stdout
        run(demo_env, "catalog", "export", "--format", fmt, "-o", str(second))
        assert first.read_bytes() == second.read_bytes()


def test_validate_reports_each_error_and_exits_1(demo_env: dict[str, str]) -> None:
    folder = Path(demo_env["TB_FOLDER"])
    good = folder / "good.yaml"
    run(demo_env, "catalog", "export", "-o", str(good))
    assert "valid" in run(demo_env, "catalog", "validate", str(good)).stdout
    text = good.read_text(encoding="utf-8")
    bad = folder / "bad.yaml"
    bad.write_text(
        text.replace("department: QX-MZJ\n", "department: QX-NOPE\n", 1), encoding="utf-8"
    )
    result = run(demo_env, "catalog", "validate", str(bad), ok=False)
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert lines
    assert all("QX-NOPE" in line and line.startswith("bad.yaml: ") for line in lines), lines
    # The failed import writes nothing: the export is unchanged.
    assert run(demo_env, "catalog", "import", str(bad), ok=False).returncode == 1
    after = folder / "after.yaml"
    run(demo_env, "catalog", "export", "-o", str(after))
    assert after.read_text(encoding="utf-8") == text


def test_cpsv_export_is_json_ld(demo_env: dict[str, str]) -> None:
    out = run(demo_env, "catalog", "export", "--format", "cpsv-jsonld").stdout
    document = json.loads(out)
    assert "@context" in document
    services = [n for n in document["@graph"] if n.get("@type") == "cpsv:PublicService"]
    assert len(services) >= 40
    # The demo's one-thing bundles are CPSV-AP events that group their member services.
    events = {n["dct:identifier"]: n for n in document["@graph"] if "Event" in str(n.get("@type"))}
    assert set(events) >= {"property-transfer", "civil-servant-career", "disability-benefits"}
    grouped = [s for s in services if s.get("cv:isGroupedBy")]
    transfer = events["property-transfer"]["@id"]
    assert sum({"@id": transfer} in s["cv:isGroupedBy"] for s in grouped) >= 5


def test_bundle_list_and_compose(demo_env: dict[str, str]) -> None:
    listed = json.loads(run(demo_env, "bundle", "list", "--format", "json").stdout)
    assert {b["code"] for b in listed} >= {
        "property-transfer",
        "civil-servant-career",
        "disability-benefits",
    }
    ledger = json.loads(
        run(demo_env, "bundle", "compose", "property-transfer", "--format", "json").stdout
    )
    for part in ("before", "after", "removed"):
        assert set(ledger[part]) == {"forms", "fields", "materials", "steps", "visits", "days"}
    assert ledger["after"]["forms"] == 1
    assert ledger["before"]["forms"] > 5
    assert len(ledger["removed"]["materials"]) >= 8
    assert ledger["after"]["days"]["legal"] < ledger["before"]["days"]["legal"]
    csv_out = run(demo_env, "bundle", "compose", "property-transfer", "--format", "csv").stdout
    assert csv_out.startswith('"section","kind","before","after"')  # every field quoted
    assert '"removed","materials",' in csv_out
    table = run(
        demo_env,
        "bundle",
        "compose",
        "civil-servant-career",
        "-a",
        "event=retirement",
        "-a",
        "has_children=no",
    ).stdout
    assert "forms" in table
    bad = run(
        demo_env, "bundle", "compose", "civil-servant-career", "-a", "event=promotion", ok=False
    )
    assert bad.returncode == 1
    assert "answers.event: 'promotion' is not an answer" in bad.stderr


def test_demo_bundles_pass_their_lints_and_export_bpmn(demo_env: dict[str, str]) -> None:
    for code in ("property-transfer", "civil-servant-career", "disability-benefits"):
        assert "no problems" in run(demo_env, "bundle", "lint", code).stdout
    xml = run(demo_env, "bundle", "export-bpmn", "property-transfer").stdout
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert xml.count("<bpmn:lane ") >= 6


def test_files_sweep_removes_old_unnamed_files_and_keeps_named_ones(
    demo_env: dict[str, str], tmp_path: Path
) -> None:
    import hashlib
    import sqlite3
    import time

    database = demo_env["TONGBAN_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(database) as conn:
        named = conn.execute("SELECT sha256 FROM case_upload LIMIT 1").fetchone()[0]
    orphan = hashlib.sha256(b"left by a rollback").hexdigest()
    young = hashlib.sha256(b"about to be named").hexdigest()
    old = time.time() - 3 * 24 * 3600
    for digest, age in ((named, old), (orphan, old), (young, time.time())):
        path = tmp_path / digest[:2] / digest
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(digest.encode())
        os.utime(path, (age, age))
    env = {**demo_env, "TONGBAN_UPLOAD_DIR": str(tmp_path)}

    looked = run(env, "files", "sweep", "--dry-run")
    assert f"would remove {orphan}" in looked.stdout
    assert "3 stored files: 1 named by a row, 1 younger than 24 h, 1 to remove" in looked.stdout
    assert (tmp_path / orphan[:2] / orphan).exists()

    swept = run(env, "files", "sweep")
    assert f"removed {orphan}" in swept.stdout
    assert not (tmp_path / orphan[:2] / orphan).exists()
    assert (tmp_path / named[:2] / named).exists()
    assert (tmp_path / young[:2] / young).exists()

    refused = run(env, "files", "sweep", "--older-than-hours", "0", ok=False)
    assert refused.returncode == 2
    assert "--older-than-hours" in refused.stderr


def test_export_of_one_jurisdiction(demo_env: dict[str, str]) -> None:
    everything = run(demo_env, "catalog", "export").stdout
    county = run(demo_env, "catalog", "export", "--jurisdiction", "990123").stdout
    other = run(demo_env, "catalog", "export", "--jurisdiction", "990102").stdout
    assert county.count("implementation_code:") > 0
    assert county.count("implementation_code:") + other.count("implementation_code:") <= (
        everything.count("implementation_code:")
    )
    refused = run(demo_env, "catalog", "export", "--jurisdiction", "123456", ok=False)
    assert refused.returncode != 0
    assert "123456" in refused.stderr + refused.stdout


def test_completeness_report_of_the_demo_county(demo_env: dict[str, str], tmp_path: Path) -> None:
    """The demo county records everything but the materials of its main items (headings), so
    it reports no incomplete item; the file export has its header and nothing else."""
    out = tmp_path / "gaps.csv"
    result = run(demo_env, "catalog", "completeness", "-j", "990123", "-o", str(out))
    assert "0 of " in result.stdout
    assert "QX-MZJ" in result.stdout
    assert out.read_bytes().decode("utf-8-sig").splitlines()[0].startswith('"部门编码"')
    refused = run(demo_env, "catalog", "completeness", "-o", str(tmp_path / "x.txt"), ok=False)
    assert refused.returncode == 2
