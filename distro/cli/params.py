"""Click parameter types that parse with `distro.core.parsers`, so that a command line
refuses exactly what the API refuses (click's own INT takes `٣` and `３` through int())."""

from __future__ import annotations

import click

from distro.core.errors import ValidationError
from distro.core.parsers import parse_integer, parse_integer_text


class WholeNumber(click.ParamType):
    """A whole number from `low` to `high`, in ASCII digits (full-width ones folded).
    Without bounds only the digits are checked, and the service names the range."""

    name = "integer"

    def __init__(self, low: int = 0, high: int = 10**18):
        self.low, self.high = low, high

    def convert(self, value, param, ctx) -> int:
        field = param.opts[0] if param is not None and param.opts else "value"
        try:
            if isinstance(value, int):  # a default
                return parse_integer(value, field, self.low, self.high)
            return parse_integer_text(value, field, self.low, self.high)
        except ValidationError as exc:
            self.fail(exc.message, param, ctx)
