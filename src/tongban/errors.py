"""One error hierarchy: a stable code, an HTTP status, a message and the fields at fault."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from pydantic import ValidationError


@dataclass
class FieldError:
    """One thing wrong with the input: where (path, row, file) and what."""

    loc: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"loc": self.loc, "message": self.message}


@dataclass(eq=False)  # an exception is itself, as Python's own are: hashable, compared by identity
class AppError(Exception):
    """``message`` may name its variable parts as ``%(name)s`` with their values in ``params``:
    ``message`` is then the English text, and ``template`` the message id that pages translate
    (``_(template)|format(**params)``)."""

    message: str
    errors: list[FieldError] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    #: the stable code of this refusal (``step_not_ready``, ``stale_version``…, listed in
    #: ``docs/errors.md``); the class's ``default_code`` when not given
    code: str = ""
    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "bad_request"

    def __post_init__(self) -> None:
        if not self.code:
            self.code = self.default_code
        self.template = self.message
        if self.params:
            self.message = self.message % self.params

    def __str__(self) -> str:
        if not self.errors:
            return self.message
        lines = "; ".join(f"{e.loc}: {e.message}" for e in self.errors[:5])
        more = f" (+{len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        return f"{self.message}: {lines}{more}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "errors": [e.as_dict() for e in self.errors],
            **({"data": self.data} if self.data else {}),
        }


class ValidationFailed(AppError):
    status = 422
    default_code = "validation_failed"

    @classmethod
    def of(
        cls, message: str, exc: ValidationError, *, root: str, prefix: str = "", code: str = ""
    ) -> Self:
        """Pydantic's errors, one FieldError each, located by their path (``root`` when the
        whole input is at fault), ``prefix`` before it; ``code`` as for the class."""
        return cls(
            message,
            code=code,
            errors=[
                FieldError(prefix + (".".join(str(p) for p in e["loc"]) or root), e["msg"])
                for e in exc.errors()
            ],
        )


class NotAuthenticated(AppError):
    status = 401
    default_code = "not_authenticated"


class PermissionDenied(AppError):
    status = 403
    default_code = "permission_denied"


class TooManyRequests(AppError):
    """``data["retry_after"]``: seconds until the next attempt may succeed."""

    status = 429
    default_code = "too_many_requests"


class NotFound(AppError):
    status = 404
    default_code = "not_found"


class MethodNotAllowed(AppError):
    status = 405
    default_code = "method_not_allowed"


class Conflict(AppError):
    status = 409
    default_code = "conflict"


class PayloadTooLarge(AppError):
    status = 413
    default_code = "body_too_large"


class CsrfFailed(AppError):
    status = 403
    default_code = "csrf_failed"


class Unavailable(AppError):
    """The database is busy or out of reach: nothing was written; ``data["retry_after"]``
    seconds later the same request may succeed."""

    status = 503
    default_code = "unavailable"


#: what the pages and the API say when the database is busy or out of reach
DATABASE_UNAVAILABLE = "the database is busy or out of reach; nothing was saved, try again shortly"


def database_unavailable(exc: BaseException) -> Unavailable | None:
    """An :class:`Unavailable` for a database error a retry may cure — SQLite busy or locked
    past its timeout, a PostgreSQL connection lost or refused, a lock wait or statement
    cancelled — whether SQLAlchemy wrapped it or the hot path met it bare; None for any other
    error (a missing table stays the defect it is)."""
    from sqlalchemy.exc import DBAPIError

    original = exc.orig if isinstance(exc, DBAPIError) else exc
    if type(original).__module__.startswith("sqlite3"):
        text = str(original).lower()
        transient = type(original).__name__ == "OperationalError" and (
            "locked" in text or "busy" in text
        )
    else:
        import psycopg

        transient = isinstance(original, psycopg.OperationalError)
    if not transient:
        return None
    return Unavailable(DATABASE_UNAVAILABLE, data={"retry_after": 5}, code="database_unavailable")


def nul_character(exc: BaseException) -> ValidationFailed | None:
    """A :class:`ValidationFailed` for text holding the NUL character, which PostgreSQL's text
    cannot keep (the transaction is rolled back); None for any other error, which stays the
    defect it is."""
    from sqlalchemy.exc import DBAPIError

    original = exc.orig if isinstance(exc, DBAPIError) else exc
    if "NUL (0x00)" not in str(original):
        return None
    return ValidationFailed(
        "text must not contain the NUL character (0x00); nothing was written",
        code="nul_character",
    )
