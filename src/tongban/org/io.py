"""Reading the organisation document from a YAML file, through the hardened loader
(``tongban.kit.safeyaml``): duplicate keys, aliases and oversized files are refused with the
line they are on, and validation errors name the line too."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from pydantic import ValidationError

from tongban.errors import FieldError, ValidationFailed
from tongban.kit.safeyaml import YamlDocument, read_yaml
from tongban.org.schemas import OrgDocument

#: an organisation file lists every department and member of staff; far below this
MAX_BYTES: Final = 5 * 1024 * 1024


def read_org(path: Path) -> OrgDocument:
    """The validated document; ``ValidationFailed`` (``YamlRefused`` when the YAML itself is
    refused) listing every problem otherwise."""
    return read_org_file(path)[0]


def read_org_file(path: Path) -> tuple[OrgDocument, YamlDocument]:
    """``read_org``, and the loaded YAML to locate the import's errors in (``locate_errors``)."""
    path = Path(path)
    loaded = read_yaml(path, max_bytes=MAX_BYTES, what="organisation file")
    try:
        return OrgDocument.model_validate(loaded.data), loaded
    except ValidationError as exc:
        raise ValidationFailed(
            f"{path}: organisation document is invalid",
            errors=loaded.field_errors(exc, path.name),
            code="org_file_invalid",
        ) from None


def locate_errors(errors: list[FieldError], loaded: YamlDocument, name: str) -> list[FieldError]:
    """The import service's errors (``departments[3].jurisdiction``) with the file's name and the
    line of the place: ``org.yaml: departments[3].jurisdiction (line 41)``."""
    return [FieldError(loaded.locate(e.loc, name), e.message) for e in errors]
