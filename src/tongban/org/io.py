"""Reading the organisation document from a YAML file."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from tongban.errors import ValidationFailed
from tongban.org.schemas import OrgDocument


def read_org(path: Path) -> OrgDocument:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValidationFailed(f"{path}: cannot read: {exc}") from None
    try:
        return OrgDocument.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed.of(
            f"{path}: organisation document is invalid", exc, root="", prefix=f"{path.name}: "
        ) from None
