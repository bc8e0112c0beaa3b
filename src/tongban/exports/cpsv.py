"""The catalogue as CPSV-AP JSON-LD with the one-thing bundles as its events."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tongban.bundles import service as bundle_service
from tongban.catalog import io
from tongban.catalog import service as catalog_service
from tongban.catalog.schemas import CatalogDocument


def catalog_jsonld(*, session: Session, document: CatalogDocument) -> dict[str, Any]:
    """``document`` as CPSV-AP 3.x JSON-LD: departments labelled from the organisation, and every
    published bundle a ``cv:LifeEvent``/``cv:BusinessEvent`` grouping its member services."""
    return io.to_cpsv_jsonld(
        document,
        departments=catalog_service.department_names(session=session),
        events=bundle_service.cpsv_events(session=session),
    )
