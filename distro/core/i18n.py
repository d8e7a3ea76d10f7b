"""Page language: Simplified Chinese or English, from the user's choice (a cookie) or
else the browser's Accept-Language. Translations live in distro/web/translations."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, current_app, request
from flask_babel import Babel, get_locale

LANGUAGES = {"zh": "中文", "en": "English"}
COOKIE = "lang"


def select_locale() -> str:
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES), default="en")


def remember_in_cookie(response: Response, code: str) -> Response:
    """Keep the chosen page language for a year (before login too)."""
    response.set_cookie(
        COOKIE,
        code,
        max_age=365 * 86400,
        samesite="Lax",
        httponly=True,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response


def init_app(app: Flask) -> None:
    app.config.setdefault(
        "BABEL_TRANSLATION_DIRECTORIES", str(Path(__file__).parents[1] / "web" / "translations")
    )
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, get_locale=get_locale)
