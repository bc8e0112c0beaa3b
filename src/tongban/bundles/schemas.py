"""The bundle document (``tongban-bundles/1``) and the API's bundle shapes."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from tongban.bundles.models import BundleKind

Code = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.\-]+$"
    ),
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AnswerIn(Strict):
    code: Code
    zh: ShortText
    en: ShortText


class QuestionIn(Strict):
    """A situation question (情形) whose answer decides which members apply."""

    code: Code
    text_zh: ShortText
    text_en: ShortText
    answers: list[AnswerIn] = Field(min_length=1)

    @model_validator(mode="after")
    def _answers_unique(self) -> QuestionIn:
        codes = [a.code for a in self.answers]
        if len(set(codes)) != len(codes):
            raise ValueError(f"question '{self.code}' lists an answer twice")
        return self


class MemberIn(Strict):
    item: Code
    stage: Annotated[int, Field(ge=1, le=20)] = 1
    depends_on: list[Code] = Field(default_factory=list)
    when: dict[str, list[Code]] = Field(
        default_factory=dict,
        description="Applies only when, for every question named, the answer is one of these.",
    )


class BundleIn(Strict):
    code: Code
    status: Literal["draft", "published", "retired"] = "published"
    name_zh: ShortText
    name_en: ShortText
    kind: BundleKind
    description: Annotated[str, StringConstraints(max_length=5000)] = ""
    lead_department: Code
    partners: list[Code] = Field(default_factory=list)
    questions: list[QuestionIn] = Field(default_factory=list)
    members: list[MemberIn] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> BundleIn:
        items = [m.item for m in self.members]
        dupes = sorted({c for c in items if items.count(c) > 1})
        if dupes:
            raise ValueError("members listed twice: " + ", ".join(dupes))
        questions = {q.code: {a.code for a in q.answers} for q in self.questions}
        if len(questions) != len(self.questions):
            raise ValueError("a question code appears twice")
        for m in self.members:
            for dep in m.depends_on:
                if dep not in items:
                    raise ValueError(f"member {m.item} depends on {dep}, which is not a member")
            for q, answers in m.when.items():
                if q not in questions:
                    raise ValueError(f"member {m.item} names unknown question '{q}'")
                unknown = sorted(set(answers) - questions[q])
                if unknown:
                    raise ValueError(
                        f"member {m.item}: question '{q}' has no answer {', '.join(unknown)}"
                    )
        return self


class BundleDocument(Strict):
    format: Literal["tongban-bundles/1"] = "tongban-bundles/1"
    bundles: list[BundleIn]
