"""Bounds of the integers that come from outside (path, query, form and body): every id,
version, offset and count is checked at the edge, so that a number too large for the database's
``integer`` (PostgreSQL's is 32 bits) is a 422 that names the field, never an overflow (500).

``Annotated`` constraints: they work alike in Pydantic models and in FastAPI's path and query
parameters, and appear in ``/openapi.json`` as ``minimum`` and ``maximum``."""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le

#: the largest value of an SQL ``integer`` (ids, versions, counts are kept in one)
MAX_INT = 2**31 - 1

#: a row's id (a step, a token, a job…)
RowId = Annotated[int, Ge(1), Le(MAX_INT)]
#: an optimistic-lock version, a version number, a position, an offset, a count
Count = Annotated[int, Ge(0), Le(MAX_INT)]
