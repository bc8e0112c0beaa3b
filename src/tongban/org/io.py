"""Reading the organisation document from a YAML file."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from tongban.errors import FieldError, ValidationFailed
from tongban.org.schemas import OrgDocument


def read_org(path: Path) -> OrgDocument:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValidationFailed(f"{path}: cannot read: {exc}") from None
    try:
        return OrgDocument.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(
            f"{path}: organisation document is invalid",
            errors=[
                FieldError(f"{path.name}: " + ".".join(str(p) for p in e["loc"]), e["msg"])
                for e in exc.errors()
            ],
        ) from None
