"""Money is typed in yuan and shown in yuan, stored in integer fen: an amount typed on the apply
form is read back on the case page as it was typed (issue 12, point 3)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.test_case_pages import _application_form, _as, _post, _submitted
from tests.cases.test_cases_api import _world
from tests.factories import ELEMENTS, item
from tongban.cases.models import Case
from tongban.catalog import service as catalog_service
from tongban.catalog.schemas import CatalogDocument

PRICE = {"code": "DE.PRICE", "name_zh": "成交价格", "name_en": "Price", "type": "money"}


def _priced_world(session: Session) -> None:
    _world(session)
    priced = item("QX-ZJJ-50", "QX-ZJJ", name="房屋交易")
    priced["form"] = [
        *priced["form"],
        {"code": "F9", "label_zh": "成交价格", "label_en": "Price", "element": "DE.PRICE"},
    ]
    priced["materials"] = []
    catalog_service.import_catalog(
        session=session,
        document=CatalogDocument.model_validate(
            {"elements": [*ELEMENTS, PRICE], "items": [priced]}
        ),
    )
    session.commit()


def _form(page: str, price: str) -> dict[str, str]:
    data = _application_form(page, item="QX-ZJJ-50", **{"form.DE.PRICE": price})
    data.pop("form.DE.BANK_ACCOUNT", None)
    return data


def test_a_price_typed_in_yuan_is_stored_in_fen_and_shown_in_yuan(
    client: TestClient, session: Session
) -> None:
    _priced_world(session)
    _as(client, "frontdesk")
    page = client.get("/apply?item=QX-ZJJ-50")
    assert 'name="form.DE.PRICE"' in page.text
    assert 'inputmode="decimal"' in page.text
    assert "金额以元为单位" in page.text
    done = _post(client, "/apply", _form(page.text, "1,500,000"))
    assert done.status_code == 303, done.text
    case = session.scalars(select(Case)).one()
    assert case.form_data["DE.PRICE"] == 150_000_000  # fen
    number = _submitted(client, done)
    shown = client.get(f"/cases/{number}").text
    assert "¥1,500,000.00" in shown
    assert ">150000000<" not in shown


def test_an_amount_that_is_not_yuan_is_refused_next_to_its_field(
    client: TestClient, session: Session
) -> None:
    _priced_world(session)
    _as(client, "frontdesk")
    page = client.get("/apply?item=QX-ZJJ-50")
    refused = _post(client, "/apply", _form(page.text, "1500.505"))
    assert refused.status_code == 422
    assert "请以元为单位填写金额" in refused.text
    assert 'value="1500.505"' in refused.text  # what was typed stays in the field
    assert session.scalars(select(Case)).first() is None


def test_the_applicants_phone_typed_with_spaces_is_stored_as_digits(
    client: TestClient, session: Session
) -> None:
    _priced_world(session)
    _as(client, "frontdesk")
    page = client.get("/apply?item=QX-ZJJ-50")
    data = _form(page.text, "100")
    data["applicant.phone"] = "+86 138-0013 8000"
    done = _post(client, "/apply", data)
    assert done.status_code == 303, done.text
    assert session.scalars(select(Case)).one().applicant_phone == "13800138000"
