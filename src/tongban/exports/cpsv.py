"""The catalogue as CPSV-AP JSON-LD with the one-thing bundles as its events."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tongban.bundles import service as bundle_service
from tongban.catalog import io
from tongban.catalog.schemas import CatalogDocument
from tongban.config import get_settings
from tongban.org import service as org_service


def catalog_jsonld(
    *, session: Session, document: CatalogDocument, base_uri: str | None = None
) -> dict[str, Any]:
    """``document`` as CPSV-AP 3.2.0 JSON-LD: departments named and placed in their jurisdictions
    from the organisation, and every published bundle a ``cv:LifeEvent``/``cv:BusinessEvent``
    grouping its member services. The IRIs start with ``base_uri``, by default the setting
    ``TONGBAN_PUBLIC_BASE_URL``."""
    departments = {
        str(row["code"]): io.CpsvDepartment(
            name_zh=str(row["name_zh"]),
            name_en=str(row["name_en"]),
            jurisdiction=str(row["jurisdiction"]),
        )
        for row in org_service.department_rows(session=session)
    }
    places = {
        str(row["code"]): io.CpsvPlace(
            code=str(row["code"]),
            name_zh=str(row["name_zh"]),
            name_en=str(row["name_en"]),
            parent=row["parent"],
        )
        for row in org_service.jurisdiction_rows(session=session)
    }
    return io.to_cpsv_jsonld(
        document,
        base_uri=base_uri or get_settings().public_base(),
        departments=departments,
        places=places,
        events=bundle_service.cpsv_events(session=session),
    )
