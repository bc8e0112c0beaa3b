"""The case list, its export and the overview (issue 12, point 6): staff search what they may
see, page through it and export it; the observer reads the figures; nobody sees more than the
case pages would show them."""

from __future__ import annotations

import io
import re

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.test_case_pages import _as, _big_world
from tests.cases.test_cases_api import _submit
from tests.factories import assert_refused, principal_of
from tongban.audit.models import AuditEvent
from tongban.cases.service import listing
from tongban.org import service as org_service
from tongban.org.schemas import OrgDocument

BAISHI = "990123101"


def _cases(client: TestClient, session: Session) -> dict[str, str]:
    """Three cases: two of the employment subsidy (RSJ), one in Baishi; one building permit
    (ZJJ)."""
    _big_world(session)
    org_service.load_org(
        session=session,
        document=OrgDocument.model_validate(
            {"jurisdictions": [{"code": BAISHI, "name_zh": "白石镇", "name_en": "Baishi"}]}
        ),
    )
    session.commit()
    csrf = _as(client, "frontdesk")
    made = {
        "rsj": _submit(client, csrf, idempotency_key="list-00001"),
        "rsj-baishi": _submit(
            client,
            csrf,
            idempotency_key="list-00002",
            applicant={
                "name": "李白石",
                "id_no": "11010519491231002X",
                "phone": "",
                "jurisdiction": BAISHI,
            },
        ),
        "zjj": _submit(
            client,
            csrf,
            item="QX-ZJJ-1",
            idempotency_key="list-00003",
            form={"DE.NAME": "张三", "DE.ID": "11010519491231002X"},
        ),
    }
    return made


def _numbers(html: str) -> set[str]:
    return set(re.findall(r'<tr data-case="([^"]+)"', html))


def test_each_sees_the_cases_they_may_see(client: TestClient, session: Session) -> None:
    made = _cases(client, session)
    assert _numbers(client.get("/cases").text) == set(made.values())  # the window: its subtree
    _as(client, "officer.zjj")
    assert _numbers(client.get("/cases").text) == {made["zjj"]}
    _as(client, "observer")
    assert _numbers(client.get("/cases").text) == set(made.values())
    _as(client, "reform.baishi")  # another county's reform office
    page = client.get("/cases")
    assert _numbers(page.text) == set()
    assert "没有符合条件的案件" in page.text
    _as(client, "sysadmin")  # runs the platform, handles no case
    assert_refused(client.get("/cases"), 403, "staff_only")
    client.cookies.clear()
    anonymous = client.get("/cases", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")


def test_search_by_number_applicant_township_status_and_code(
    client: TestClient, session: Session
) -> None:
    made = _cases(client, session)
    _as(client, "observer")
    assert _numbers(client.get("/cases", params={"q": made["zjj"]}).text) == {made["zjj"]}
    assert _numbers(client.get("/cases", params={"q": "李白"}).text) == {made["rsj-baishi"]}
    assert _numbers(client.get("/cases", params={"township": BAISHI}).text) == {made["rsj-baishi"]}
    assert _numbers(client.get("/cases", params={"subject": "QX-ZJJ-1"}).text) == {made["zjj"]}
    assert _numbers(client.get("/cases", params={"department": "QX-ZJJ"}).text) == {made["zjj"]}
    assert _numbers(client.get("/cases", params={"status": "completed"}).text) == set()
    assert _numbers(client.get("/cases", params={"timeliness": "open"}).text) == set(made.values())
    # "%" is a character to look for, not a wildcard
    assert _numbers(client.get("/cases", params={"q": "%"}).text) == set()
    assert_refused(client.get("/cases", params={"status": "nope"}), 422, "unknown_case_status")
    reversed_range = client.get(
        "/cases", params={"submitted_from": "2026-12-31", "submitted_to": "2026-01-01"}
    )
    assert_refused(reversed_range, 422, "date_range_reversed")
    assert client.get("/cases", params={"submitted_from": "yesterday"}).status_code == 422


def test_the_list_pages(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = _cases(client, session)
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    _as(client, "observer")
    first = client.get("/cases")
    assert len(_numbers(first.text)) == 2
    assert "第 1 页，共 2 页" in first.text
    second = client.get("/cases", params={"offset": 2})
    assert len(_numbers(second.text)) == 1
    assert _numbers(first.text) | _numbers(second.text) == set(made.values())


def test_the_export_holds_what_the_list_shows_masked_and_audited(
    client: TestClient, session: Session
) -> None:
    made = _cases(client, session)
    _as(client, "officer.zjj")
    csv = client.get("/cases/export.csv")
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    text = csv.content.decode("utf-8")
    assert text.startswith("\ufeff案件编号")  # a BOM, so that spreadsheet programs read Chinese
    assert made["zjj"] in text
    assert made["rsj"] not in text
    assert "11010519491231002X" not in text
    assert "1101**********002X" in text
    _as(client, "observer")
    book = load_workbook(io.BytesIO(client.get("/cases/export.xlsx").content), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][0] == "案件编号"
    assert {r[0] for r in rows[1:]} == set(made.values())
    exports = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "case.list_exported")
    ).all()
    assert len(exports) == 2
    assert_refused(client.get("/cases/export.pdf"), 404, "page_not_found")


def test_the_overview_counts_what_the_observer_may_see(
    client: TestClient, session: Session
) -> None:
    made = _cases(client, session)
    _as(client, "observer")
    page = client.get("/cases/overview")
    assert page.status_code == 200
    assert 'data-testid="figure-total">3<' in page.text
    assert 'id="overview-data"' in page.text
    assert "青溪县住房和城乡建设局" in page.text or "QX-ZJJ" in page.text
    figures = listing.overview(session=session, principal=principal_of(session, "observer"))
    assert figures.total == len(made)
    assert figures.by_status == {"in_progress": 3}
    towns = {code: n for code, _, _, n in figures.by_township}
    assert towns == {"990123001": 2, BAISHI: 1}
    _as(client, "officer.zjj")
    assert 'data-testid="figure-total">1<' in client.get("/cases/overview").text
