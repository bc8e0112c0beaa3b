"""Reading bundle documents (YAML) and writing the reduction ledger as CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import yaml
from pydantic import ValidationError

from tongban.bundles.compose import Ledger
from tongban.bundles.schemas import BundleDocument
from tongban.errors import FieldError, ValidationFailed

MAX_BYTES = 5 * 1024 * 1024


def read_bundles(path: Path) -> BundleDocument:
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ValidationFailed(f"{path.name}: larger than {MAX_BYTES // (1024 * 1024)} MB")
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValidationFailed(f"{path.name}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ValidationFailed(f"{path.name}: not valid YAML: {exc}") from None
    try:
        return BundleDocument.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(
            f"{path.name}: bundle document is invalid",
            errors=[
                FieldError(f"{path.name}: " + ".".join(str(p) for p in e["loc"]), e["msg"])
                for e in exc.errors()
            ],
        ) from None


LEDGER_KINDS = ("forms", "fields", "materials", "steps", "visits", "days")


def ledger_csv(ledger: Ledger) -> str:
    """One row per figure, then one row per removed thing with its rule and reason."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["section", "kind", "before", "after", "item", "code", "name", "name_en", "rule", "reason"]
    )
    for kind in LEDGER_KINDS:
        before, after = getattr(ledger.before, kind), getattr(ledger.after, kind)
        if kind == "days":
            for limit in ("legal", "promised"):
                writer.writerow(["figure", f"days.{limit}", before[limit], after[limit]] + [""] * 6)
        else:
            writer.writerow(["figure", kind, before, after] + [""] * 6)
    for kind in LEDGER_KINDS:
        for r in ledger.removed[kind]:
            writer.writerow(
                ["removed", kind, "", "", r.item, r.code, r.name, r.name_en, r.rule, r.reason]
            )
    return out.getvalue()
