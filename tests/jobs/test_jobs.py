"""Jobs: written in the business transaction, claimed once, retried, parked as dead, retried
by the system administrator; payments reach the bank once however many runners there are."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.orm import Session

from tests.factories import assert_refused, login, make_org, principal_of
from tests.jobs.helpers import within
from tongban.cases import bank
from tongban.db import make_engine, utcnow
from tongban.errors import Conflict, PermissionDenied
from tongban.jobs import registry, service
from tongban.jobs.models import Job
from tongban.migrate import upgrade

FAILURES: dict[str, int] = {}


@registry.handler("test.flaky")
def _flaky(run: registry.JobRun, session: Session) -> None:
    """Fails as often as its payload says, then succeeds."""
    FAILURES[run.key] = FAILURES.get(run.key, 0) + 1
    if FAILURES[run.key] <= run.payload["fail_times"]:
        raise RuntimeError(f"provider down (attempt {run.attempt})")


@registry.handler("test.refused")
def _refused(run: registry.JobRun, session: Session) -> None:
    raise service.Permanent("the provider refuses this recipient")


def _make_due(session: Session) -> None:
    """Every pending job is due now (backoff waits are the clock's, not the test's)."""
    session.execute(
        text("UPDATE job SET run_after = :now WHERE status = 'pending'"),
        {"now": utcnow() - timedelta(seconds=1)},
    )


def test_an_unknown_kind_is_refused_when_written_and_waits_when_found(session: Session) -> None:
    with pytest.raises(LookupError, match="mystery"):
        service.defer(session, kind="mystery", key="m:1", payload={})
    session.execute(
        insert(Job).values(
            kind="mystery",
            key="m:2",
            payload={},
            status="pending",
            attempts=0,
            max_attempts=8,
            run_after=utcnow(),
            created_at=utcnow(),
        )
    )
    report = service.run_due(scope=within(session))
    assert report.ran == 0
    job = session.scalars(select(Job).where(Job.key == "m:2")).one()
    assert (job.status, job.attempts) == ("pending", 0)


def test_the_same_key_is_one_job(session: Session) -> None:
    first = service.defer(session, kind="test.flaky", key="k:once", payload={"fail_times": 0})
    again = service.defer(session, kind="test.flaky", key="k:once", payload={"fail_times": 0})
    assert first is not None
    assert again is None
    assert service.run_due(scope=within(session)).done == 1
    assert service.run_due(scope=within(session)).ran == 0


def test_a_failing_job_is_retried_with_backoff_then_dead_then_retried(session: Session) -> None:
    key = f"k:{uuid.uuid4().hex}"
    service.defer(session, kind="test.flaky", key=key, payload={"fail_times": 2}, max_attempts=2)
    report = service.run_due(scope=within(session))
    assert (report.failed, report.dead) == (1, 0)
    job = session.scalars(select(Job).where(Job.key == key)).one()
    assert job.status == "pending"
    assert job.attempts == 1
    assert "provider down (attempt 1)" in (job.last_error or "")
    assert job.run_after > utcnow()  # it waits for its backoff
    assert service.run_due(scope=within(session)).ran == 0
    _make_due(session)
    assert service.run_due(scope=within(session)).dead == 1
    session.refresh(job)
    assert job.status == "dead"
    assert job.attempts == 2

    make_org(session)
    officer = principal_of(session, "officer.rsj")
    with pytest.raises(PermissionDenied) as refused:
        service.retry(session=session, principal=officer, job_id=job.id)
    assert refused.value.code == "role_required"
    admin = principal_of(session, "sysadmin")
    assert [
        r.key
        for r in service.list_jobs(
            session=session, principal=admin, flt=service.JobFilter(status="dead")
        )
    ] == [key]
    service.retry(session=session, principal=admin, job_id=job.id)
    with pytest.raises(Conflict) as twice:
        service.retry(session=session, principal=admin, job_id=job.id)
    assert twice.value.code == "job_not_dead"
    assert service.run_due(scope=within(session)).done == 1  # its third try succeeds
    session.refresh(job)
    assert job.status == "done"
    assert job.last_error is None


def test_a_permanent_failure_is_dead_at_once(session: Session) -> None:
    service.defer(session, kind="test.refused", key="k:refused", payload={})
    assert service.run_due(scope=within(session)).dead == 1
    job = session.scalars(select(Job).where(Job.key == "k:refused")).one()
    assert job.status == "dead"
    assert "refuses this recipient" in (job.last_error or "")


def test_a_claim_is_held_once_and_taken_over_when_its_lease_ends(session: Session) -> None:
    service.defer(session, kind="test.flaky", key="k:lease", payload={"fail_times": 0})
    first = service.claim(session, worker="a", limit=10)
    assert [r.key for r in first] == ["k:lease"]
    assert service.claim(session, worker="b", limit=10) == []  # held by a
    session.execute(
        text("UPDATE job SET claimed_until = :past WHERE key = 'k:lease'"),
        {"past": utcnow() - timedelta(seconds=1)},
    )
    again = service.claim(session, worker="b", limit=10)
    assert [(r.key, r.attempt) for r in again] == [("k:lease", 2)]


def _transfer_all(path: str, references: list[str]) -> None:
    port = bank.FileBank(Path(path))
    for reference in references:
        port.transfer(
            reference=reference, direction="pay_out", amount_fen=1, account="6228", party="x"
        )


def test_the_file_bank_takes_each_reference_once_from_many_processes(tmp_path: Path) -> None:
    references = [f"R-{i}" for i in range(300)]
    path = str(tmp_path / "ledger.jsonl")
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(
            target=_transfer_all, args=(path, list(reversed(references)) if i % 2 else references)
        )
        for i in range(4)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    assert sorted(bank.FileBank(Path(path)).references()) == sorted(references)


# ---------------------------------------------------------------- PostgreSQL, real processes


def _payments(url: str, prefix: str, count: int) -> Engine:
    """``count`` payment jobs written and committed in one transaction; the engine to read."""
    engine = make_engine(url)
    with Session(engine) as session:
        for i in range(count):
            reference = f"{prefix}-{i}"
            service.defer(
                session,
                kind="payment",
                key=f"payment:{reference}",
                payload={"reference": reference, "amount_fen": 100 + i, "account": "6228"},
            )
        session.commit()
    return engine


def _statuses(session: Session) -> dict[str, int]:
    rows = session.execute(text("SELECT status, count(*) FROM job GROUP BY status")).tuples()
    return dict(rows.all())


def test_two_workers_and_a_tick_pay_each_of_1000_payments_once(
    pg_database: str, tmp_path: Path
) -> None:
    engine = _payments(pg_database, "P", 1000)
    env = {**os.environ, "TONGBAN_DATABASE_URL": pg_database, "TONGBAN_DATA_DIR": str(tmp_path)}
    tongban = [sys.executable, "-m", "tongban.cli.main"]
    runners = [
        subprocess.Popen(
            [*tongban, "worker", "--burst"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [*tongban, "worker", "--burst"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [*tongban, "tick"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        ),
    ]
    outputs = [r.communicate(timeout=300)[0].decode() for r in runners]
    assert [r.returncode for r in runners] == [0, 0, 0], outputs
    references = bank.FileBank(tmp_path / "bank-ledger.jsonl").references()
    assert len(references) == 1000
    assert len(set(references)) == 1000
    with Session(engine) as session:
        statuses = _statuses(session)
    assert statuses == {"done": 1000}
    engine.dispose()


def test_a_worker_killed_mid_run_loses_nothing_and_doubles_nothing(
    pg_database: str, tmp_path: Path
) -> None:
    engine = _payments(pg_database, "K", 400)
    env = {
        **os.environ,
        "TONGBAN_DATABASE_URL": pg_database,
        "TONGBAN_DATA_DIR": str(tmp_path),
        "TONGBAN_JOB_LEASE_SECONDS": "2",
    }
    ledger = tmp_path / "bank-ledger.jsonl"
    victim = subprocess.Popen(
        [sys.executable, "-m", "tongban.cli.main", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (
        not ledger.exists() or len(ledger.read_bytes().splitlines()) < 50
    ):
        time.sleep(0.05)
    victim.kill()  # SIGKILL, in the middle of the run
    victim.wait(10)
    written = len(bank.FileBank(ledger).references())
    assert 0 < written < 400, "the worker was not killed mid-run"
    time.sleep(2.5)  # its claims run out
    finisher = subprocess.run(
        [sys.executable, "-m", "tongban.cli.main", "worker", "--burst"],
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert finisher.returncode == 0, finisher.stdout + finisher.stderr
    references = bank.FileBank(ledger).references()
    assert sorted(references) == sorted(f"K-{i}" for i in range(400))
    with Session(engine) as session:
        statuses = _statuses(session)
    assert statuses == {"done": 400}
    engine.dispose()


def test_the_jobs_page_is_the_system_administrators_and_retries_a_dead_job(
    client: TestClient, session: Session
) -> None:
    make_org(session)
    service.defer(session, kind="test.refused", key="k:page", payload={})
    service.run_due(scope=within(session))
    session.commit()  # as the runner would: a refused request below rolls back only itself
    job = session.scalars(select(Job).where(Job.key == "k:page")).one()
    assert job.status == "dead"
    anonymous = client.get("/admin/jobs", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")
    login(client, "officer.rsj")
    assert_refused(client.get("/admin/jobs"), 403, "role_required")
    assert 'href="/admin/jobs"' not in client.get("/catalog").text
    client.post("/logout", data={"csrf_token": ""})
    client.cookies.clear()
    csrf = login(client, "sysadmin")
    page = client.get("/admin/jobs?status=dead", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200
    assert "k:page" in page.text
    assert "refuses this recipient" in page.text
    assert "重新执行" in page.text
    assert 'href="/admin/jobs"' in page.text  # in the sysadmin's menu
    done = client.post(
        f"/admin/jobs/{job.id}/retry", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert done.status_code == 303
    session.refresh(job)
    assert job.status == "pending"
    again = client.post(f"/admin/jobs/{job.id}/retry", data={"csrf_token": csrf})
    assert_refused(again, 409, "job_not_dead")
    assert "只有失败停放的任务" in again.text or "only a dead job" in again.text


def test_an_escalation_reaches_the_departments_officers_by_notification(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tongban.config import get_settings
    from tongban.org.models import Department

    monkeypatch.setattr(get_settings(), "data_dir", tmp_path)
    make_org(session)
    rsj = session.scalars(select(Department.id).where(Department.code == "QX-RSJ")).one()
    zjj = session.scalars(select(Department.id).where(Department.code == "QX-ZJJ")).one()
    for department, key in ((rsj, "escalation:1:warn"), (zjj, "escalation:2:warn")):
        service.defer(
            session,
            kind="escalation",
            key=key,
            payload={
                "case": "QX-1",
                "step": 7,
                "level": "warn",
                "department": department,
                "used_workdays": 16,
                "limit": 20,
            },
        )
    report = service.run_due(scope=within(session))
    assert (report.done, report.dead) == (2, 1)  # RSJ's escalation and its one notification
    dead = session.scalars(select(Job).where(Job.key == "escalation:2:warn")).one()
    assert dead.status == "dead"
    assert "no active officer" in (dead.last_error or "")  # ZJJ's officer has no address
    lines = [json.loads(x) for x in (tmp_path / "notifications.jsonl").read_text().splitlines()]
    assert [(x["to"], x["key"]) for x in lines] == [
        (
            "officer.rsj@qingxi.example",
            "escalation:1:warn:user:" + str(principal_of(session, "officer.rsj").user_id),
        )
    ]
    assert "QX-1" in lines[0]["subject"]


def test_the_operator_lists_and_retries_jobs_from_the_console(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ops.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    now = utcnow()
    with Session(engine) as session:
        for key, kind, status in (("k:dead", "payment", "dead"), ("k:odd", "mystery", "pending")):
            session.execute(
                insert(Job).values(
                    kind=kind,
                    key=key,
                    payload={},
                    status=status,
                    attempts=8,
                    max_attempts=8,
                    run_after=now,
                    created_at=now,
                    last_error="BankDown: no answer",
                )
            )
        session.commit()
        dead_id = session.scalars(select(Job.id).where(Job.key == "k:dead")).one()
        odd_id = session.scalars(select(Job.id).where(Job.key == "k:odd")).one()
    env = {**os.environ, "TONGBAN_DATABASE_URL": url, "COLUMNS": "200"}
    tongban = [sys.executable, "-m", "tongban.cli.main", "jobs"]
    listed = subprocess.run([*tongban, "list"], env=env, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert "mystery (no handler)" in listed.stdout
    assert "BankDown: no answer" in listed.stdout
    refused = subprocess.run(
        [*tongban, "retry", str(odd_id)], env=env, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 1
    assert "only a dead job is retried" in refused.stderr
    retried = subprocess.run(
        [*tongban, "retry", str(dead_id)], env=env, capture_output=True, text=True, timeout=60
    )
    assert retried.returncode == 0, retried.stderr
    with Session(engine) as session:
        job = session.get(Job, dead_id)
        assert job is not None
        assert (job.status, job.max_attempts) == ("pending", 11)
    engine.dispose()
