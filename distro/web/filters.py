"""Template filters and helpers the pages share."""

from __future__ import annotations

import shlex

from flask import Flask


def chosen_args(chosen: dict, *leave_out: str) -> dict:
    """A page's filters that hold a value, for its next-page link."""
    return {name: value for name, value in chosen.items() if value and name not in leave_out}


def init_app(app: Flask) -> None:
    # Whatever a recipe prints for pasting into a shell is quoted, so that no value (a
    # file name from before names were checked, say) can ever run as a command.
    app.jinja_env.filters["shell_quote"] = shlex.quote
    app.jinja_env.globals["chosen_args"] = chosen_args
