"""Catalogue file formats: YAML, XLSX and an EU CPSV-AP 3.x JSON-LD export.

Pure functions, no database, one module per format: ``reader`` (the entry points and the
validation shared by the formats), ``yamlfmt``, ``xlsx``, ``cpsv``, ``refs`` (cross-references
within a file) and ``document`` (what they share). ``read_catalog`` loads and validates a whole
file and reports every problem it finds at once (file, position, field); the ``write_*``/
``dump_*`` functions are deterministic, so export → import → export gives byte-identical files.

Hostile input is expected: files are capped at 256 MB (a province's 100,000 items are about
200 MB of YAML); YAML is read by ``tongban.kit.safeyaml``, which refuses anchors/aliases (no
"billion laughs"), merge keys, duplicate keys and nesting deeper than 64 levels; an XLSX file's
ZIP directory is checked (size, member count, inflation ratio: ``xlsx_inflation_limit``) before
openpyxl opens it read-only, values only, and a sheet's rows and columns are bounded.

Error locations: ``catalog.yaml: items[3] (QX-RSJ-0001).materials[2].elements[0] (line 42)``
(0-based indexes, the top-level item's or element's code, the YAML line) and
``catalog.xlsx: sheet 'materials' row 7 column 'necessity'``.

Cross-references that need no database are checked here (duplicate element and item codes, an
item that is its own parent or a parent loop); with ``strict_refs=True`` every parent and every
data element named by a form field, material or output must also be defined in the same file.
Otherwise the database layer checks those against what it already holds.
"""

from __future__ import annotations

from tongban.catalog.io.cpsv import (
    CpsvDepartment,
    CpsvEvent,
    CpsvPlace,
    to_cpsv_jsonld,
    write_jsonld,
)
from tongban.catalog.io.document import MAX_FILE_BYTES, SUPPORTED_SUFFIXES
from tongban.catalog.io.reader import parse_catalog, read_catalog, validate_catalog_file
from tongban.catalog.io.xlsx import LIST_SEPARATOR, SHEETS, dump_xlsx, write_xlsx
from tongban.catalog.io.yamlfmt import dump_yaml, write_yaml

__all__ = [
    "LIST_SEPARATOR",
    "MAX_FILE_BYTES",
    "SHEETS",
    "SUPPORTED_SUFFIXES",
    "CpsvDepartment",
    "CpsvEvent",
    "CpsvPlace",
    "dump_xlsx",
    "dump_yaml",
    "parse_catalog",
    "read_catalog",
    "to_cpsv_jsonld",
    "validate_catalog_file",
    "write_jsonld",
    "write_xlsx",
    "write_yaml",
]
