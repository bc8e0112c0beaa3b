"""Every message of the catalogue, organisation and shell pages has a Chinese translation, and
every translation keeps the placeholders of its message. (No browser needed.)"""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

from tongban.catalog import pages as catalog_pages
from tongban.org import pages as org_pages
from tongban.web.i18n import LOCALE_DIR

PACKAGE = Path(catalog_pages.__file__).resolve().parent.parent
OWN_TEMPLATES = ("web", "auth", "catalog", "org")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")

Msgid = str | tuple[str, ...]


def _catalog() -> Catalog:
    with (LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale="zh_CN")


def _template_msgids() -> dict[Msgid, str]:
    found: dict[Msgid, str] = {}
    options = {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}
    for domain in OWN_TEMPLATES:
        for path in sorted((PACKAGE / domain / "templates").rglob("*.html")):
            with path.open("rb") as handle:
                for _line, _func, message, _comments in babel_extract(
                    handle, ["_", "gettext", "ngettext"], [], options
                ):
                    if isinstance(message, tuple):
                        parts = tuple(m for m in message if m)
                        if parts:
                            found.setdefault(parts if len(parts) > 1 else parts[0], path.name)
                    elif message:
                        found.setdefault(message, path.name)
    return found


def _label_msgids() -> set[str]:
    labels = {m for table in catalog_pages.LABELS.values() for m in table.values()}
    labels |= set(org_pages.LEVEL_LABELS.values())
    labels |= {plain for _needle, plain in catalog_pages.PLAIN_MESSAGES}
    labels.add(catalog_pages.DEPARTMENT_NOT_ALLOWED)
    return labels


def test_every_message_of_these_pages_is_translated() -> None:
    catalog = _catalog()
    wanted: dict[Msgid, str] = {**_template_msgids(), **dict.fromkeys(_label_msgids(), "pages.py")}
    missing = []
    for msgid, where in wanted.items():
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        message = catalog.get(key)
        string = message.string if message else None
        if isinstance(string, tuple | list):
            string = string[0]
        if not string:
            missing.append(f"{where}: {msgid!r}")
    assert not missing, "untranslated:\n" + "\n".join(missing)


def test_translations_keep_their_placeholders_and_the_header_is_right() -> None:
    catalog = _catalog()
    assert dict(catalog.mime_headers)["Language"] == "zh_CN"
    assert catalog.charset.lower() == "utf-8"
    assert not catalog.fuzzy
    wrong = []
    for message in catalog:
        if not message.id:
            continue
        source = str(message.id[0] if isinstance(message.id, tuple | list) else message.id)
        strings = message.string if isinstance(message.string, tuple | list) else [message.string]
        for string in map(str, filter(None, strings)):
            if sorted(PLACEHOLDER.findall(string)) != sorted(PLACEHOLDER.findall(source)):
                wrong.append(f"{source!r} -> {string!r}")
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)
