"""Rules for free text from users: length limits and no control characters.

NUL in particular must never reach the database (PostgreSQL refuses it), so every text
field passes through here.
"""

from __future__ import annotations

from distro.core.errors import ValidationError


def has_control_characters(text: str, *, multiline: bool = False) -> bool:
    allowed = "\n\r\t" if multiline else ""
    return any((ord(c) < 32 and c not in allowed) or ord(c) == 127 for c in text)


def clean_text(
    value: object, field: str, max_length: int, *, required: bool = False, multiline: bool = False
) -> str:
    """The stripped text, or a 400 naming the field and the rule it broke."""
    if value is None:
        value = ""
    kind = "text" if multiline else "a single line"
    if (
        not isinstance(value, str)
        or len(value) > max_length
        or has_control_characters(value, multiline=multiline)
    ):
        raise ValidationError(
            f"{field} must be {kind} of at most {max_length} characters without control characters",
            field=field,
        )
    if required and not value.strip():
        raise ValidationError(f"{field} is required", field=field)
    return value.strip()
