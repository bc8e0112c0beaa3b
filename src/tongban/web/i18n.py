"""Page translations with Babel: English message ids, a zh_CN catalogue in ``locale/``.

The ``.po`` file is compiled in memory at start-up, so a fresh clone needs no build step.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}


def _compiled(po_path: Path, locale: str) -> Translations:
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


@lru_cache(maxsize=8)
def translations(locale: str) -> NullTranslations:
    """Every ``*.po`` file of the locale merged into one catalogue: ``messages.po`` (the shell,
    catalogue and organisation pages) first, then one file per area (``bundles.po``,
    ``cases.po``, …), whose wording wins for the msgids of its own pages."""
    folder = LOCALE_DIR / locale / "LC_MESSAGES"
    po_files = sorted(folder.glob("*.po"), key=lambda p: (p.name != "messages.po", p.name))
    if locale == "en" or not po_files:
        return NullTranslations()
    merged = _compiled(po_files[0], locale)
    for po_path in po_files[1:]:
        merged.merge(_compiled(po_path, locale))
    return merged


def normalize_locale(value: str | None) -> str | None:
    if not value:
        return None
    value = value.replace("-", "_")
    if value.lower().startswith("zh"):
        return "zh_CN"
    if value.lower().startswith("en"):
        return "en"
    return None


def from_accept_language(header: str | None) -> str | None:
    for part in (header or "").split(","):
        found = normalize_locale(part.split(";", 1)[0].strip())
        if found:
            return found
    return None
