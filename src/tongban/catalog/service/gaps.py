"""The completeness report: per department, how many of its published items are complete, which
are not, and what each still has to fill in (``tongban.catalog.completeness``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from tongban.auth.access import require_role
from tongban.auth.principal import Principal
from tongban.catalog import completeness, repository
from tongban.catalog import types as item_types
from tongban.catalog.service.access import READER_ROLES
from tongban.org import repository as org_repository


@dataclass(frozen=True)
class IncompleteItem:
    implementation_code: str
    name_zh: str
    name_en: str
    item_type: str
    gaps: tuple[str, ...]


@dataclass
class DepartmentGaps:
    code: str
    name_zh: str
    name_en: str
    total: int = 0
    complete: int = 0
    headings: int = 0
    by_part: dict[str, int] = field(default_factory=lambda: dict.fromkeys(completeness.PARTS, 0))
    incomplete: list[IncompleteItem] = field(default_factory=list)

    @property
    def counted(self) -> int:
        """Items that are not headings: what the share of complete ones is taken over."""
        return self.total - self.headings

    @property
    def complete_percent(self) -> int:
        """Whole percent of complete items, rounded down (100 only when all are complete)."""
        return 100 if self.counted == 0 else self.complete * 100 // self.counted


@dataclass
class Report:
    departments: list[DepartmentGaps]

    @property
    def total(self) -> int:
        return sum(d.total for d in self.departments)

    @property
    def incomplete(self) -> int:
        return sum(len(d.incomplete) for d in self.departments)


def completeness_report(
    *,
    session: Session,
    principal: Principal | None,
    jurisdiction: str = "",
    as_system: bool = False,
) -> Report:
    """Staff of the catalogue (reform office, officers, data administrators) read it, and the
    command line (``as_system``); it covers published items, which everyone may read, so no
    further scope applies."""
    if not as_system:
        require_role(principal, *READER_ROLES)
    departments = {d.id: d for d in org_repository.all_departments(session)}
    out: dict[int, DepartmentGaps] = {}
    for row in repository.completeness_rows(session, jurisdiction):
        dept = departments[row.department_id]
        entry = out.get(row.department_id)
        if entry is None:
            entry = out[row.department_id] = DepartmentGaps(dept.code, dept.name_zh, dept.name_en)
        entry.total += 1
        if completeness.is_heading(row, row.has_sub_items):
            entry.headings += 1
            continue
        gaps = completeness.gaps(row)
        if not gaps:
            entry.complete += 1
            continue
        for part in gaps:
            entry.by_part[part] += 1
        entry.incomplete.append(
            IncompleteItem(row.implementation_code, row.name_zh, row.name_en, row.item_type,
                           tuple(gaps))
        )  # fmt: skip
    ordered = sorted(out.values(), key=lambda d: (d.complete_percent, d.code))
    return Report(ordered)


def gap_table(report: Report, zh: bool) -> tuple[list[str], list[list[Any]]]:
    """The report as one table: a row per incomplete item, a column per part (✗ when it is a gap
    of the item), for CSV and XLSX."""
    header = (
        ["部门编码", "部门", "事项实施编码", "事项名称", "事项类型"]
        if zh
        else ["Department code", "Department", "Implementation code", "Item", "Type"]
    )
    header += [completeness.part_label(p, zh) for p in completeness.PARTS]
    rows: list[list[Any]] = []
    for dept in report.departments:
        dept_name = dept.name_zh if zh or not dept.name_en else dept.name_en
        for item in dept.incomplete:
            name = item.name_zh if zh or not item.name_en else item.name_en
            rows.append(
                [dept.code, dept_name, item.implementation_code, name,
                 item_types.label(item.item_type, "zh" if zh else "en")]
                + [("未录入" if zh else "not recorded") if p in item.gaps else ""
                   for p in completeness.PARTS]
            )  # fmt: skip
    return header, rows
