"""One Jinja environment for every domain's templates, with gettext and the page context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from tongban.auth.principal import Principal
from tongban.web.deps import ANON_CSRF_COOKIE, CSRF_FIELD, csrf_token_for, pick_locale
from tongban.web.i18n import LANGUAGE_NAMES, LOCALES, translations

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DOMAINS = ("web", "auth", "org", "catalog", "bundles", "cases", "jobs", "calendar")

env = Environment(
    loader=FileSystemLoader([str(PACKAGE_DIR / d / "templates") for d in DOMAINS]),
    autoescape=select_autoescape(["html", "xml"], default=True),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    locale = pick_locale(request)
    trans = translations(locale)
    principal: Principal | None = getattr(request.state, "principal", None)
    page_context = {
        "request": request,
        "locale": locale,
        "lang_attr": "zh-CN" if locale == "zh_CN" else "en",
        "locales": [(code, LANGUAGE_NAMES[code]) for code in LOCALES],
        "principal": principal,
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token_for(request),
        "zh": locale == "zh_CN",
        **(context or {}),
    }
    tmpl = env.get_template(template)
    html = tmpl.render(
        page_context,
        gettext=trans.gettext,
        ngettext=trans.ngettext,
        _=trans.gettext,
    )
    response = HTMLResponse(html, status_code=status_code)
    new_anon = getattr(request.state, "new_anon_csrf", None)
    if new_anon:
        response.set_cookie(ANON_CSRF_COOKIE, new_anon, httponly=True, samesite="lax")
    return response


def bilingual(zh: bool, name_zh: str, name_en: str) -> str:
    return name_zh if zh or not name_en else name_en


env.globals["bilingual"] = bilingual


def lang_of(text: str) -> str:
    """The language a text is written in, for its ``lang`` attribute: a name typed in Chinese
    is read as Chinese on the English pages too (and the reverse)."""
    return "zh-CN" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en"


env.globals["lang_of"] = lang_of
