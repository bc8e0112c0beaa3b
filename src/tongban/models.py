"""Import every domain's models so that the metadata is complete (Alembic, schema checks)."""

from __future__ import annotations


def load_all_models() -> None:
    import tongban.audit.models
    import tongban.auth.models
    import tongban.bundles.models
    import tongban.calendar.models
    import tongban.cases.models
    import tongban.catalog.models
    import tongban.jobs.models
    import tongban.org.models  # noqa: F401
