"""``GET /api/v1/catalog/export``: the catalogue as JSON, YAML or CPSV-AP JSON-LD.

It lives here, not in ``catalog.api``, because the CPSV-AP form names the bundles as events
(see ``tongban.exports``); the URL and the answers are the catalogue's."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from tongban.catalog import io, service
from tongban.exports.cpsv import catalog_jsonld
from tongban.web.deps import CurrentPrincipal, DbSession

router = APIRouter(tags=["catalogue"])


@router.get("/catalog/export")
def export_catalog(
    session: DbSession,
    principal: CurrentPrincipal,
    format: Literal["json", "yaml", "cpsv-jsonld"] = "json",
    jurisdiction: Annotated[str, Query(max_length=12)] = "",
) -> Response:
    """``jurisdiction``: a division code, the items of that subtree only (one county)."""
    document = service.export_catalog(
        session=session, principal=principal, jurisdiction_code=jurisdiction.strip()
    )
    if format == "yaml":
        return PlainTextResponse(io.dump_yaml(document), media_type="application/yaml")
    if format == "cpsv-jsonld":
        return JSONResponse(
            catalog_jsonld(session=session, document=document), media_type="application/ld+json"
        )
    return JSONResponse(document.model_dump(mode="json"))
