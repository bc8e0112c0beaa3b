"""Loading the demo county: the organisation, then the catalogue, in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from tongban.bundles import service as bundle_service
from tongban.bundles.io import read_bundles
from tongban.catalog import io
from tongban.catalog import service as catalog_service
from tongban.demo.cases import seed_demo_cases
from tongban.org import service as org_service
from tongban.org.io import read_org

DATA_DIR = Path(__file__).resolve().parent / "data"
ORG_FILE = DATA_DIR / "org.yaml"
CATALOG_FILE = DATA_DIR / "catalog.yaml"
BUNDLES_FILE = DATA_DIR / "bundles.yaml"
DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 (published demo logins)


@dataclass(frozen=True)
class DemoLogin:
    username: str
    display_name: str
    roles: str


def catalog_size() -> int:
    return len(io.read_catalog(CATALOG_FILE).items)


def load_demo(*, session: Session, on_item: Callable[[int], None] | None = None) -> list[DemoLogin]:
    """Idempotent: loading twice changes nothing the second time."""
    org = read_org(ORG_FILE)
    org_service.load_org(session=session, document=org)
    catalog = io.read_catalog(CATALOG_FILE)
    catalog_service.import_catalog(session=session, document=catalog, on_item=on_item)
    bundle_service.import_bundles(session=session, document=read_bundles(BUNDLES_FILE))
    seed_demo_cases(session)  # idempotent: fixed keys, each action only while its step is ready
    return [
        DemoLogin(
            u.username,
            u.display_name,
            ", ".join(f"{g.role.value}@{g.department or g.jurisdiction}" for g in u.grants),
        )
        for u in org.users
    ]
