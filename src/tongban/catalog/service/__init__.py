"""Rules of the catalogue: importing, exporting, searching, drafting and publishing items.

Visibility: published versions are public (the catalogue is published by law); drafts and
retired versions are seen by the reform office over its jurisdiction subtree and by officers and
data administrators of the competent department. Drafts are edited by the reform office in scope
and by officers of the competent department; only the reform office publishes and retires.

One module per concern: ``access`` (roles, the visibility funnel), ``convert`` (rows to and
from ``ItemIn``), ``checks`` (references and what publishing needs), ``transfer`` (import and
export), ``items`` (reading, drafting, publishing, retiring), ``elements`` (the data element
dictionary) and ``published`` (what other modules read). Callers import this package
(``from tongban.catalog import service``) and call through it, so that a test can replace one
function for every caller.
"""

from tongban.catalog.service.access import (
    EDITOR_ROLES,
    ELEMENT_EDITOR_ROLES,
    PUBLISHER_ROLES,
    READER_ROLES,
    visible_versions,
)
from tongban.catalog.service.checks import (
    publish_errors,
)
from tongban.catalog.service.convert import (
    LEVEL_UNITS,
    Lookups,
    element_to_in,
    version_to_item,
)
from tongban.catalog.service.elements import (
    get_element,
    list_elements,
    validate_value,
)
from tongban.catalog.service.filecheck import check_file, check_streamed
from tongban.catalog.service.gaps import completeness_report, gap_table
from tongban.catalog.service.items import (
    ItemDetail,
    VersionSummary,
    get_item,
    publish_item,
    retire_item,
    save_draft,
)
from tongban.catalog.service.published import (
    department_names,
    e_licence_types,
    item_codes_exist,
    item_ids,
    published_items,
)
from tongban.catalog.service.search import (
    ALL_JURISDICTIONS,
    default_jurisdiction,
    delete_synonym,
    list_synonyms,
    parsed_query,
    reindex,
    resolve_jurisdiction,
    save_synonym,
    search_items,
)
from tongban.catalog.service.transfer import (
    CatalogExport,
    CatalogImporter,
    ImportReport,
    export_catalog,
    import_catalog,
    reference_errors,
    start_export,
)

__all__ = [
    "ALL_JURISDICTIONS",
    "EDITOR_ROLES",
    "ELEMENT_EDITOR_ROLES",
    "LEVEL_UNITS",
    "PUBLISHER_ROLES",
    "READER_ROLES",
    "CatalogExport",
    "CatalogImporter",
    "ImportReport",
    "ItemDetail",
    "Lookups",
    "VersionSummary",
    "check_file",
    "check_streamed",
    "completeness_report",
    "default_jurisdiction",
    "delete_synonym",
    "department_names",
    "e_licence_types",
    "element_to_in",
    "export_catalog",
    "gap_table",
    "get_element",
    "get_item",
    "import_catalog",
    "item_codes_exist",
    "item_ids",
    "list_elements",
    "list_synonyms",
    "parsed_query",
    "publish_errors",
    "publish_item",
    "published_items",
    "reference_errors",
    "reindex",
    "resolve_jurisdiction",
    "retire_item",
    "save_draft",
    "save_synonym",
    "search_items",
    "start_export",
    "validate_value",
    "version_to_item",
    "visible_versions",
]
