"""The format reference in the docs lists every allowed value of the models' code lists."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import pytest

from tongban.auth.models import Role
from tongban.bundles.models import BundleKind
from tongban.catalog import models

DOC = Path(__file__).parents[2] / "docs" / "catalog-format.md"
ENUMS: list[type[StrEnum]] = [
    models.ElementType,
    models.Validator,
    models.ItemType,
    models.VersionStatus,
    models.Necessity,
    models.MaterialFormat,
    models.MaterialSource,
    models.StepKind,
    models.Channel,
    models.OutputKind,
    BundleKind,
    Role,
]


@pytest.mark.parametrize("enum", ENUMS, ids=lambda e: e.__name__)
def test_every_allowed_value_is_in_the_doc(enum: type[StrEnum]) -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [v.value for v in enum if f"`{v.value}`" not in text]
    assert missing == []


def test_the_doc_says_what_source_ref_means() -> None:
    text = DOC.read_text(encoding="utf-8")
    for words in ("ITEM#OUTPUT", "e_licence: true", "shares the data", "yaml-language-server"):
        assert words in text
