"""Jurisdictions (属地), departments (部门) and application modules (应用模块)."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Integer, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tongban.db import Base


class Level(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"  # village, community or grid (村/社区/网格)


LEVEL_ORDER = [Level.PROVINCE, Level.CITY, Level.COUNTY, Level.TOWNSHIP, Level.VILLAGE]


class Jurisdiction(Base):
    """A node of the administrative tree, keyed by its division code (GB/T 2260 style)."""

    __tablename__ = "jurisdiction"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(300))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("jurisdiction.id"), index=True)
    # Materialised path of codes, "/330000/330100/330182/", so a subtree is one LIKE prefix.
    path: Mapped[str] = mapped_column(String(200), index=True)

    parent: Mapped[Jurisdiction | None] = relationship(remote_side=[id], lazy="raise")


module_department = Table(
    "module_department",
    Base.metadata,
    Column("module_id", ForeignKey("application_module.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("department.id", ondelete="CASCADE"), primary_key=True),
)


class Department(Base):
    """A government department or unit at one level of the tree."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(300))
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdiction.id"), index=True)
    uscc: Mapped[str | None] = mapped_column(String(18))
    # where and when people reach it (the receipt and the one-time notice print them)
    address_zh: Mapped[str] = mapped_column(String(300), default="")
    address_en: Mapped[str] = mapped_column(String(300), default="")
    hours_zh: Mapped[str] = mapped_column(String(300), default="")
    hours_en: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(300), default="")

    jurisdiction: Mapped[Jurisdiction] = relationship(lazy="raise")
    modules: Mapped[list[ApplicationModule]] = relationship(
        secondary=module_department, back_populates="departments", lazy="raise"
    )


class ApplicationModule(Base):
    """One of the six regrouped functions (决策协调, 审批协同, …); many-to-many with departments."""

    __tablename__ = "application_module"
    __table_args__ = (UniqueConstraint("code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(300))
    description_zh: Mapped[str] = mapped_column(String(500), default="")
    description_en: Mapped[str] = mapped_column(String(1000), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    departments: Mapped[list[Department]] = relationship(
        secondary=module_department, back_populates="modules", lazy="raise"
    )


class ServiceHall(Base):
    """A government service hall (政务服务中心, 便民服务中心): the window where people apply in
    person, for its jurisdiction and everything within it."""

    __tablename__ = "service_hall"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(300))
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdiction.id"), index=True)
    address_zh: Mapped[str] = mapped_column(String(300), default="")
    address_en: Mapped[str] = mapped_column(String(300), default="")
    hours_zh: Mapped[str] = mapped_column(String(300), default="")
    hours_en: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(300), default="")
