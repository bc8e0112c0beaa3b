"""What the bundle pages share: the label tables (English message ids; templates translate
them), drawing a page, the ledger's figures and chart, and reading posted fields."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from tongban.bundles.compose import Ledger
from tongban.catalog import service as catalog_service
from tongban.catalog.pages import NECESSITY_LABELS, STEP_LABELS, UNIT_LABELS
from tongban.org import service as org_service
from tongban.web.deps import (
    pick_locale,
)
from tongban.web.i18n import translations
from tongban.web.templating import render

TEXT_MAX = 5000
BLANK_MEMBER_ROWS = 2
BLANK_QUESTION_ROWS = 1
# Stands in for a code or a name not typed yet, so that a new bundle previews at once.
PREVIEW_CODE = "preview"

KIND_LABELS = {"life_event": "Life event", "business_event": "Business event"}
STATUS_LABELS = {"draft": "Draft", "published": "Published", "retired": "Retired"}
RULE_LABELS = {
    "one_form": "One unified form",
    "same_element": "Same data element asked once",
    "member_output": "Produced by another member",
    "e_licence": "Electronic licence",
    "shared_data": "Shared data",
    "same_material": "Same material submitted once",
    "single_window_acceptance": "Single-window acceptance",
    "single_delivery": "Single delivery",
    "single_window_visit": "One trip to the single window",
    "parallel_review": "Parallel review",
    "single_delivery_visit": "One trip to collect",
    "remote_delivery": "Delivered by post or electronically",
    "no_own_steps": "No steps of its own",
}
#: why a line of the ledger was removed, by "kind:rule", with the line's ``source`` (the member,
#: output, e-licence or department that makes it unnecessary): the page says it in the reader's
#: language (the service's English ``reason`` is the API's)
REASON_TEXTS = {
    "forms:one_form": "Its form is folded into the bundle's one unified form.",
    "fields:same_element": "The same data element is already asked by %(source)s.",
    "fields:member_output": "Produced by %(source)s, which runs before it.",
    "materials:member_output": "Produced by the member %(source)s.",
    "materials:e_licence": "Available as an e-licence (%(source)s).",
    "materials:shared_data": "Shared by %(source)s.",
    "materials:same_material": "The same material is already asked by %(source)s.",
    "steps:single_window_acceptance": "Replaced by the bundle's single-window acceptance.",
    "steps:single_delivery": "Replaced by the bundle's single delivery.",
    "visits:single_window_visit": "Its trip to submit is the bundle's one trip to the single "
    "window (with %(kept)s).",
    "visits:single_delivery_visit": "Its result is collected on the bundle's one trip (with "
    "%(kept)s).",
    "visits:remote_delivery": "Its result is delivered by post or electronically: no trip to "
    "collect it.",
    "days:parallel_review": "It runs beside the critical path.",
    "days:single_window_acceptance": "The members' own acceptance days are replaced by the "
    "bundle's.",
    "days:single_delivery": "The members' own delivery days are replaced by the bundle's.",
    "days:no_own_steps": "It has no step of its own beyond the bundle's acceptance and delivery.",
}
REMOVED_LABELS = {
    "forms": "Forms folded into the unified form",
    "fields": "Form fields asked once",
    "materials": "Materials no longer submitted",
    "steps": "Steps replaced",
    "visits": "Trips saved",
    "days": "Working days saved",
}
LINT_LABELS = {
    "dependency_cycle": "Dependency cycle",
    "unknown_reference": "Unknown reference",
    "unpublished_member": "Member not published",
    "unsupplied_input": "Input nothing supplies",
    "no_responsible_unit": "Step with no responsible unit",
    "limit_above_legal": "Step longer than the legal limit",
    "promised_above_legal": "Promised limit above the legal one",
    "conflicting_field": "Conflicting field definitions",
    "composition": "Cannot be composed",
}
CONFLICT_LABELS = {"definition": "Conflicting definitions", "duplicate": "Defined twice"}
DAY_KIND_LABELS = {"legal": "Legal time limit", "promised": "Promised time limit"}
RESPONSIBLE_LABELS = {**UNIT_LABELS, "single_window": "Single window"}
FIELD_LABELS = {
    "code": "Code",
    "name_zh": "Chinese name",
    "name_en": "English name",
    "kind": "Kind",
    "lead_department": "Lead department",
    "partners": "Partner departments",
    "description": "Description",
    "members": "Members",
    "questions": "Questions",
}
LABELS: dict[str, dict[str, str]] = {
    "kind": KIND_LABELS,
    "status": STATUS_LABELS,
    "rule": RULE_LABELS,
    "reason": REASON_TEXTS,
    "removed": REMOVED_LABELS,
    "lint": LINT_LABELS,
    "conflict": CONFLICT_LABELS,
    "necessity": NECESSITY_LABELS,
    "step": STEP_LABELS,
    "day_kind": DAY_KIND_LABELS,
    "responsible": RESPONSIBLE_LABELS,
    "field": FIELD_LABELS,
}


def _page(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    return render(request, template, {"labels": LABELS, **context}, status_code=status_code)


def _htmx(request: Request) -> bool:
    return bool(request.headers.get("hx-request")) and not request.headers.get(
        "hx-history-restore-request"
    )


# ---------------------------------------------------------------- figures and names


@dataclass(frozen=True)
class FigureRow:
    """One figure of the ledger, before and after."""

    key: str
    label: str  # a message id
    before: int
    after: int

    @property
    def saved(self) -> int:
        return self.before - self.after

    @property
    def percent(self) -> int:
        return round(100 * self.saved / self.before) if self.before else 0


def figure_rows(ledger: Ledger) -> list[FigureRow]:
    b, a = ledger.before, ledger.after
    return [
        FigureRow("forms", "Forms", b.forms, a.forms),
        FigureRow("fields", "Fields to fill in", b.fields, a.fields),
        FigureRow("materials", "Materials", b.materials, a.materials),
        FigureRow("steps", "Steps", b.steps, a.steps),
        FigureRow("visits", "Visits", b.visits, a.visits),
        FigureRow("legal_days", "Legal working days", b.days["legal"], a.days["legal"]),
        FigureRow("promised_days", "Promised working days", b.days["promised"], a.days["promised"]),
    ]


def chart_data(request: Request, rows: list[FigureRow]) -> dict[str, Any]:
    """What the chart draws, with its words already translated (the JSON block of the page)."""
    gettext = translations(pick_locale(request)).gettext
    return {
        "title": gettext("Before and after the bundle"),
        "before": gettext("Before"),
        "after": gettext("After"),
        "categories": [gettext(r.label) for r in rows],
        "before_values": [r.before for r in rows],
        "after_values": [r.after for r in rows],
    }


@dataclass(frozen=True)
class Name:
    zh: str
    en: str


def _department_names(session: Session) -> dict[str, Name]:
    return {
        str(d["code"]): Name(str(d["name_zh"]), str(d["name_en"]))
        for d in org_service.department_rows(session=session)
    }


def _item_names(session: Session, codes: list[str]) -> dict[str, Name]:
    items = catalog_service.published_items(session=session, codes=sorted(set(codes)))
    return {code: Name(i.name_zh, i.name_en) for code, i in items.items()}


def _ledger_context(request: Request, session: Session, ledger: Ledger) -> dict[str, Any]:
    rows = figure_rows(ledger)
    return {
        "ledger": ledger,
        "figures": rows,
        "chart": chart_data(request, rows),
        "item_names": _item_names(session, ledger.members),
    }


def _posted(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _int_or_none(text: str) -> int | None:
    text = text.strip()
    return int(text) if re.fullmatch(r"\d{1,9}", text) else None
