"""HTML page of the organisation: the jurisdiction tree, departments by jurisdiction, and the
six application modules as a module × department matrix."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tongban.org import service
from tongban.web.deps import CurrentPrincipal, DbSession
from tongban.web.templating import render

router = APIRouter(include_in_schema=False)

LEVEL_LABELS = {
    "province": "Province",
    "city": "City",
    "county": "County",
    "township": "Township or subdistrict",
    "village": "Village, community or grid",
}


@dataclass
class JurisdictionNode:
    code: str
    name_zh: str
    name_en: str
    level: str
    children: list[JurisdictionNode] = field(default_factory=list)
    departments: list[dict[str, object]] = field(default_factory=list)


def build_tree(
    rows: list[dict[str, str | None]], departments: list[dict[str, object]]
) -> list[JurisdictionNode]:
    """Nest the flat rows under their parents; a row whose parent is unknown becomes a root."""
    nodes = {
        str(r["code"]): JurisdictionNode(
            code=str(r["code"]),
            name_zh=str(r["name_zh"] or ""),
            name_en=str(r["name_en"] or ""),
            level=str(r["level"] or ""),
        )
        for r in rows
    }
    roots: list[JurisdictionNode] = []
    for r in rows:
        node = nodes[str(r["code"])]
        parent = nodes.get(str(r["parent"])) if r["parent"] else None
        (parent.children if parent else roots).append(node)
    for dept in departments:
        owner = nodes.get(str(dept["jurisdiction"]))
        if owner is not None:
            owner.departments.append(dept)
    return roots


def _flatten(nodes: list[JurisdictionNode]) -> list[JurisdictionNode]:
    out: list[JurisdictionNode] = []
    for node in nodes:
        out.append(node)
        out.extend(_flatten(node.children))
    return out


@router.get("/org", response_class=HTMLResponse)
def org_page(request: Request, session: DbSession, principal: CurrentPrincipal) -> HTMLResponse:
    departments = service.department_rows(session=session)
    tree = build_tree(service.jurisdiction_rows(session=session), departments)
    modules = service.modules(session=session)
    members = {m.code: {d.code for d in m.departments} for m in modules}
    context = {
        "tree": tree,
        "with_departments": [n for n in _flatten(tree) if n.departments],
        "departments": departments,
        "modules": modules,
        "members": members,
        "level_labels": LEVEL_LABELS,
    }
    return render(request, "org/index.html", context)
