"""The JSON Schema (draft 2020-12) of a file format, from the pydantic model that reads it, so
that an editor validates a file as it is typed (``tongban catalog schema`` and the like, and the
committed copies in ``docs/schemas/``). The model stays the one authority: the schema is
generated, and a test checks that the committed files are what the commands print."""

from __future__ import annotations

import json
from typing import Any, Final

from pydantic import BaseModel

DRAFT: Final = "https://json-schema.org/draft/2020-12/schema"


def file_schema(model: type[BaseModel], *, title: str, description: str) -> dict[str, Any]:
    """``model``'s validation schema with the draft, a title and a description on top."""
    schema = model.model_json_schema(mode="validation")
    schema.pop("title", None)
    schema.pop("description", None)
    return {"$schema": DRAFT, "title": title, "description": description, **schema}


def schema_text(schema: dict[str, Any]) -> str:
    """Deterministic JSON text (what the commands print and ``docs/schemas/`` holds)."""
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"
