"""Template filters the pages share."""

from __future__ import annotations

import shlex

from flask import Flask


def init_app(app: Flask) -> None:
    # Whatever a recipe prints for pasting into a shell is quoted, so that no value (a
    # file name from before names were checked, say) can ever run as a command.
    app.jinja_env.filters["shell_quote"] = shlex.quote
