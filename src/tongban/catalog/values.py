"""Checking one value against its data element: type, length, allowed values and validator."""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from tongban.kit import ids


class ElementLike(Protocol):
    code: str
    data_type: str
    max_length: int | None
    allowed_values: list[Any]
    validator: str


def check_value(element: ElementLike, value: Any) -> None:
    """Raise ValueError with a message that names the element and what is wrong."""
    name = element.code
    if element.data_type in {"string", "enum", "date"} and not isinstance(value, str):
        raise ValueError(f"{name}: expected text, got {type(value).__name__}")
    if element.data_type == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"{name}: expected a whole number")
    if element.data_type == "boolean" and not isinstance(value, bool):
        raise ValueError(f"{name}: expected true or false")
    if (
        isinstance(value, str)
        and element.max_length is not None
        and len(value) > element.max_length
    ):
        raise ValueError(f"{name}: at most {element.max_length} characters, got {len(value)}")
    if element.allowed_values and value not in element.allowed_values:
        allowed = ", ".join(str(v) for v in element.allowed_values)
        raise ValueError(f"{name}: '{value}' is not one of: {allowed}")
    if element.data_type == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{name}: '{value}' is not a date (YYYY-MM-DD)") from None
    try:
        match element.validator:
            case "resident_id":
                ids.validate_resident_id(value)
            case "uscc":
                ids.validate_uscc(value)
            case "phone":
                ids.validate_phone(value)
            case "date":
                ids.validate_date_text(value)
            case "money_fen":
                ids.validate_money_fen(value)
            case "division_code":
                ids.validate_division_code(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
    if element.data_type == "money" and element.validator != "money_fen":
        ids.validate_money_fen(value)
