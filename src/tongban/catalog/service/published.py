"""What other modules read of the catalogue: published item content (cached by version, lock and
timestamp), department names, item codes and ids."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.catalog import repository
from tongban.catalog.models import ItemVersion, Output, ServiceItem, VersionStatus
from tongban.catalog.schemas import (
    ItemIn,
)
from tongban.catalog.service.convert import (
    version_to_item,
)
from tongban.org import repository as org_repository


def department_names(*, session: Session) -> dict[str, tuple[str, str]]:
    return {d.code: (d.name_zh, d.name_en) for d in org_repository.all_departments(session)}


class _ContentCache:
    """Item content by (version id, lock_version, updated_at). Every write of a version row
    bumps its lock_version and its timestamp, so a stale entry is never hit, in this process or
    another; the timestamp also tells apart two rows that reused an id after a rollback."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._data: OrderedDict[tuple[int, int, Any], ItemIn] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[int, int, Any]) -> ItemIn | None:
        with self._lock:
            found = self._data.get(key)
            if found is not None:
                self._data.move_to_end(key)
            return found

    def put(self, key: tuple[int, int, Any], value: ItemIn) -> None:
        with self._lock:
            self._data[key] = value
            while len(self._data) > self._size:
                self._data.popitem(last=False)


_published_content = _ContentCache()


def published_items(*, session: Session, codes: list[str]) -> dict[str, ItemIn]:
    """The published content of the named items (for composition); unknown or unpublished
    codes are simply absent, so the caller can name them."""
    found: dict[str, ItemIn] = {}
    missing: list[int] = []
    for code, version_id, lock, stamp in repository.published_version_keys(session, codes):
        cached = _published_content.get((version_id, lock, stamp))
        if cached is None:
            missing.append(version_id)
        else:
            found[code] = cached
    if missing:
        departments = {d.id: d.code for d in org_repository.all_departments(session)}
        for version in repository.full_versions(session, missing):
            content = version_to_item(version, departments)
            key = (version.id, version.lock_version, version.updated_at)
            _published_content.put(key, content)
            found[version.item.implementation_code] = content
    return found


def item_codes_exist(*, session: Session, codes: list[str]) -> set[str]:
    return set(repository.items_by_codes(session, codes))


def item_ids(*, session: Session, codes: list[str]) -> dict[str, int]:
    return {code: item.id for code, item in repository.items_by_codes(session, codes).items()}


def e_licence_types(*, session: Session) -> set[str]:
    """The e-licence types that exist: ``ITEM#OUTPUT`` of every output of a published item
    marked ``e_licence`` (电子证照). A material that names another as its source stays asked."""
    rows = session.execute(
        select(ServiceItem.implementation_code, Output.code)
        .join(ItemVersion, ItemVersion.item_id == ServiceItem.id)
        .join(Output, Output.version_id == ItemVersion.id)
        .where(ItemVersion.status == VersionStatus.PUBLISHED.value, Output.e_licence.is_(True))
    )
    return {f"{item}#{output}" for item, output in rows}
