"""The composer's form: what it shows (the stored definition, or exactly what the user typed),
how its rows become a definition, and where each error of the service goes on it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from tongban.bundles.pages.common import (
    TEXT_MAX,
)
from tongban.bundles.schemas import BundleIn
from tongban.errors import FieldError

# ---------------------------------------------------------------- the composer's form


@dataclass
class MemberRow:
    item: str = ""
    stage: str = "1"
    depends_on: list[str] = field(default_factory=list)
    when: str = ""  # "question=answer,answer; question=answer"


@dataclass
class QuestionRow:
    code: str = ""
    text_zh: str = ""
    text_en: str = ""
    answers: str = ""  # one "code|中文|English" a line


def when_text(when: dict[str, list[str]]) -> str:
    return "; ".join(f"{q}={','.join(answers)}" for q, answers in when.items())


def parse_when(text: str) -> tuple[dict[str, list[str]], bool]:
    """``has_gas=yes; event=recruitment,transfer_in`` → a ``when`` dict; False when malformed."""
    when: dict[str, list[str]] = {}
    ok = True
    for part in re.split(r"[;\n；]", text):
        part = part.strip()
        if not part:
            continue
        question, sep, answers = part.partition("=")
        values = [a.strip() for a in re.split(r"[,，]", answers) if a.strip()]
        if not sep or not question.strip() or not values:
            ok = False
            continue
        when.setdefault(question.strip(), []).extend(values)
    return when, ok


@dataclass
class ComposerForm:
    """What the composer shows: the stored definition, or exactly what the user typed."""

    code: str = ""
    name_zh: str = ""
    name_en: str = ""
    kind: str = "life_event"
    lead_department: str = ""
    partners: list[str] = field(default_factory=list)
    description: str = ""
    members: list[MemberRow] = field(default_factory=list)
    questions: list[QuestionRow] = field(default_factory=list)
    lock_version: str = ""

    @classmethod
    def from_bundle(cls, bundle: BundleIn, lock_version: int) -> ComposerForm:
        return cls(
            code=bundle.code,
            name_zh=bundle.name_zh,
            name_en=bundle.name_en,
            kind=bundle.kind.value,
            lead_department=bundle.lead_department,
            partners=list(bundle.partners),
            description=bundle.description,
            members=[
                MemberRow(m.item, str(m.stage), list(m.depends_on), when_text(m.when))
                for m in bundle.members
            ],
            questions=[
                QuestionRow(
                    q.code,
                    q.text_zh,
                    q.text_en,
                    "\n".join(f"{a.code}|{a.zh}|{a.en}" for a in q.answers),
                )
                for q in bundle.questions
            ],
            lock_version=str(lock_version),
        )

    @classmethod
    def from_form(cls, form: FormData) -> ComposerForm:
        def text(name: str, default: str = "") -> str:
            value = form.get(name)
            return value[:TEXT_MAX] if isinstance(value, str) else default

        def texts(name: str) -> list[str]:
            return [v[:TEXT_MAX] for v in form.getlist(name) if isinstance(v, str)]

        members: list[MemberRow] = []
        for i in range(_row_count(form, "m")):
            members.append(
                MemberRow(
                    item=text(f"m-{i}-item").strip(),
                    stage=text(f"m-{i}-stage").strip(),
                    depends_on=texts(f"m-{i}-dep"),
                    when=text(f"m-{i}-when"),
                )
            )
        questions: list[QuestionRow] = []
        for i in range(_row_count(form, "q")):
            questions.append(
                QuestionRow(
                    code=text(f"q-{i}-code"),
                    text_zh=text(f"q-{i}-text_zh"),
                    text_en=text(f"q-{i}-text_en"),
                    answers=text(f"q-{i}-answers"),
                )
            )
        return cls(
            code=text("code"),
            name_zh=text("name_zh"),
            name_en=text("name_en"),
            kind=text("kind"),
            lead_department=text("lead_department"),
            partners=texts("partners"),
            description=text("description"),
            members=members,
            questions=questions,
            lock_version=text("lock_version"),
        )

    def definition(self) -> tuple[dict[str, Any], list[int], list[int], list[FieldError]]:
        """The service's definition, the form row of each member and question sent (so that
        errors land on the row the user typed in), and the errors of the page's own text
        formats (``when`` and the answer lines)."""
        errors: list[FieldError] = []
        members: list[dict[str, Any]] = []
        member_rows: list[int] = []
        for row_no, row in enumerate(self.members):
            if not row.item:
                continue
            when, ok = parse_when(row.when)
            if not ok:
                errors.append(FieldError(f"members.{len(members)}.when", WHEN_SYNTAX))
            stage = row.stage.strip()
            members.append(
                {
                    "item": row.item,
                    "stage": int(stage) if re.fullmatch(r"\d{1,3}", stage) else stage,
                    "depends_on": [d for d in row.depends_on if d],
                    "when": when,
                }
            )
            member_rows.append(row_no)
        questions: list[dict[str, Any]] = []
        question_rows: list[int] = []
        for row_no, q in enumerate(self.questions):
            if not (q.code.strip() or q.text_zh.strip() or q.text_en.strip() or q.answers.strip()):
                continue
            answers: list[dict[str, str]] = []
            for line_no, line in enumerate(q.answers.splitlines(), start=1):
                if not line.strip():
                    continue
                parts = [p.strip() for p in line.split("|")]
                if len(parts) != 3:
                    errors.append(
                        FieldError(f"questions.{len(questions)}.answers#{line_no}", ANSWER_SYNTAX)
                    )
                    continue
                answers.append({"code": parts[0], "zh": parts[1], "en": parts[2]})
            questions.append(
                {"code": q.code, "text_zh": q.text_zh, "text_en": q.text_en, "answers": answers}
            )
            question_rows.append(row_no)
        data: dict[str, Any] = {
            "code": self.code,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "kind": self.kind,
            "description": self.description,
            "lead_department": self.lead_department,
            "partners": [p for p in self.partners if p],
            "questions": questions,
            "members": members,
        }
        return data, member_rows, question_rows, errors


def _row_count(form: FormData, prefix: str) -> int:
    """How many rows of a repeated group were sent (``m-3-item`` → at least 4)."""
    count = 0
    pattern = re.compile(rf"^{prefix}-(\d{{1,3}})-")
    for key in form:
        found = pattern.match(key)
        if found:
            count = max(count, int(found.group(1)) + 1)
    return count


WHEN_SYNTAX = "Write conditions as question=answer,answer; separate questions with ';'."
ANSWER_SYNTAX = "Write each answer as code|中文|English."

# Messages of the validators, said plainly (and translatable) next to the field.
_PLAIN_MESSAGES: tuple[tuple[str, str], ...] = (
    ("String should have at least 1 character", "This field is required."),
    ("Input should be a valid integer", "Enter a whole number."),
    ("Input should be greater than or equal to", "Enter a number that is not negative."),
    ("Input should be less than or equal to", "The number is too large."),
    ("String should have at most", "The text is too long."),
    ("String should match pattern", "Use only letters, digits, '.', '_' and '-'."),
    ("List should have at least 1 item", "Add at least one."),
    ("Input should be '", "Choose one of the listed values."),
    ("Field required", "This field is required."),
)
_SIMPLE_FIELDS = (
    "code",
    "name_zh",
    "name_en",
    "kind",
    "lead_department",
    "partners",
    "description",
)


def _plain(message: str) -> str:
    for needle, plain in _PLAIN_MESSAGES:
        if needle in message:
            return plain
    return message.removeprefix("Value error, ")


@dataclass(frozen=True)
class FieldMessage:
    """An error shown on the form: a message id, the answer line it names, and where it is."""

    message: str
    line: int | None = None
    loc: str = ""


def place_errors(
    errors: list[FieldError],
    member_rows: list[int],
    question_rows: list[int],
    members: list[MemberRow] | None = None,
) -> tuple[dict[str, list[FieldMessage]], list[FieldMessage]]:
    """Sort the service's errors onto the composer's fields and rows; the rest goes on top."""
    by_field: dict[str, list[FieldMessage]] = {}
    general: list[FieldMessage] = []
    for error in errors:
        loc = re.sub(r"\[(\d+)\]", r".\1", error.loc).removeprefix("bundle.")
        loc, _, line_text = loc.partition("#")
        line = int(line_text) if line_text.isdigit() else None
        parts = loc.split(".")
        message = FieldMessage(_plain(error.message), line=line, loc=loc)
        target: str | None = None
        if parts[0] in _SIMPLE_FIELDS:
            target = parts[0]
        elif parts[0] == "members" and len(parts) > 1 and parts[1].isdigit():
            index = int(parts[1])
            target = f"member-{member_rows[index] if index < len(member_rows) else index}"
        elif parts[0] == "questions" and len(parts) > 1 and parts[1].isdigit():
            index = int(parts[1])
            target = f"question-{question_rows[index] if index < len(question_rows) else index}"
        else:
            # A message about the members as a whole that names one member goes on its row.
            named = re.match(
                r"(?:Value error, )?(?:member |item ')([A-Za-z0-9_.\-]+)", error.message
            )
            rows = [m.item for m in members or []]
            if parts[0] in {"members", "bundle", ""} and named and named.group(1) in rows:
                target = f"member-{rows.index(named.group(1))}"
            elif parts[0] in {"members", "questions"}:
                target = parts[0]
            elif "question code appears twice" in error.message:
                target = "questions"
        if target is None:
            general.append(message)
        else:
            by_field.setdefault(target, []).append(message)
    return by_field, general
