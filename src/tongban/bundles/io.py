"""Reading bundle documents (YAML) and writing the reduction ledger as CSV (every field quoted,
formula-like text neutralised with a leading ``'``: ``tongban.kit.spreadsheet``)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Final

from pydantic import ValidationError

from tongban.bundles.compose import Ledger
from tongban.bundles.schemas import BundleDocument
from tongban.errors import FieldError, ValidationFailed
from tongban.kit.safeyaml import YamlDocument, read_yaml
from tongban.kit.spreadsheet import csv_writer

MAX_BYTES: Final = 5 * 1024 * 1024
#: a bundle is named by its code in error locations: ``bundles[1] (property-transfer).…``
LABELS: Final = {"bundles": "code"}


def read_bundles(path: Path) -> BundleDocument:
    """The validated document, read through the hardened loader (``tongban.kit.safeyaml``):
    duplicate keys, aliases and oversized files are refused (``YamlRefused``) with the line they
    are on; otherwise ``ValidationFailed`` lists every problem, located
    ``bundles.yaml: bundles[1] (property-transfer).members[2].item (line 57)``."""
    return read_bundle_file(path)[0]


def read_bundle_file(path: Path) -> tuple[BundleDocument, YamlDocument]:
    """``read_bundles``, and the loaded YAML to locate later errors in (``locate_errors``)."""
    path = Path(path)
    loaded = read_yaml(path, max_bytes=MAX_BYTES, what="bundle file")
    try:
        return BundleDocument.model_validate(loaded.data), loaded
    except ValidationError as exc:
        raise ValidationFailed(
            f"{path.name}: bundle document is invalid",
            errors=loaded.field_errors(exc, path.name, labels=LABELS),
            code="bundle_file_invalid",
        ) from None


def locate_errors(errors: list[FieldError], loaded: YamlDocument, name: str) -> list[FieldError]:
    """The import service's errors (``bundles[1] (code).members[2].item``) with the file's name
    and the line of the place (of the deepest part of it that is in the file)."""
    return [FieldError(loaded.locate(e.loc, name), e.message) for e in errors]


LEDGER_KINDS = ("forms", "fields", "materials", "steps", "visits", "days")


def ledger_csv(ledger: Ledger) -> str:
    """One row per figure, then one row per removed thing with its rule and reason."""
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(
        [
            "section",
            "kind",
            "before",
            "after",
            "item",
            "code",
            "name",
            "name_en",
            "rule",
            "reason",
            "amount",
            "source",
        ]
    )
    for kind in LEDGER_KINDS:
        before, after = getattr(ledger.before, kind), getattr(ledger.after, kind)
        if kind == "days":
            for limit in ("legal", "promised"):
                writer.writerow(["figure", f"days.{limit}", before[limit], after[limit]] + [""] * 8)
        else:
            writer.writerow(["figure", kind, before, after] + [""] * 8)
    for kind in LEDGER_KINDS:
        for r in ledger.removed[kind]:
            amount = f"{r.amount}/{r.amount_promised}" if kind == "days" else r.amount
            writer.writerow(
                [
                    "removed",
                    kind,
                    "",
                    "",
                    r.item,
                    r.code,
                    r.name,
                    r.name_en,
                    r.rule,
                    r.reason,
                    amount,
                    r.source,
                ]
            )
    return out.getvalue()
