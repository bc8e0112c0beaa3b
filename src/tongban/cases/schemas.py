"""What an application carries, and the shapes the API returns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from tongban.kit.bounds import Count, RowId
from tongban.kit.ids import normalize_phone, normalize_resident_id, validate_division_code


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ApplicantIn(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    id_no: str = Field(description="Resident ID number (GB 11643) or unified social credit code.")
    phone: str = ""
    jurisdiction: str = Field(description="Division code of the applicant's village or township.")

    @field_validator("id_no")
    @classmethod
    def _id(cls, value: str) -> str:
        from tongban.kit.ids import normalize_uscc

        if (
            len(value) == 18
            and value[:2].isdigit()
            and value[2:].replace("X", "").replace("x", "").isdigit()
        ):
            try:
                return normalize_resident_id(value)
            except ValueError:
                # an all-digit unified social credit code has the shape of an ID number too
                try:
                    return normalize_uscc(value)
                except ValueError:
                    pass
                raise
        return normalize_uscc(value)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalize_phone(value) if value else value

    @field_validator("jurisdiction")
    @classmethod
    def _division(cls, value: str) -> str:
        validate_division_code(value)
        return value


class ApplicationIn(Strict):
    item: Annotated[str, StringConstraints(max_length=64)] | None = None
    bundle: Annotated[str, StringConstraints(max_length=40)] | None = None
    answers: dict[str, str] | None = None
    applicant: ApplicantIn
    form: dict[str, Any] = Field(default_factory=dict, description="Values by data element code.")
    channel: Literal["window", "online", "mobile", "mail", "self_service"] = "window"
    idempotency_key: Annotated[str, StringConstraints(min_length=8, max_length=100)]


class StepOut(BaseModel):
    id: int
    case_number: str
    position: int
    item_code: str | None
    code: str
    kind: str
    name_zh: str
    name_en: str
    status: str
    responsible_department: str | None
    responsible_jurisdiction: str
    limit_days: int
    ready_at: datetime | None
    due_date: date | None
    due_provisional: bool
    calendar_version: str
    acted_by: str | None
    acted_department: str | None
    acted_at: datetime | None
    duty_shift: bool
    outcome: dict[str, Any]
    lock_version: int
    overdue: bool


class EventOut(BaseModel):
    seq: int
    at: datetime
    actor: str | None
    action: str
    step_id: int | None
    data: dict[str, Any]
    hash: str


class CaseOut(BaseModel):
    number: str
    subject_kind: str
    subject_code: str
    status: str
    applicant_name: str
    applicant_jurisdiction: str
    submitted_at: datetime
    finished_at: datetime | None
    legal_due: date | None
    promised_due: date | None
    form: dict[str, Any]
    steps: list[StepOut]
    events: list[EventOut]
    suspended: bool
    lock_version: int


class CompleteIn(Strict):
    lock_version: Count
    outcome: dict[str, Any] = Field(default_factory=dict)


class DecideIn(Strict):
    lock_version: Count
    reasons: Annotated[str, StringConstraints(min_length=2, max_length=2000)]
    """The committee's reasons, which the applicant reads."""


class ReturnIn(Strict):
    lock_version: Count
    to_step_id: RowId
    reason: Annotated[str, StringConstraints(min_length=2, max_length=2000)]


class CorrectionIn(Strict):
    reason: Annotated[str, StringConstraints(min_length=2, max_length=2000)]
    kind: Literal["correction", "expert_review"] = "correction"


class VoteIn(Strict):
    choice: Literal["approve", "reject", "abstain"]


class DelegateIn(Strict):
    to_department: str
    reason: Annotated[str, StringConstraints(min_length=2, max_length=2000)]


class SignIn(Strict):
    party: Literal["applicant", "department"]
