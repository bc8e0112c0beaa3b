"""Reading items (search, one item with its versions) and drafting, publishing and retiring them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from tongban.audit import service as audit
from tongban.auth.access import require_principal
from tongban.auth.principal import Principal
from tongban.catalog import repository
from tongban.catalog.models import (
    DataElement,
    ItemVersion,
    VersionStatus,
)
from tongban.catalog.schemas import (
    ItemIn,
)
from tongban.catalog.search.index import index_versions
from tongban.catalog.service.access import (
    EDITOR_ROLES,
    PUBLISHER_ROLES,
    _covers,
    visible_versions,
)
from tongban.catalog.service.checks import (
    _all_item_codes,
    _item_reference_errors,
    output_index,
    parent_cycle_errors,
    publish_errors,
    source_ref_form_errors,
)
from tongban.catalog.service.convert import (
    _fill_version,
    _lookups,
    version_to_item,
)
from tongban.catalog.service.published import e_licence_types
from tongban.catalog.service.transfer import (
    _set_status,
)
from tongban.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from tongban.org.models import Department


@dataclass(frozen=True)
class VersionSummary:
    version_no: int
    status: str
    updated_at: Any
    published_at: Any


@dataclass(frozen=True)
class ItemDetail:
    item: ItemIn
    version_no: int
    status: str
    lock_version: int
    versions: list[VersionSummary]
    departments: dict[str, Department]
    elements: dict[str, DataElement]
    can_edit: bool
    can_publish: bool


def get_item(
    *,
    session: Session,
    principal: Principal | None,
    implementation_code: str,
    version_no: int | None = None,
) -> ItemDetail:
    item = repository.item_by_code(session, implementation_code)
    visible = visible_versions(principal)
    versions = repository.versions_of(session, item.id, visible) if item else []
    if not versions:
        raise NotFound(
            "no item '%(item)s'", params={"item": implementation_code}, code="item_not_found"
        )
    chosen = versions[-1]
    if version_no is not None:
        matching = [v for v in versions if v.version_no == version_no]
        if not matching:
            raise NotFound(
                "item '%(item)s' has no version %(version)s",
                params={"item": implementation_code, "version": version_no},
                code="version_not_found",
            )
        chosen = matching[0]
    version = repository.full_version(session, chosen.id)
    lookups = _lookups(session)
    content = version_to_item(version, lookups.department_codes)
    return ItemDetail(
        item=content,
        version_no=version.version_no,
        status=version.status,
        lock_version=version.lock_version,
        versions=[
            VersionSummary(v.version_no, v.status, v.updated_at, v.published_at) for v in versions
        ],
        departments=lookups.departments,
        elements=lookups.elements,
        can_edit=_covers(session, principal, EDITOR_ROLES, version.department_id),
        can_publish=_covers(session, principal, PUBLISHER_ROLES, version.department_id),
    )


def save_draft(
    *,
    session: Session,
    principal: Principal | None,
    implementation_code: str,
    changes: dict[str, Any],
    lock_version: int | None,
) -> ItemVersion:
    """Apply changes to the item's draft, starting a new draft from the latest version when the
    latest is published or retired.

    ``lock_version`` guards against overwriting a concurrent edit."""
    who = require_principal(principal)
    detail = get_item(session=session, principal=who, implementation_code=implementation_code)
    if not detail.can_edit:
        raise PermissionDenied(
            "you may not edit item '%(item)s'",
            params={"item": implementation_code},
            code="item_edit_denied",
        )
    if (
        lock_version is not None
        and detail.status == VersionStatus.DRAFT.value
        and lock_version != detail.lock_version
    ):
        raise Conflict(
            "someone else saved this draft after you opened it; reload and apply your change again",
            data={"current_lock_version": detail.lock_version},
            code="stale_version",
        )
    if "implementation_code" in changes and changes["implementation_code"] != implementation_code:
        raise ValidationFailed(
            "the implementation code of an item cannot change",
            errors=[FieldError("implementation_code", "cannot change")],
            code="implementation_code_immutable",
        )
    merged = detail.item.model_dump(mode="json") | changes | {"status": VersionStatus.DRAFT.value}
    try:
        item_in = ItemIn.model_validate(merged)
    except ValidationError as exc:
        raise ValidationFailed.of(
            "the draft is invalid; nothing was saved", exc, root="item", code="item_invalid"
        ) from exc
    lookups = _lookups(session)
    # The same checks an import makes: a material's ITEM#OUTPUT must be an output that exists
    # (this item's own outputs as edited), an e-licence one marked e_licence.
    code = item_in.implementation_code
    outputs = output_index(session) | {code: {o.code: o.e_licence for o in item_in.outputs}}
    e_licences = {t for t in e_licence_types(session=session) if t.partition("#")[0] != code} | {
        f"{code}#{o.code}" for o in item_in.outputs if o.e_licence
    }
    errors = source_ref_form_errors(item_in, "item") + _item_reference_errors(
        item_in,
        "item",
        lookups=lookups,
        element_codes=set(lookups.elements),
        item_codes=_all_item_codes(session),
        outputs=outputs,
        e_licences=e_licences,
    )
    if errors:
        raise ValidationFailed(
            "the draft is invalid; nothing was saved", errors=errors, code="item_invalid"
        )
    cycles = parent_cycle_errors(session, {code: item_in.parent}, {code: "item"})
    if cycles:
        raise ValidationFailed(
            "main items and sub-items would form a cycle; nothing was saved",
            errors=cycles,
            code="parent_cycle",
        )
    new_department = lookups.departments[item_in.department]
    if not _covers(session, who, EDITOR_ROLES, new_department.id):
        raise PermissionDenied(
            "you may not move the item to department '%(department)s'",
            params={"department": item_in.department},
            code="item_move_denied",
        )
    item = repository.item_by_code(session, implementation_code)
    assert item is not None
    latest = repository.latest_version(session, item.id)
    assert latest is not None
    if latest.status == VersionStatus.DRAFT.value:
        version = repository.full_version(session, latest.id)
    else:
        version = ItemVersion(
            item_id=item.id,
            version_no=latest.version_no + 1,
            status=VersionStatus.DRAFT.value,
            created_by_id=who.user_id,
        )
        session.add(version)
    item.basic_code = item_in.basic_code
    parent = repository.item_by_code(session, item_in.parent) if item_in.parent else None
    item.parent_id = parent.id if parent is not None else None
    _fill_version(version, item_in, lookups)
    session.flush()
    index_versions(session, [version.id])
    audit.record(
        session=session,
        actor_user_id=who.user_id,
        action="item.save_draft",
        object_type="item",
        object_key=implementation_code,
        detail={"version_no": version.version_no, "fields": sorted(changes)},
    )
    return version


def publish_item(
    *,
    session: Session,
    principal: Principal | None,
    implementation_code: str,
    lock_version: int | None,
) -> ItemVersion:
    who = require_principal(principal)
    detail = get_item(session=session, principal=who, implementation_code=implementation_code)
    if not detail.can_publish:
        raise PermissionDenied(
            "you may not publish item '%(item)s'",
            params={"item": implementation_code},
            code="item_publish_denied",
        )
    if detail.status != VersionStatus.DRAFT.value:
        raise Conflict(
            "item '%(item)s' has no draft to publish",
            params={"item": implementation_code},
            code="version_not_draft",
        )
    if lock_version is not None and lock_version != detail.lock_version:
        raise Conflict(
            "the draft changed after you opened it; review it again before publishing",
            data={"current_lock_version": detail.lock_version},
            code="stale_version",
        )
    errors = publish_errors(detail.item)
    if errors:
        raise ValidationFailed(
            "the draft cannot be published yet", errors=errors, code="item_not_publishable"
        )
    item = repository.item_by_code(session, implementation_code)
    assert item is not None
    version = repository.latest_version(session, item.id)
    assert version is not None
    _set_status(session, version, VersionStatus.PUBLISHED.value, who)
    audit.record(
        session=session,
        actor_user_id=who.user_id,
        action="item.publish",
        object_type="item",
        object_key=implementation_code,
        detail={"version_no": version.version_no},
    )
    return version


def retire_item(
    *, session: Session, principal: Principal | None, implementation_code: str
) -> ItemVersion:
    who = require_principal(principal)
    detail = get_item(session=session, principal=who, implementation_code=implementation_code)
    if not detail.can_publish:
        raise PermissionDenied(
            "you may not retire item '%(item)s'",
            params={"item": implementation_code},
            code="item_retire_denied",
        )
    item = repository.item_by_code(session, implementation_code)
    assert item is not None
    version = repository.published_version(session, item.id)
    if version is None:
        raise Conflict(
            "item '%(item)s' has no published version to retire",
            params={"item": implementation_code},
            code="version_not_published",
        )
    _set_status(session, version, VersionStatus.RETIRED.value, who)
    audit.record(
        session=session,
        actor_user_id=who.user_id,
        action="item.retire",
        object_type="item",
        object_key=implementation_code,
        detail={"version_no": version.version_no},
    )
    return version
