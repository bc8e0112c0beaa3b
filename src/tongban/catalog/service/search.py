"""Searching the catalogue (decision 0005): the parsed query, the jurisdiction a reader sees by
default, the synonym list the reform office edits, and rebuilding the index."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.audit import service as audit
from tongban.auth.access import require_principal
from tongban.auth.models import Role
from tongban.auth.principal import Principal
from tongban.catalog import repository
from tongban.catalog.models import SearchSynonym
from tongban.catalog.search import index as search_index
from tongban.catalog.search import text as search_text
from tongban.catalog.service.access import visible_versions
from tongban.errors import FieldError, NotFound, PermissionDenied, ValidationFailed

ALL_JURISDICTIONS = "all"  # the filter value that asks for every jurisdiction


def default_jurisdiction(principal: Principal | None) -> str:
    """A reform office sees its own subtree by default: the division code of its grant (the
    widest, when it holds several on one branch); everyone else sees all jurisdictions."""
    if principal is None:
        return ""
    paths = sorted({s.jurisdiction_path for s in principal.scopes_for(Role.REFORM_OFFICE)}, key=len)
    if not paths or any(not p.startswith(paths[0]) for p in paths):
        return ""
    return paths[0].strip("/").rsplit("/", 1)[-1]


def resolve_jurisdiction(principal: Principal | None, asked: str | None) -> str:
    """The jurisdiction filter in force: what was asked, ``all`` for none, else the default."""
    if asked is None or asked == "":
        return default_jurisdiction(principal)
    return "" if asked == ALL_JURISDICTIONS else asked


def search_items(
    *, session: Session, principal: Principal | None, flt: repository.ItemFilter
) -> tuple[list[repository.ItemRow], int]:
    query = search_text.parse(flt.text, search_index.synonym_groups(session)) if flt.text else None
    return repository.search_latest(session, visible_versions(principal), flt, query)


def parsed_query(session: Session, text: str) -> search_text.Query:
    return search_text.parse(text, search_index.synonym_groups(session))


def reindex(session: Session) -> int:
    return search_index.reindex(session)


# ---------------------------------------------------------------- synonyms


def list_synonyms(session: Session) -> list[SearchSynonym]:
    return list(session.scalars(select(SearchSynonym).order_by(SearchSynonym.id)))


def _require_reform_office(principal: Principal | None, as_system: bool) -> Principal | None:
    """The reform office edits the synonyms; only a trusted internal caller (an operator's CLI
    command) edits without a principal, and says so with ``as_system=True``: anonymous is never
    the system."""
    if as_system and principal is None:
        return None
    who = require_principal(principal)
    if not who.has_role(Role.REFORM_OFFICE):
        raise PermissionDenied(
            "only the reform office edits the search synonyms", code="reform_office_only"
        )
    return who


def _clean_terms(terms: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(t.strip() for t in terms if t.strip()))
    errors = [
        FieldError(f"terms[{i}]", "a term holds at least one letter, digit or Chinese character")
        for i, t in enumerate(cleaned)
        if not search_text.runs(t)
    ]
    if len(cleaned) < 2:
        errors.append(FieldError("terms", "a synonym group needs at least two terms"))
    if any(len(t) > 50 for t in cleaned):
        errors.append(FieldError("terms", "a term is at most 50 characters"))
    if errors:
        raise ValidationFailed(
            "the synonym group is invalid; nothing was saved", errors=errors, code="synonym_invalid"
        )
    return cleaned


def save_synonym(
    *,
    session: Session,
    principal: Principal | None,
    terms: list[str],
    synonym_id: int | None = None,
    as_system: bool = False,
) -> SearchSynonym:
    """Add a synonym group, or replace the terms of one; audited."""
    who = _require_reform_office(principal, as_system)
    cleaned = _clean_terms(terms)
    if synonym_id is None:
        row = SearchSynonym(terms=cleaned)
        session.add(row)
        before: list[str] = []
    else:
        found = session.get(SearchSynonym, synonym_id)
        if found is None:
            raise NotFound(
                "no synonym group %(id)s", params={"id": synonym_id}, code="synonym_not_found"
            )
        row, before = found, list(found.terms)
        row.terms = cleaned
    row.updated_by_id = who.user_id if who else None
    session.flush()
    audit.record(
        session=session,
        actor_user_id=who.user_id if who else None,
        action="catalog.synonym_save",
        object_type="search_synonym",
        object_key=str(row.id),
        detail={"before": before, "terms": cleaned},
    )
    return row


def delete_synonym(
    *, session: Session, principal: Principal | None, synonym_id: int, as_system: bool = False
) -> None:
    who = _require_reform_office(principal, as_system)
    row = session.get(SearchSynonym, synonym_id)
    if row is None:
        raise NotFound(
            "no synonym group %(id)s", params={"id": synonym_id}, code="synonym_not_found"
        )
    terms = list(row.terms)
    session.delete(row)
    session.flush()
    audit.record(
        session=session,
        actor_user_id=who.user_id if who else None,
        action="catalog.synonym_delete",
        object_type="search_synonym",
        object_key=str(synonym_id),
        detail={"terms": terms},
    )
