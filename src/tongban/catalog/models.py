"""Data elements (数据元) and versioned service items (事项) with everything the paper lists.

A ``ServiceItem`` is the stable identity (its implementation code). Its content lives in
``ItemVersion`` rows: draft → published → retired. Editing a published version makes a new draft.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tongban.db import Base, utcnow


class ElementType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    BOOLEAN = "boolean"
    MONEY = "money"  # integer fen
    ENUM = "enum"
    FILE = "file"


class Validator(StrEnum):
    NONE = "none"
    RESIDENT_ID = "resident_id"  # GB 11643
    USCC = "uscc"  # GB 32100
    PHONE = "phone"
    DATE = "date"
    MONEY_FEN = "money_fen"
    DIVISION_CODE = "division_code"  # GB/T 2260


class ApplicantField(StrEnum):
    """What a data element holds of the applicant: the form takes it from the applicant's own
    details (name, ID number, phone) instead of asking it a second time."""

    NAME = "name"
    ID_NO = "id_no"
    PHONE = "phone"


class ItemType(StrEnum):
    ADMINISTRATIVE_LICENCE = "administrative_licence"  # 行政许可
    ADMINISTRATIVE_PAYMENT = "administrative_payment"  # 行政给付
    PUBLIC_SERVICE = "public_service"  # 公共服务
    ADMINISTRATIVE_CONFIRMATION = "administrative_confirmation"  # 行政确认
    ADMINISTRATIVE_INSPECTION = "administrative_inspection"  # 行政检查
    ADMINISTRATIVE_PENALTY = "administrative_penalty"  # 行政处罚
    ADMINISTRATIVE_REWARD = "administrative_reward"  # 行政奖励
    ADMINISTRATIVE_COERCION = "administrative_coercion"  # 行政强制
    ADMINISTRATIVE_LEVY = "administrative_levy"  # 行政征收
    ADMINISTRATIVE_ADJUDICATION = "administrative_adjudication"  # 行政裁决
    OTHER = "other"  # 其他行政权力
    INTERNAL_MATTER = "internal_matter"  # 机关内部事项


class VersionStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class Necessity(StrEnum):
    REQUIRED = "required"
    OPTIONAL = "optional"
    CONDITIONAL = "conditional"  # 容缺/情形


class MaterialFormat(StrEnum):
    PAPER = "paper"
    ELECTRONIC = "electronic"
    BOTH = "both"


class MaterialSource(StrEnum):
    APPLICANT = "applicant"  # 申请人提供
    ITEM_OUTPUT = "item_output"  # 另一事项的办理结果
    SHARED_DATA = "shared_data"  # 数据共享
    E_LICENCE = "e_licence"  # 电子证照


class StepKind(StrEnum):
    ACCEPTANCE = "acceptance"  # 受理
    REVIEW = "review"  # 审查
    AUTOMATIC_CHECK = "automatic_check"
    ONSITE_VERIFICATION = "onsite_verification"  # 现场核验
    COLLECTIVE_DECISION = "collective_decision"  # 集体决策
    DECISION = "decision"  # 决定
    E_SIGNATURE = "e_signature"
    PAYMENT = "payment"
    DELIVERY = "delivery"  # 送达/办结
    NOTIFICATION = "notification"


class Channel(StrEnum):
    WINDOW = "window"  # 窗口
    ONLINE = "online"  # 网上
    MOBILE = "mobile"  # 掌上
    MAIL = "mail"  # 邮寄
    SELF_SERVICE = "self_service"  # 自助终端


class OutputKind(StrEnum):
    LICENCE = "licence"
    CERTIFICATE = "certificate"
    DECISION = "decision"
    PAYMENT = "payment"
    RECORD = "record"
    SERVICE = "service"


class DataElement(Base):
    """A granular datum (数据元) recognised across departments, with its authoritative source."""

    __tablename__ = "data_element"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    data_type: Mapped[str] = mapped_column(String(16))
    format: Mapped[str] = mapped_column(String(100), default="")
    max_length: Mapped[int | None] = mapped_column(Integer)
    allowed_values: Mapped[list[Any]] = mapped_column(default=list)
    validator: Mapped[str] = mapped_column(String(32), default=Validator.NONE.value)
    source_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    description: Mapped[str] = mapped_column(Text, default="")
    applicant_field: Mapped[str | None] = mapped_column(String(16))


class ServiceItem(Base):
    """The stable identity of an item across its versions."""

    __tablename__ = "service_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    implementation_code: Mapped[str] = mapped_column(String(64), unique=True)
    basic_code: Mapped[str] = mapped_column(String(40), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("service_item.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent: Mapped[ServiceItem | None] = relationship(remote_side=[id], lazy="raise")
    versions: Mapped[list[ItemVersion]] = relationship(
        back_populates="item", lazy="raise", order_by="ItemVersion.version_no"
    )


class ItemVersion(Base):
    """One version of an item's content; only drafts are ever edited."""

    __tablename__ = "item_version"
    __table_args__ = (UniqueConstraint("item_id", "version_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("service_item.id"), index=True)
    version_no: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(300))
    item_type: Mapped[str] = mapped_column(String(40), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # None: not yet recorded (the item is incomplete; see catalog/completeness.py)
    legal_limit_days: Mapped[int | None] = mapped_column(Integer)
    promised_limit_days: Mapped[int | None] = mapped_column(Integer)
    visits: Mapped[int | None] = mapped_column(Integer)
    # lists not yet recorded, of "legal_basis", "materials", "steps" (an empty list not named
    # here was stated empty)
    not_recorded: Mapped[list[Any]] = mapped_column(default=list)
    channels: Mapped[list[Any]] = mapped_column(default=list)
    conditions: Mapped[list[Any]] = mapped_column(default=list)  # [{"zh": …, "en": …}]
    fees: Mapped[list[Any]] = mapped_column(
        default=list
    )  # [{"name_zh", "name_en", "amount_fen", "basis"}]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    retired_at: Mapped[datetime | None]
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": lock_version}  # noqa: RUF012

    item: Mapped[ServiceItem] = relationship(back_populates="versions", lazy="raise")
    co_handlers: Mapped[list[CoHandler]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="CoHandler.position"
    )
    legal_bases: Mapped[list[LegalBasis]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="LegalBasis.position"
    )
    materials: Mapped[list[Material]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="Material.position"
    )
    form_fields: Mapped[list[FormField]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="FormField.position"
    )
    steps: Mapped[list[ProcessStep]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="ProcessStep.position"
    )
    outputs: Mapped[list[Output]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="Output.position"
    )


class CoHandler(Base):
    """A department that handles the item together with the competent one (协办)."""

    __tablename__ = "item_co_handler"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("item_version.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)


class LegalBasis(Base):
    """适用依据: the law, the article and its text."""

    __tablename__ = "item_legal_basis"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("item_version.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    law: Mapped[str] = mapped_column(String(300))
    article: Mapped[str] = mapped_column(String(100), default="")
    text: Mapped[str] = mapped_column(Text, default="")


class Material(Base):
    """申请材料, with the data elements it carries and where it can come from."""

    __tablename__ = "item_material"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("item_version.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(40))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(300))
    necessity: Mapped[str] = mapped_column(String(16))
    format: Mapped[str] = mapped_column(String(16))
    copies: Mapped[int] = mapped_column(Integer, default=1)
    source: Mapped[str] = mapped_column(String(16))
    source_ref: Mapped[str] = mapped_column(String(120), default="")  # item code / licence type
    element_codes: Mapped[list[Any]] = mapped_column(default=list)


class FormField(Base):
    """表单内容: a field of the item's form bound to a data element."""

    __tablename__ = "item_form_field"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("item_version.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(40))
    label_zh: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(300))
    element_id: Mapped[int] = mapped_column(ForeignKey("data_element.id"), index=True)
    required: Mapped[bool] = mapped_column(Boolean, default=True)

    element: Mapped[DataElement] = relationship(lazy="raise")


class ProcessStep(Base):
    """办事流程环节: kind, the unit responsible for it, and its time limit."""

    __tablename__ = "item_step"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("item_version.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(32))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(300))
    # A department code, or a level ("township") meaning "of the applicant's jurisdiction".
    responsible: Mapped[str] = mapped_column(String(40))
    limit_days: Mapped[int] = mapped_column(Integer, default=0)


class Output(Base):
    """办理结果: the licence, certificate, decision or payment an item produces."""

    __tablename__ = "item_output"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("item_version.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(40))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))
    e_licence: Mapped[bool] = mapped_column(Boolean, default=False)
    element_codes: Mapped[list[Any]] = mapped_column(default=list)


class SearchSynonym(Base):
    """A group of terms the catalogue search treats as one (营业执照 ↔ 企业设立登记), edited by
    the reform office; applied to the query, so an edit needs no reindex (decision 0005)."""

    __tablename__ = "search_synonym"

    id: Mapped[int] = mapped_column(primary_key=True)
    terms: Mapped[list[Any]] = mapped_column(default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
