"""The bundle document (``tongban-bundles/1``) and the API's bundle shapes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from tongban.bundles.models import BundleKind
from tongban.catalog.schemas import ItemCode

Code = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.\-]+$"
    ),
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, use_attribute_docstrings=True
    )


class AnswerIn(Strict):
    code: Code
    """The answer's code (what `when` names)."""
    zh: ShortText
    """Chinese text."""
    en: ShortText
    """English text."""


class QuestionIn(Strict):
    """A situation question (情形) whose answer decides which members apply."""

    code: Code
    """The question's code (what `when` names)."""
    text_zh: ShortText
    """Chinese text."""
    text_en: ShortText
    """English text."""
    answers: list[AnswerIn] = Field(min_length=1)
    """The possible answers, each once."""

    @model_validator(mode="after")
    def _answers_unique(self) -> QuestionIn:
        codes = [a.code for a in self.answers]
        if len(set(codes)) != len(codes):
            raise ValueError(f"question '{self.code}' lists an answer twice")
        return self


class MemberIn(Strict):
    item: ItemCode
    """The member item, by implementation code (published in the catalogue)."""
    stage: Annotated[int, Field(ge=1, le=20)] = 1
    """Display order of independent members (1 first); the order that counts is `depends_on`."""
    depends_on: list[ItemCode] = Field(default_factory=list)
    """Members that must finish before this one starts (their item codes); only an output of a
    member this one depends on, directly or through others, replaces its materials and fields."""
    when: dict[str, list[Code]] = Field(
        default_factory=dict,
        description="Applies only when, for every question named, the answer is one of these.",
    )


class BundleIn(Strict):
    code: Code
    """The bundle's code, unique."""
    status: Literal["draft", "published", "retired"] = "published"
    """The version's status: `draft`, `published` or `retired`."""
    name_zh: ShortText
    """Chinese name, e.g. 房产过户一件事."""
    name_en: ShortText
    """English name."""
    kind: BundleKind
    """For an individual (`life_event`) or a business (`business_event`), as CPSV-AP says."""
    description: Annotated[str, StringConstraints(max_length=5000)] = ""
    """Free text."""
    lead_department: Code
    """The department that leads (its single window accepts and delivers), by code."""
    partners: list[Code] = Field(default_factory=list)
    """Other departments taking part, by code."""
    questions: list[QuestionIn] = Field(default_factory=list)
    """Situation questions (情形) whose answers decide which members apply."""
    members: list[MemberIn] = Field(min_length=1)
    """The member items."""

    @model_validator(mode="after")
    def _consistent(self) -> BundleIn:
        """Every problem at once, each at its own place (``members[2].depends_on[0]``), so the
        file's errors carry the member's line, not the bundle's."""
        problems: list[tuple[tuple[str | int, ...], str, str]] = []
        items = [m.item for m in self.members]
        seen: set[str] = set()
        for i, code in enumerate(items):
            if code in seen:
                problems.append((("members", i, "item"), f"members listed twice: {code}", code))
            seen.add(code)
        questions: dict[str, set[str]] = {}
        for i, question in enumerate(self.questions):
            if question.code in questions:
                problems.append(
                    (("questions", i, "code"), "a question code appears twice", question.code)
                )
            questions[question.code] = {a.code for a in question.answers}
        for i, m in enumerate(self.members):
            for j, dep in enumerate(m.depends_on):
                if dep not in items:
                    problems.append(
                        (
                            ("members", i, "depends_on", j),
                            f"member {m.item} depends on {dep}, which is not a member",
                            dep,
                        )
                    )
            for q, answers in m.when.items():
                if q not in questions:
                    problems.append(
                        (
                            ("members", i, "when", q),
                            f"member {m.item} names unknown question '{q}'",
                            q,
                        )
                    )
                    continue
                unknown = sorted(set(answers) - questions[q])
                if unknown:
                    problems.append(
                        (
                            ("members", i, "when", q),
                            f"member {m.item}: question '{q}' has no answer {', '.join(unknown)}",
                            q,
                        )
                    )
        if problems:
            raise ValidationError.from_exception_data(
                "BundleIn",
                [
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "bundle_inconsistent",
                            message.replace("{", "{{").replace("}", "}}"),
                        ),
                        loc=loc,
                        input=value,
                    )
                    for loc, message, value in problems
                ],
            )
        return self


class BundleDocument(Strict):
    format: Literal["tongban-bundles/1"] = "tongban-bundles/1"
    """The format and its version."""
    bundles: list[BundleIn]
    """The bundles (一件事)."""


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a bundle file (``tongban bundle schema``)."""
    from tongban.kit.jsonschema import file_schema

    return file_schema(
        BundleDocument,
        title="Tongban bundle file (tongban-bundles/1)",
        description="One-thing bundles (一件事); see docs/bundles.md.",
    )
